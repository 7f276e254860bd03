"""Benchmark: does a sampled / early-stopped gate reach the full run's verdict, and at what cost?

Real per-item correctness of real models (see bench/data/README.md):
- GSM8K: 4 GPT-3 variants × 1,319 items (OpenAI's recorded `is_correct` flags);
- ChemBench: 22 LLMs × 2,854 items (irt-on-bench's binary matrix).

For every model and threshold τ = rate ± d (d ∈ 0.01, 0.03, 0.05, 0.10; τ kept in
(0.02, 0.98)) and several random orders, at α = 0.05, each method gives a verdict; the
truth is the full suite's rate vs τ. Methods, side by side:

- ``evalgate``: the anytime-valid betting test (without replacement), looking after every case
  (its default "hedged" bet; ``evalgate-kelly-only`` and ``evalgate-mixture-only`` measure the
  two halves of the hedge alone);
- ``first-n``: the first N items in file order, point estimate (lm-eval's ``--limit``);
- ``random-n-wilson-once``: N random items, a Wilson interval checked once (undecided →
  point estimate);
- ``wilson-every-case``: a Wilson interval re-checked after every case, stop when it excludes τ.

Also paired regression gates: every ordered pair of models on the same items, "no
regression larger than δ = 0.02", with evalgate's paired anytime-valid test.

    python bench/verdicts.py                 # writes bench/results/verdicts.json and verdicts.png
    python bench/verdicts.py --orders 1 --models 2 --out /tmp/v.json    # tiny
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from evalgate.verdict.exact import required_paired_sum, required_passes
from evalgate.verdict.monitor import pass_rate_test
from evalgate.verdict.sequential import BettingTest
from evalgate.verdict.stats import wilson_interval

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
DISTANCES = (0.01, 0.03, 0.05, 0.10)
ALPHA = 0.05
FIXED_N = 200
DELTA = 0.02
METHODS = ("evalgate", "evalgate-kelly-only", "evalgate-mixture-only", "first-n", "random-n-wilson-once", "wilson-every-case")


def load_models(limit: int | None) -> dict[str, dict[str, list[bool]]]:
    """``{"gsm8k": {model: outcomes}, "chembench": {...}}`` in file order."""
    gsm8k: dict[str, list[bool]] = defaultdict(list)
    with (DATA / "gsm8k_is_correct.csv").open() as handle:
        for row in csv.DictReader(handle):
            for model, value in row.items():
                if model != "item":
                    gsm8k[model].append(value == "1")
    chem: dict[str, list[bool]] = defaultdict(list)
    with (DATA / "chembench_binary_matrix.csv").open() as handle:
        reader = csv.reader(handle)
        header = next(reader)[1:]
        for row in reader:
            for model, value in zip(header, row[1:], strict=True):
                chem[model].append(float(value) >= 0.5)
    datasets = {"gsm8k": dict(gsm8k), "chembench": dict(chem)}
    if limit:
        datasets = {name: dict(list(models.items())[:limit]) for name, models in datasets.items()}
    return datasets


def evalgate_verdict(order: list[bool], tau: float, strategy: str = "hedged") -> tuple[str, int]:
    test = pass_rate_test(len(order), tau, ALPHA, strategy=strategy)
    for outcome in order:
        if test.update(int(outcome)) is not None:
            break
    assert test.decision is not None and test.decided_at is not None
    return test.decision, test.decided_at


def first_n(outcomes: list[bool], tau: float) -> tuple[str, int]:
    sample = outcomes[:FIXED_N]
    return ("PASS" if sum(sample) / len(sample) >= tau else "FAIL"), len(sample)


def wilson_once(order: list[bool], tau: float) -> tuple[str, int]:
    sample = order[:FIXED_N]
    low, high = wilson_interval(sum(sample), len(sample))
    if low >= tau:
        return "PASS", len(sample)
    if high < tau:
        return "FAIL", len(sample)
    return ("PASS" if sum(sample) / len(sample) >= tau else "FAIL"), len(sample)


def wilson_every_case(order: list[bool], tau: float) -> tuple[str, int]:
    passed = 0
    for seen, outcome in enumerate(order, start=1):
        passed += outcome
        if seen >= 10:
            low, high = wilson_interval(passed, seen)
            if low >= tau:
                return "PASS", seen
            if high < tau:
                return "FAIL", seen
    return ("PASS" if passed / len(order) >= tau else "FAIL"), len(order)


def run_thresholds(datasets: dict[str, dict[str, list[bool]]], orders: int, seed: int) -> dict[str, Any]:
    rows: dict[str, dict[float, list[tuple[bool, float]]]] = {m: defaultdict(list) for m in METHODS}
    rng = random.Random(seed)
    for models in datasets.values():
        for outcomes in models.values():
            rate = sum(outcomes) / len(outcomes)
            for distance in DISTANCES:
                for tau in (rate - distance, rate + distance):
                    if not 0.02 < tau < 0.98:
                        continue
                    truth = "PASS" if sum(outcomes) >= required_passes(tau, len(outcomes)) else "FAIL"
                    verdict, used = first_n(outcomes, tau)
                    rows["first-n"][distance].append((verdict == truth, used / len(outcomes)))
                    for _ in range(orders):
                        order = outcomes[:]
                        rng.shuffle(order)
                        for method, decide in (
                            ("evalgate", evalgate_verdict),
                            ("evalgate-kelly-only", lambda o, t: evalgate_verdict(o, t, "kelly")),
                            ("evalgate-mixture-only", lambda o, t: evalgate_verdict(o, t, "mixture")),
                            ("random-n-wilson-once", wilson_once),
                            ("wilson-every-case", wilson_every_case),
                        ):
                            verdict, used = decide(order, tau)
                            rows[method][distance].append((verdict == truth, used / len(outcomes)))
    summary: dict[str, Any] = {}
    for method, by_distance in rows.items():
        summary[method] = {}
        for distance, results in sorted(by_distance.items()):
            correct = [ok for ok, _ in results]
            summary[method][f"{distance:.2f}"] = {
                "runs": len(results),
                "agreement": round(sum(correct) / len(correct), 4),
                "wrong_verdict_rate": round(1 - sum(correct) / len(correct), 4),
                "calls_fraction": round(statistics.mean(f for _, f in results), 4),
            }
    return summary


def run_pairs(datasets: dict[str, dict[str, list[bool]]], orders: int, seed: int) -> dict[str, Any]:
    """Paired regression gates: candidate vs baseline on the same items, δ = 0.02."""
    rng = random.Random(seed + 1)
    correct: list[bool] = []
    fractions: list[float] = []
    for models in datasets.values():
        names = list(models)
        for candidate in names:
            for baseline in names:
                if candidate == baseline:
                    continue
                pairs = list(zip(models[candidate], models[baseline], strict=True))
                diff = (sum(c for c, _ in pairs) - sum(b for _, b in pairs)) / len(pairs)
                if abs(diff + DELTA) < 0.005:
                    continue  # too close to the margin for any verdict to be meaningful
                truth = "PASS" if diff >= -DELTA else "FAIL"
                required = required_paired_sum(DELTA, len(pairs))
                for _ in range(orders):
                    rng.shuffle(pairs)
                    n = len(pairs)
                    test = BettingTest(n, n + required - 1, n + required, ALPHA, ALPHA, scale=2)
                    for c, b in pairs:
                        if test.update(int(c) - int(b) + 1) is not None:
                            break
                    assert test.decided_at is not None
                    correct.append(test.decision == truth)
                    fractions.append(test.decided_at / len(pairs))
    return {
        "delta": DELTA,
        "runs": len(correct),
        "agreement": round(sum(correct) / len(correct), 4),
        "wrong_verdict_rate": round(1 - sum(correct) / len(correct), 4),
        "calls_fraction": round(statistics.mean(fractions), 4),
    }


def plot(summary: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install -e '.[bench]')", file=sys.stderr)
        return False
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for method, by_distance in summary.items():
        xs = [float(d) for d in by_distance]
        axis.plot(xs, [row["calls_fraction"] for row in by_distance.values()], marker="o", label=method)
    axis.set_xlabel("distance of the threshold from the true pass rate (d)")
    axis.set_ylabel("calls used / cases in the suite")
    axis.set_title("Calls used vs distance to the threshold (GSM8K + ChemBench, α = 0.05)")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=5, help="random orders per model and threshold")
    parser.add_argument("--pair-orders", type=int, default=2, help="random orders per model pair")
    parser.add_argument("--models", type=int, default=None, help="use only the first N models of each dataset")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "verdicts.json")
    args = parser.parse_args()
    datasets = load_models(args.models)
    summary = run_thresholds(datasets, args.orders, args.seed)
    pairs = run_pairs(datasets, args.pair_orders, args.seed)
    ours = summary["evalgate"]
    runs = sum(row["runs"] for row in ours.values())
    wrong = sum(row["wrong_verdict_rate"] * row["runs"] for row in ours.values()) / runs
    result = {
        "benchmark": "verdicts",
        "setup": {"alpha": ALPHA, "distances": DISTANCES, "orders": args.orders, "fixed_n": FIXED_N,
                  "models": {name: len(models) for name, models in datasets.items()}},
        "metrics": {
            "wrong_verdict_rate": round(wrong, 4),
            "max_wrong_verdict_rate_by_distance": max(row["wrong_verdict_rate"] for row in ours.values()),
            "agreement_at_5pts": ours["0.05"]["agreement"],
            "agreement_at_10pts": ours["0.10"]["agreement"],
            "calls_fraction_at_5pts": ours["0.05"]["calls_fraction"],
            "calls_fraction_at_10pts": ours["0.10"]["calls_fraction"],
            "paired_regression_agreement": pairs["agreement"],
            "paired_regression_calls_fraction": pairs["calls_fraction"],
        },
        "by_method": summary,
        "paired_regression": pairs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    plot(summary, args.out.with_suffix(".png"))
    print(json.dumps(result["metrics"], indent=2))
    for method, rows in summary.items():
        print(f"{method:>22}: " + "  ".join(f"d={d}: calls {r['calls_fraction']:.3f} wrong {r['wrong_verdict_rate']:.3f}" for d, r in rows.items()))


if __name__ == "__main__":
    main()
