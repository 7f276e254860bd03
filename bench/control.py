"""Control variates: how many calls the absolute gate needs when main's complete run is the control.

Real per-item correctness of four GPT-3 variants on GSM8K (bench/data, 1,319 problems). Each
variant in turn is the *baseline* (main's complete run); the *candidate* is that variant with
a random fraction r of its answers flipped (a pull request that changes a few answers). The
gate is "pass rate ≥ τ" with τ at distance d from the candidate's true rate (d > 0: the truth
is PASS; d = 0: τ is the true rate exactly, still PASS, the hardest case; d < 0: FAIL). Per
cell, ≥ 200 random orders are read by both tests side by side:

- ``direct``: the pass-rate test evalgate uses without a baseline (``pass_rate_test``);
- ``control``: :class:`evalgate.verdict.control.ControlVariateTest` with the baseline's exact
  total as control.

Reported per cell: the median and mean share of the suite read before the verdict, and the
share of wrong verdicts (a settled verdict that disagrees with the truth), with the worst cell
over the whole grid. As in bench/conformance.py, every cell that screens at or above α with
200 orders is confirmed with 2,000 fresh ones (the largest of 60 noisy estimates is biased
upward); the worst cell is the worst confirmed estimate. "Never worse than the direct test"
compares mean shares per model; at d = 0 (τ exactly at the true rate) neither test can settle
early and both read nearly every case, so those cells are reported, not compared. Targets (α = 0.05): at r = 2 %, calls ≤ 0.08 of the suite at d = 5 pts
and ≤ 0.035 at d = 10 pts; at r = 5 %, ≤ 0.12 and ≤ 0.05; wrong ≤ α in every cell; at r = 20 %
never worse than the direct test.

    python bench/control.py                            # writes bench/results/control.json
    python bench/control.py --orders 5 --out /tmp/c.json   # tiny
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.verdicts import load_models  # noqa: E402
from evalgate.verdict.control import ControlVariateTest  # noqa: E402
from evalgate.verdict.exact import required_passes  # noqa: E402
from evalgate.verdict.monitor import pass_rate_test  # noqa: E402

ALPHA = 0.05
RATES = (0.02, 0.05, 0.20)
DISTANCES = (0.10, 0.05, 0.0, -0.05, -0.10)
TARGETS = {(0.02, 0.05): 0.08, (0.02, 0.10): 0.035, (0.05, 0.05): 0.12, (0.05, 0.10): 0.05}
"""(r, d) → the largest mean share of the suite the control test may read."""


def run_cell(
    model: str, baseline: list[bool], rate: float, distance: float, orders: int, seed: int, tests: tuple[str, ...] = ("direct", "control")
) -> dict[str, Any]:
    """The ``tests`` on ``orders`` random candidates and orders of one cell."""
    rng = random.Random(f"{seed}:{model}:{rate}:{distance}")
    n = len(baseline)
    s_b = sum(baseline)
    shares: dict[str, list[float]] = {"direct": [], "control": []}
    wrong = {"direct": 0, "control": 0}
    for _ in range(orders):
        flipped = set(rng.sample(range(n), round(rate * n)))
        candidate = [(not value) if i in flipped else value for i, value in enumerate(baseline)]
        s_c = sum(candidate)
        threshold = max(0.0, min(1.0, s_c / n - distance))
        required = required_passes(threshold, n)
        truth = "PASS" if s_c >= required else "FAIL"
        order = list(range(n))
        rng.shuffle(order)
        direct = pass_rate_test(n, threshold, ALPHA)
        control = ControlVariateTest(n, required, s_b, ALPHA, ALPHA)
        for name, test in (("direct", direct), ("control", control)):
            if name not in tests:
                continue
            for index in order:
                outcome = int(candidate[index])
                decision = test.update(outcome) if name == "direct" else test.update(outcome, int(baseline[index]))  # type: ignore[call-arg]
                if decision is not None:
                    break
            read = test.decided_at if test.decided_at is not None else n
            shares[name].append(read / n)
            wrong[name] += test.decision is not None and test.decision != truth
    return {
        "model": model, "r": rate, "d": distance, "orders": orders,
        **{f"{name}_median": statistics.median(values) for name, values in shares.items() if values},
        **{f"{name}_mean": statistics.fmean(values) for name, values in shares.items() if values},
        **{f"{name}_wrong": wrong[name] / orders for name in tests},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "control.json")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    models = load_models(None)["gsm8k"]
    jobs = [(model, outcomes, rate, distance, args.orders, 0) for model, outcomes in models.items()
            for rate in RATES for distance in DISTANCES]
    with ProcessPoolExecutor(args.workers) as pool:
        cells = list(pool.map(run_cell, *zip(*jobs, strict=True)))
        suspects = [cell for cell in cells if cell["control_wrong"] >= ALPHA]
        confirm = [(cell["model"], models[cell["model"]], cell["r"], cell["d"], 10 * args.orders, 1, ("control",)) for cell in suspects]
        confirmed = list(pool.map(run_cell, *zip(*confirm, strict=True))) if confirm else []
    for cell, again in zip(suspects, confirmed, strict=True):
        cell["screened_wrong"] = cell["control_wrong"]
        cell["control_wrong"] = again["control_wrong"]
        cell["confirmed_orders"] = again["orders"]
    summary = summarize(cells)
    document = {"alpha": ALPHA, "orders_per_cell": args.orders, "suite_size": len(next(iter(models.values()))),
                "seconds": round(time.perf_counter() - started, 1), "summary": summary, "cells": cells}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    for line in report_lines(summary):
        print(line)
    print(f"wrote {args.out}")
    return 0


def summarize(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Per (r, d): the worst model's mean share read by each test; the worst wrong rate; targets."""
    by_rd: dict[str, Any] = {}
    for rate in RATES:
        for distance in DISTANCES:
            group = [cell for cell in cells if cell["r"] == rate and cell["d"] == distance]
            if not group:
                continue
            by_rd[f"r={rate:g} d={distance:+g}"] = {
                "control_mean_worst_model": max(cell["control_mean"] for cell in group),
                "direct_mean_worst_model": max(cell["direct_mean"] for cell in group),
                "control_over_direct": max(cell["control_mean"] / cell["direct_mean"] for cell in group),
                "control_wrong_worst": max(cell["control_wrong"] for cell in group),
                "direct_wrong_worst": max(cell["direct_wrong"] for cell in group),
            }
    targets = {}
    for (rate, distance), limit in TARGETS.items():
        key = f"r={rate:g} d={distance:+g}"
        if key in by_rd:
            measured = by_rd[key]["control_mean_worst_model"]
            targets[key] = {"target": limit, "measured": round(measured, 4), "met": measured <= limit}
    worst = max(cells, key=lambda cell: cell["control_wrong"])
    at_20 = [key for key, cell in by_rd.items() if key.startswith("r=0.2 ") and not key.endswith("d=+0") and cell["control_over_direct"] > 1.0]
    return {
        "cells": by_rd,
        "targets": targets,
        "worst_wrong_cell": {key: worst.get(key) for key in ("model", "r", "d", "control_wrong", "orders", "confirmed_orders")},
        "screening_max_wrong": max(cell.get("screened_wrong", cell["control_wrong"]) for cell in cells),
        "wrong_within_alpha": all(cell["control_wrong"] <= ALPHA for cell in cells),
        "never_worse_than_direct_at_r20": not at_20,
    }


def report_lines(summary: dict[str, Any]) -> list[str]:
    lines = ["cell                 control  direct  ratio  wrong(control)"]
    for key, cell in summary["cells"].items():
        lines.append(f"{key:<20} {cell['control_mean_worst_model']:>7.3f} {cell['direct_mean_worst_model']:>7.3f} "
                     f"{cell['control_over_direct']:>6.2f} {cell['control_wrong_worst']:>8.3f}")
    for key, target in summary["targets"].items():
        lines.append(f"target {key}: mean share ≤ {target['target']} — measured {target['measured']} ({'met' if target['met'] else 'NOT met'})")
    worst = summary["worst_wrong_cell"]
    orders = worst["confirmed_orders"] or worst["orders"]
    lines.append(f"worst wrong cell: {worst['control_wrong']:.3f} ({worst['model']}, r={worst['r']}, d={worst['d']:+g}, "
                 f"{orders} orders; screening max {summary['screening_max_wrong']:.3f}); all within α: {summary['wrong_within_alpha']}; "
                 f"never worse than direct at r = 20 % (d ≠ 0): {summary['never_worse_than_direct_at_r20']}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
