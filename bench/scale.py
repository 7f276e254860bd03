"""Benchmark: a suite of 100,000 cases with an instant model — memory, collection, per-case cost.

Side by side, in one run, each a fresh pytest process (no xdist, no cache provider):

- ``plain``: N trivial parametrized pytest tests — pytest's own cost per item;
- ``evalgate``: one suite of N cases, an instant python model, the full tier with every
  case run, no result cache;
- ``collect``: the same suite, collection only (``--co``);
- ``evalgate_cache`` / ``evalgate_cache_hits``: the full tier with the result cache on, a
  cold store then a warm one (every case a hit);
- ``early_stop``: the same suite with early stopping on and a gate that settles after a
  few dozen cases, so almost every item is skipped, next to ``plain_skip``: N plain tests
  that each call ``pytest.skip`` — the difference is evalgate's cost per skipped item.

Reported: peak RSS (``ru_maxrss`` of the pytest process), wall seconds, and per-case
milliseconds; evalgate's per-case overhead is (evalgate − plain) / N. Targets (the
structure issue): peak ≤ 0.5 GB at 100k cases, overhead ≤ pytest's own per-item cost,
a skipped item ≤ 0.1 ms of evalgate's own work beyond pytest's skip.

    python bench/scale.py                         # writes bench/results/scale.json
    python bench/scale.py --cases 2000 --out /tmp/s.json   # tiny
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]

MODEL = "def answer(prompt):\n    return 'a' + prompt[1:]\n"


def eval_project(root: Path, cases: int) -> Path:
    (root / "evals").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "tiers").mkdir()
    with (root / "data" / "big.jsonl").open("w") as handle:
        for index in range(cases):
            handle.write(f'{{"id": "c{index:06d}", "input": "q{index}", "expected": "a{index}"}}\n')
    (root / "instant.py").write_text(MODEL)
    (root / "pyproject.toml").write_text(
        '[tool.evalgate]\nsuites = ["evals/*.toml"]\n[tool.evalgate.models.m]\nkind = "python"\n'
        'function = "instant:answer"\n[tool.pytest.ini_options]\n'
    )
    (root / "evals" / "big.toml").write_text(
        'dataset = "data/big.jsonl"\nmodel = "m"\n[scorer]\nkind = "exact"\n[gate]\nmin_pass_rate = 0.5\nmax_error_rate = 0.01\n'
    )
    (root / "tiers" / "full.toml").write_text("early_stop = false\n")
    (root / "tiers" / "stop.toml").write_text("early_stop = true\n")
    return root


def plain_project(root: Path, cases: int, skip: bool = False) -> Path:
    """N parametrized trivial tests (each skipped with a reason when ``skip``)."""
    root.mkdir(parents=True)
    body = "    pytest.skip('settled')\n" if skip else "    assert i >= 0\n"
    (root / "test_plain.py").write_text(f"import pytest\n\n@pytest.mark.parametrize('i', range({cases}))\ndef test_case(i):\n{body}")
    (root / "pytest.ini").write_text("[pytest]\n")
    return root


def measured(command: list[str], cwd: Path, expect: str) -> tuple[float, float]:
    """``(wall seconds, peak RSS in MB)`` of one pytest process."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "elapsed = time.perf_counter() - start\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(elapsed, peak)\n"
        "sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])\n"
    )
    run = subprocess.run([sys.executable, "-c", probe, *command], cwd=cwd, capture_output=True, text=True)
    if expect not in run.stderr:
        raise SystemExit(f"{' '.join(command)}: expected {expect!r} in:\n{run.stderr}")
    seconds, peak = (float(part) for part in run.stdout.split())
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "scale.json")
    parser.add_argument("--only", nargs="+", metavar="RUN", help="measure only these runs (no JSON written)")
    args = parser.parse_args()
    n = args.cases
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        evals = eval_project(Path(tmp) / "evals", n)
        plain = plain_project(Path(tmp) / "plain", n)
        plain_skip = plain_project(Path(tmp) / "plain_skip", n, skip=True)
        for name, command, cwd, expect in (
            ("plain", PYTEST, plain, f"{n} passed"),
            ("evalgate", [*PYTEST, "--eval-tier=full", "--eval-no-cache"], evals, f"{n} passed"),
            ("evalgate_cache", [*PYTEST, "--eval-tier=full"], evals, f"{n} passed"),
            ("evalgate_cache_hits", [*PYTEST, "--eval-tier=full"], evals, f"{n} passed"),
            ("plain_skip", PYTEST, plain_skip, f"{n} skipped"),
            ("collect", [*PYTEST, "--co", "--eval-tier=full", "--eval-no-cache"], evals, f"{n} tests collected"),
            ("early_stop", [*PYTEST, "--eval-tier=stop", "--eval-no-cache"], evals, "skipped"),
            ("plain_collect", [*PYTEST, "--co"], plain, f"{n} tests collected"),
        ):
            if args.only and name not in args.only:
                continue
            started = time.perf_counter()
            seconds, peak = measured(command, cwd, expect)
            rows[name] = {"seconds": round(seconds, 3), "peak_mb": round(peak, 1)}
            print(f"{name:14s} {seconds:8.2f} s  {peak:8.1f} MB  ({time.perf_counter() - started:.0f} s)", flush=True)
    if args.only:
        return
    per_item_plain = rows["plain"]["seconds"] / n * 1000
    overhead = (rows["evalgate"]["seconds"] - rows["plain"]["seconds"]) / n * 1000
    skip_overhead = (rows["early_stop"]["seconds"] - rows["plain_skip"]["seconds"]) / n * 1000
    result = {
        "benchmark": "scale",
        "setup": {"cases": n, "model": "python, instant", "cache": "off", "xdist": "off"},
        "metrics": {
            "peak_mb_evalgate": rows["evalgate"]["peak_mb"],
            "peak_mb_evalgate_cache_on": max(rows["evalgate_cache"]["peak_mb"], rows["evalgate_cache_hits"]["peak_mb"]),
            "peak_mb_plain_pytest": rows["plain"]["peak_mb"],
            "collect_seconds_evalgate": rows["collect"]["seconds"],
            "collect_seconds_plain_pytest": rows["plain_collect"]["seconds"],
            "pytest_ms_per_item": round(per_item_plain, 4),
            "evalgate_overhead_ms_per_case": round(overhead, 4),
            "overhead_vs_pytest_per_item": round(overhead / per_item_plain, 3),
            "early_stop_ms_per_skipped_item": round(rows["early_stop"]["seconds"] / n * 1000, 4),
            "plain_pytest_ms_per_skipped_item": round(rows["plain_skip"]["seconds"] / n * 1000, 4),
            "evalgate_overhead_ms_per_skipped_item": round(skip_overhead, 4),
        },
        "runs": rows,
        "targets": {
            "peak_mb_evalgate": 500,
            "peak_mb_evalgate_cache_on": 500,
            "overhead_vs_pytest_per_item": 1.0,
            "evalgate_overhead_ms_per_skipped_item": 0.1,
        },
        "notes": "one fresh pytest process each; peak is ru_maxrss of the pytest process",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["metrics"], indent=2))


if __name__ == "__main__":
    main()
