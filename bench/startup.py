"""Benchmark: what evalgate costs a pytest run that uses no evals.

The plugin is loaded into every pytest run of every project that installs evalgate, so
it must cost nothing when no tier is asked for. Two measurements, side by side:

- ``plugin_import_ms``: importing ``evalgate.plugin`` in a process that already imported
  pytest (as pytest's entry-point loading does), median over fresh processes;
- ``collect_ratio``: wall time of ``pytest --co -q`` on a small plain project (5 test files,
  50 tests) with the plugin vs ``-p no:evalgate``, median of interleaved runs.

    python bench/startup.py                     # writes bench/results/startup.json
    python bench/startup.py --rounds 3 --out /tmp/s.json   # tiny
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMPORT_PROBE = (
    "import time, pytest\n"
    "start = time.perf_counter()\n"
    "import evalgate.plugin\n"
    "print((time.perf_counter() - start) * 1000)\n"
)


def plain_project(root: Path) -> Path:
    """Five test files of ten trivial tests each; no evalgate config at all."""
    (root / "tests").mkdir(parents=True)
    for module in range(5):
        body = "".join(f"def test_{module}_{index}():\n    assert {index} + 1 > {index}\n\n" for index in range(10))
        (root / "tests" / f"test_mod{module}.py").write_text(body)
    (root / "pyproject.toml").write_text("[tool.pytest.ini_options]\ntestpaths = ['tests']\n")
    return root


def wall_seconds(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "startup.json")
    args = parser.parse_args()

    imports = [float(subprocess.check_output([sys.executable, "-c", IMPORT_PROBE], text=True)) for _ in range(args.rounds)]
    collect = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider"]
    with_plugin, without_plugin = [], []
    with tempfile.TemporaryDirectory() as tmp:
        project = plain_project(Path(tmp) / "plain")
        wall_seconds(collect, project)  # warm the file system cache and bytecode
        for _ in range(args.rounds):  # interleaved, so drift on a shared machine hits both sides
            with_plugin.append(wall_seconds(collect, project))
            without_plugin.append(wall_seconds([*collect, "-p", "no:evalgate"], project))
    ratios = [a / b for a, b in zip(with_plugin, without_plugin, strict=True)]
    result = {
        "benchmark": "startup",
        "setup": {"rounds": args.rounds, "project": "5 files, 50 plain tests, pytest --co -q"},
        "metrics": {
            "plugin_import_ms": round(statistics.median(imports), 2),
            "collect_ratio": round(statistics.median(with_plugin) / statistics.median(without_plugin), 3),
            "collect_ratio_median_of_pairs": round(statistics.median(ratios), 3),
            "collect_seconds_with_plugin": round(statistics.median(with_plugin), 3),
            "collect_seconds_without_plugin": round(statistics.median(without_plugin), 3),
        },
        "targets": {"plugin_import_ms": 20, "collect_ratio": 1.05},
        "notes": "medians of fresh processes; with/without runs interleaved on the same machine",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["metrics"], indent=2))


if __name__ == "__main__":
    main()
