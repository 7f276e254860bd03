"""Judges with known errors: does the corrected gate keep its guarantees, and the raw one not?

Real per-item correctness (bench/data: GSM8K × 4 GPT-3 variants) is the truth people would give.
A simulated judge of known sensitivity s and false-pass rate f grades each output: it passes a
truly passing one with probability s and a truly failing one with probability f. For each
*cell* — a model, a judge, a number of labels and a threshold τ at distance d from the model's
true rate — many runs are drawn: a suite of 300 items from the model's pool (the verdict is about
that pool, the distribution), fresh judge noise, and a fresh random sample of L labelled outputs
(people's labels = the truth; the judge's verdicts on them simulated alike). Each run is decided
twice by ``decide()``:

- **corrected**: the suite's pass rate corrected for the judge's measured errors
  (``evalgate.verdict.judged``: the judged rate's anytime-valid test against boundaries from the
  labels' Clopper–Pearson bounds), with the judge check's refusals (a judge the labels cannot tell
  from chance is an ERROR, counted as never wrong but never a PASS either);
- **raw**: the judged verdicts gated as if they were the truth (what a gate that trusts its
  judge does).

Reported per cell: the corrected interval's coverage of the true rate, the wrong-verdict rate of
each (a settled verdict that disagrees with the truth; UNDECIDED and ERROR are never wrong),
refusals (before the run: a judge like chance; after it: the labels leave the corrected rate
undecidable, ``too_wide_rate``) and the share of the suite read. ``metrics``: the worst cell's
coverage, the worst corrected and the worst raw wrong rate — worst cells, not means — and the
share of runs the corrected gate settles, by number of labels: what a label buys.

    python bench/judge.py                          # writes bench/results/judge.json
    python bench/judge.py --orders 3 --models 1 --out /tmp/j.json   # tiny
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from verdicts import load_models  # noqa: E402

from evalgate.config import GateConfig  # noqa: E402
from evalgate.results import CaseResult  # noqa: E402
from evalgate.verdict.gate import Verdict, decide  # noqa: E402
from evalgate.verdict.judged import JudgeCalibration  # noqa: E402
from evalgate.verdict.monitor import SuiteSpec  # noqa: E402

ALPHA = 0.05
SUITE = 300
JUDGES = {  # (sensitivity, false-pass rate)
    "over-passes 5 pts": (0.95, 0.10),
    "good": (0.90, 0.05),
    "lenient": (0.90, 0.15),
    "strict": (0.80, 0.05),
}
LABELS = (50, 100, 200, 400)
DISTANCES = (-0.10, -0.05, -0.02, 0.02, 0.05, 0.10)
"""τ = true rate + d: d < 0 the truth is PASS, d > 0 FAIL (never exactly at the rate)."""


def run_cell(model: str, outcomes: list[bool], judge: str, labels: int, distance: float, orders: int, seed: int) -> dict[str, Any]:
    sensitivity, false_pass = JUDGES[judge]
    truth_rate = sum(outcomes) / len(outcomes)
    tau = round(truth_rate + distance, 4)
    truth = Verdict.PASS if truth_rate >= tau else Verdict.FAIL
    rng = random.Random(f"{seed}:{model}:{judge}:{labels}:{distance}")
    gate = GateConfig(min_pass_rate=tau, alpha=ALPHA)
    order = tuple(f"c{i:03d}" for i in range(SUITE))
    counts = {"covered": 0, "wrong": 0, "raw_wrong": 0, "undecided": 0, "refused": 0, "too_wide": 0, "read": 0}
    for _ in range(orders):
        items = [outcomes[rng.randrange(len(outcomes))] for _ in range(SUITE)]
        judged = [rng.random() < (sensitivity if truly else false_pass) for truly in items]
        results = [CaseResult(suite="s", case_id=case, passed=value, score=float(value)) for case, value in zip(order, judged, strict=True)]
        sample = [outcomes[rng.randrange(len(outcomes))] for _ in range(labels)]
        verdicts = [rng.random() < (sensitivity if truly else false_pass) for truly in sample]
        calibration = JudgeCalibration(
            sum(t and v for t, v in zip(sample, verdicts, strict=True)), sum(t and not v for t, v in zip(sample, verdicts, strict=True)),
            sum(not t and v for t, v in zip(sample, verdicts, strict=True)), sum(not t and not v for t, v in zip(sample, verdicts, strict=True)))
        raw = decide(SuiteSpec("s", gate, order, SUITE, SUITE, kind="distribution"), results)
        counts["raw_wrong"] += raw.verdict in (Verdict.PASS, Verdict.FAIL) and raw.verdict != truth
        if calibration.refusal(ALPHA) is not None:
            counts["refused"] += 1  # ERROR: blocks, never a PASS; never counted wrong
            continue
        corrected = decide(SuiteSpec("s", gate, order, SUITE, SUITE, kind="distribution", judge=calibration), results)
        low, high = corrected.interval
        counts["covered"] += low <= truth_rate <= high
        counts["wrong"] += corrected.verdict in (Verdict.PASS, Verdict.FAIL) and corrected.verdict != truth
        counts["undecided"] += corrected.verdict == Verdict.UNDECIDED
        counts["too_wide"] += corrected.verdict == Verdict.ERROR  # the labels leave it undecidable: refused
        counts["read"] += corrected.counted
    decided = max(1, orders - counts["refused"])
    return {
        "model": model, "judge": judge, "labels": labels, "d": distance, "tau": tau, "true_rate": round(truth_rate, 4),
        "orders": orders, "coverage": counts["covered"] / decided if orders > counts["refused"] else None,
        "wrong_rate": counts["wrong"] / orders, "raw_wrong_rate": counts["raw_wrong"] / orders,
        "undecided_rate": counts["undecided"] / orders, "refused_rate": counts["refused"] / orders,
        "too_wide_rate": counts["too_wide"] / orders,
        "read_share": counts["read"] / (decided * SUITE),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200, help="runs per cell (default 200)")
    parser.add_argument("--models", type=int, help="only the first N models")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "judge.json")
    args = parser.parse_args()
    started = time.perf_counter()
    models = load_models(args.models)["gsm8k"]
    jobs = [(model, outcomes, judge, labels, distance, args.orders, args.seed) for model, outcomes in models.items()
            for judge in JUDGES for labels in LABELS for distance in DISTANCES]
    with ProcessPoolExecutor(args.workers) as pool:
        cells = list(pool.map(run_cell, *zip(*jobs, strict=True)))
    covered = [cell["coverage"] for cell in cells if cell["coverage"] is not None]
    worst = max(cells, key=lambda cell: cell["wrong_rate"])
    raw_worst = max(cells, key=lambda cell: cell["raw_wrong_rate"])
    over = [cell for cell in cells if cell["judge"] == "over-passes 5 pts" and cell["d"] > 0]
    metrics = {
        "worst_coverage": min(covered) if covered else None,
        "worst_wrong_rate": worst["wrong_rate"],
        "raw_worst_wrong_rate": raw_worst["raw_wrong_rate"],
        "over_passing_judge_failing_suite_pass_rate_corrected": max((c["wrong_rate"] for c in over), default=None),
        "over_passing_judge_failing_suite_pass_rate_raw": max((c["raw_wrong_rate"] for c in over), default=None),
        "mean_read_share": sum(cell["read_share"] for cell in cells) / len(cells),
        "decided_share_by_labels": {labels: round(sum(1 - c["undecided_rate"] - c["refused_rate"] - c["too_wide_rate"] for c in cells
                                                      if c["labels"] == labels) / sum(c["labels"] == labels for c in cells), 3)
                                    for labels in LABELS},
    }
    document = {"alpha": ALPHA, "suite_size": SUITE, "orders_per_cell": args.orders, "judges": JUDGES, "labels": LABELS,
                "distances": DISTANCES, "seconds": round(time.perf_counter() - started, 1), "metrics": metrics,
                "worst_cell": worst, "raw_worst_cell": raw_worst, "cells": cells}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"{len(cells)} cells × {args.orders} runs, α = {ALPHA}")
    print(f"corrected: worst coverage {metrics['worst_coverage']}, worst wrong rate {metrics['worst_wrong_rate']:.3f} "
          f"({worst['model']}, {worst['judge']}, {worst['labels']} labels, d = {worst['d']:+g})")
    print(f"raw judge: worst wrong rate {metrics['raw_worst_wrong_rate']:.3f} "
          f"({raw_worst['model']}, {raw_worst['judge']}, d = {raw_worst['d']:+g})")
    print(f"a judge over-passing by 5 points on a failing suite: PASS {metrics['over_passing_judge_failing_suite_pass_rate_raw']:.3f} "
          f"of the time raw, {metrics['over_passing_judge_failing_suite_pass_rate_corrected']:.3f} corrected")
    print("settled by the corrected gate, by labels: " + ", ".join(f"{k}: {v:.0%}" for k, v in metrics["decided_share_by_labels"].items()))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
