"""Benchmark: what evalgate adds per case. 10,000 instant cases (a Python function that
answers at once, no cache) through evalgate vs 10,000 trivial parametrized pytest tests,
side by side in one run.

    python bench/overhead.py                        # writes bench/results/overhead.json
    python bench/overhead.py --cases 200 --rounds 1 --out /tmp/o.json   # tiny

Whole pytest processes, medians over interleaved rounds; the added time per case is
(evalgate − plain) / cases.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from cache import make_projects, timed  # noqa: E402  (same two projects as the cache benchmark)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "overhead.json")
    args = parser.parse_args()
    pytest_cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    with tempfile.TemporaryDirectory() as tmp:
        evals, plain = make_projects(Path(tmp), args.cases)
        plain_times, eval_times = [], []
        for _ in range(args.rounds):
            plain_times.append(timed(pytest_cmd, plain)[0])
            seconds, output = timed([*pytest_cmd, "--eval-tier=full", "--eval-no-cache"], evals)
            assert f"{args.cases} passed" in output, output[-500:]
            eval_times.append(seconds)
    plain_median, eval_median = statistics.median(plain_times), statistics.median(eval_times)
    result = {
        "benchmark": "overhead",
        "setup": {"cases": args.cases, "rounds": args.rounds},
        "metrics": {
            "overhead_ms_per_case": round((eval_median - plain_median) / args.cases * 1000, 4),
            "evalgate_seconds": round(eval_median, 3),
            "plain_pytest_seconds": round(plain_median, 3),
            "ratio": round(eval_median / plain_median, 3),
        },
        "notes": "whole pytest processes without xdist or the cache; medians over interleaved rounds",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["metrics"], indent=2))


if __name__ == "__main__":
    main()
