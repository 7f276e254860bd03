"""Conformance of slice gates: are slice and gap verdicts wrong at most α, family-wise, cell by cell?

Real per-item correctness of the four GPT-3 variants on GSM8K's 1,319 problems (bench/data),
sliced by the length of each reference solution (``gsm8k_steps.csv``: steps-1-2, steps-3-4,
steps-5-or-more — 440, 654 and 225 problems). Each cell replays the same
:class:`~evalgate.verdict.slices.SliceTracker` the suite monitor uses over ≥ 200 random orders,
with the α shares a real suite gives it (PASS sides α/K, FAIL sides α/G over the suite's G gates:
its pass rate, the K slices, the gap), reading until the slices settle or the cases run out.
A run is *wrong* when any settled slice verdict, or a settled gap verdict, disagrees with the
truth computed exactly on the whole population; UNDECIDED is never wrong.

Cells, per model:

- ``slices``: one threshold τ for every slice, at distance d ∈ {−0.05, −0.01, 0, +0.01, +0.05}
  from the *worst* slice's true rate (d = 0: exactly at it, the hardest PASS);
- ``gap``: ``max_gap`` at the true spread exactly (truth PASS, the hardest case), one point
  below it (truth FAIL), and ±5 points.

As in bench/conformance.py, cells screening at or above α with 200 orders are confirmed with
2,000 fresh ones, and the worst cell (not the mean) is reported with its screening maximum.

    python bench/slices.py                                  # writes bench/results/slices.json
    python bench/slices.py --orders 5 --out /tmp/s.json     # tiny
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evalgate.config import SlicesConfig  # noqa: E402
from evalgate.verdict.slices import SliceTracker, plan_slices  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
ALPHA = 0.05
DISTANCES = (-0.05, -0.01, 0.0, 0.01, 0.05)
GAP_OFFSETS = (-0.05, -0.01, 0.0, 0.05)


@dataclass(frozen=True)
class Cell:
    family: str
    model: str
    setting: str
    outcomes: tuple[bool, ...]
    tags: tuple[str, ...]
    threshold: float
    max_gap: float | None


def load() -> tuple[dict[str, list[bool]], list[str]]:
    models: dict[str, list[bool]] = {}
    with (DATA / "gsm8k_is_correct.csv").open() as handle:
        for row in csv.DictReader(handle):
            for model, value in row.items():
                if model != "item":
                    models.setdefault(model, []).append(value == "1")
    with (DATA / "gsm8k_steps.csv").open() as handle:
        tags = [row["steps"] for row in csv.DictReader(handle)]
    return models, tags


def rates(outcomes: tuple[bool, ...], tags: tuple[str, ...]) -> dict[str, float]:
    totals: dict[str, list[int]] = {}
    for flag, tag in zip(outcomes, tags, strict=True):
        totals.setdefault(tag, [0, 0])
        totals[tag][0] += flag
        totals[tag][1] += 1
    return {tag: passed / size for tag, (passed, size) in totals.items()}


def cells(models: dict[str, list[bool]], tags: list[str]) -> list[Cell]:
    found = []
    for model, flags in models.items():
        outcomes = tuple(flags)
        by_tag = rates(outcomes, tuple(tags))
        worst = min(by_tag.values())
        for d in DISTANCES:
            tau = math.floor((worst + d) * 1_000_000) / 1_000_000
            if 0.02 < tau < 0.98:
                found.append(Cell("slices", model, f"d={d:+.2f}", outcomes, tuple(tags), tau, None))
        spread = max(by_tag.values()) - min(by_tag.values())
        for offset in GAP_OFFSETS:
            # Six decimals as a user writes them, rounded toward the truth the cell means:
            # at offset 0 exactly the spread or just above it (PASS, the hardest case).
            gap = math.ceil((spread + offset) * 1_000_000) / 1_000_000 if offset >= 0 else round(spread + offset, 6)
            if 0 < gap <= 1:
                found.append(Cell("gap", model, f"max_gap=spread{offset:+.2f}", outcomes, tuple(tags), 0.0, gap))
    return found


def truth(cell: Cell, plan: Any) -> dict[str, str]:
    """The exact verdict of every gated slice (and ``gap``) on the whole population."""
    passed: dict[str, int] = {}
    for flag, tag in zip(cell.outcomes, cell.tags, strict=True):
        passed[tag] = passed.get(tag, 0) + flag
    right = {each.tag: "PASS" if passed[each.tag] >= each.required else "FAIL" for each in plan.slices if each.gated}
    if cell.max_gap is not None:
        by_tag = {each.tag: passed[each.tag] / each.population for each in plan.slices}
        right["gap"] = "PASS" if max(by_tag.values()) - min(by_tag.values()) <= cell.max_gap else "FAIL"
    return right


def run_cell(job: tuple[Cell, int, int]) -> dict[str, Any]:
    cell, orders, seed = job
    ids = [f"i{n}" for n in range(len(cell.outcomes))]
    plan = plan_slices(SlicesConfig(min_pass_rate=cell.threshold, max_gap=cell.max_gap, min_size=20), cell.threshold,
                       [(case, (tag,)) for case, tag in zip(ids, cell.tags, strict=True)])
    right = truth(cell, plan)
    gates = 1 + plan.gates()  # the suite's own pass rate, the slices, the gap
    rng = random.Random(seed)
    wrong = undecided = 0
    reads = []
    for _ in range(orders):
        order = list(range(len(ids)))
        rng.shuffle(order)
        tracker = SliceTracker(plan, ALPHA, ALPHA / gates)
        for n in order:
            tracker.add(ids[n], "pass" if cell.outcomes[n] else "fail")
            if tracker.decision is not None:
                break
        if cell.max_gap is not None and tracker.gap is None:
            tracker.check_gap()
        verdicts = {plan.slices[i].tag: test.decision for i, test in tracker.tests.items()}
        if cell.max_gap is not None:
            verdicts["gap"] = tracker.gap
        wrong += any(decision is not None and decision != right[name] for name, decision in verdicts.items())
        undecided += any(decision is None for decision in verdicts.values())
        reads.append(tracker.seen / len(ids))
    return {"family": cell.family, "model": cell.model, "setting": cell.setting, "truth": right, "runs": orders,
            "wrong_rate": wrong / orders, "undecided_rate": undecided / orders, "calls_fraction": statistics.fmean(reads)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--confirm-orders", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "slices.json")
    args = parser.parse_args()
    started = time.perf_counter()
    models, tags = load()
    jobs = [(cell, args.orders, 1000 + index) for index, cell in enumerate(cells(models, tags))]
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(run_cell, jobs))
        suspects = [index for index, row in enumerate(rows) if row["wrong_rate"] >= ALPHA]
        confirm = [(jobs[index][0], args.confirm_orders, 9_000_000 + index) for index in suspects]
        for index, row in zip(suspects, pool.map(run_cell, confirm), strict=True):
            row["screening_wrong_rate"] = rows[index]["wrong_rate"]
            rows[index] = row
    screening = max(row.get("screening_wrong_rate", row["wrong_rate"]) for row in rows)
    worst = max(rows, key=lambda row: row["wrong_rate"])
    families = {
        family: {
            "cells": len(members := [row for row in rows if row["family"] == family]),
            "worst_wrong_rate": max(row["wrong_rate"] for row in members),
            "mean_undecided_rate": round(statistics.fmean(row["undecided_rate"] for row in members), 4),
            "mean_calls_fraction": round(statistics.fmean(row["calls_fraction"] for row in members), 4),
        }
        for family in ("slices", "gap")
    }
    document = {
        "benchmark": "slices", "alpha": ALPHA, "orders_per_cell": args.orders, "confirm_orders": args.confirm_orders,
        "seconds": round(time.perf_counter() - started, 1),
        "metrics": {"worst_wrong_rate": worst["wrong_rate"], "worst_cell": {k: worst[k] for k in ("family", "model", "setting", "runs")},
                    "screening_max_wrong_rate": screening, "within_alpha": worst["wrong_rate"] <= ALPHA},
        "families": families, "cells": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    for family, numbers in families.items():
        print(f"{family}: {numbers['cells']} cells, worst wrong {numbers['worst_wrong_rate']:.3f}, "
              f"undecided {numbers['mean_undecided_rate']:.3f}, calls {numbers['mean_calls_fraction']:.3f} of the suite")
    print(f"worst cell: {worst['wrong_rate']:.3f} ({worst['family']} {worst['model']} {worst['setting']}, {worst['runs']} orders; "
          f"screening max {screening:.3f}); within α = {ALPHA}: {worst['wrong_rate'] <= ALPHA}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
