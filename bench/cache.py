"""Benchmark: a 10,000-case suite answered fully from the cache vs a plain pytest run of
10,000 trivial parametrized tests, side by side in one run.

    python bench/cache.py                          # writes bench/results/cache.json
    python bench/cache.py --cases 300 --rounds 1 --out /tmp/cache.json   # tiny

Each measurement is a whole `python -m pytest -q` process (start-up included, as a user
sees it); the numbers are medians over rounds, and the ratio is of those medians.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN_TEST = '''
import pytest

@pytest.mark.parametrize("n", range({cases}))
def test_case(n):
    assert f"a{{n}}" == "a" + str(n)
'''


def make_projects(root: Path, cases: int) -> tuple[Path, Path]:
    evals = root / "evals-project"
    (evals / "evals").mkdir(parents=True)
    (evals / "data").mkdir()
    with (evals / "data" / "qa.jsonl").open("w") as handle:
        for index in range(cases):
            handle.write(json.dumps({"id": f"case-{index:05d}", "input": f"q{index}", "expected": f"a{index}"}) + "\n")
    (evals / "bench_model.py").write_text('def answer(prompt):\n    return "a" + prompt[1:]\n')
    (evals / "evalgate.toml").write_text('suites = ["evals/*.toml"]\n')
    (evals / "evals" / "qa.toml").write_text(
        'dataset = "data/qa.jsonl"\nmodel = {kind = "python", function = "bench_model:answer"}\n'
        'scorer = {kind = "exact"}\ngate = {min_pass_rate = 0.9}\n'
    )
    (evals / "pytest.ini").write_text("[pytest]\n")
    (evals / "tiers").mkdir()
    (evals / "tiers" / "full.toml").write_text("early_stop = false  # every case runs: this measures per-case cost\n")
    plain = root / "plain-project"
    plain.mkdir()
    (plain / "test_plain.py").write_text(PLAIN_TEST.format(cases=cases))
    (plain / "pytest.ini").write_text("[pytest]\n")
    return evals, plain


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    run = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    elapsed = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
    return elapsed, run.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "cache.json")
    args = parser.parse_args()
    pytest_cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]

    with tempfile.TemporaryDirectory() as tmp:
        evals, plain = make_projects(Path(tmp), args.cases)
        first, output = timed([*pytest_cmd, "--eval-tier=full"], evals)  # fills the cache
        assert f"0 hit(s), {args.cases} model call(s)" in output, output[-500:]
        plain_times, cached_times, calls = [], [], []
        for _ in range(args.rounds):  # interleaved, so drift on a shared machine hits both alike
            plain_times.append(timed(pytest_cmd, plain)[0])
            seconds, output = timed([*pytest_cmd, "--eval-tier=full"], evals)
            cached_times.append(seconds)
            calls.append(int(re.search(r"(\d+) model call\(s\)", output).group(1)))  # type: ignore[union-attr]

    plain_median, cached_median = statistics.median(plain_times), statistics.median(cached_times)
    result = {
        "benchmark": "cache",
        "setup": {"cases": args.cases, "rounds": args.rounds},
        "metrics": {
            "cached_vs_plain_pytest_ratio": round(cached_median / plain_median, 3),
            "model_calls_on_rerun": max(calls),
            "cached_run_seconds": round(cached_median, 3),
            "plain_pytest_seconds": round(plain_median, 3),
            "uncached_first_run_seconds": round(first, 3),
            "uncached_vs_cached_ratio": round(first / cached_median, 3),
        },
        "notes": "whole pytest processes; medians over interleaved rounds; the model is an instant "
        "Python function, so uncached_vs_cached shows evalgate's own cost of a miss, not a real model's.",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["metrics"], indent=2))


if __name__ == "__main__":
    main()
