"""The team store: shards that stop early together, concurrent writers, a PR against main's runs.

Three measurements on a throwaway PostgreSQL 15 cluster (``scripts/postgres.sh``) and real
data — the per-problem correctness of GPT-3 175B (verification) on GSM8K's 1,319 problems
(bench/data), served by a python model that answers each problem right or wrong as that model
did, after ``--latency`` seconds:

1. **Shards**: one unsharded run with early stopping; 4 shards run at once without a shared
   store (each its own file: they cannot stop early); 4 shards at once sharing the server, one
   run group. Total model calls, medians of ``--rounds``. Target: shared ≤ 1.2 × unsharded.
2. **Writers**: 8 processes × ``--results`` results each into PostgreSQL and into one SQLite
   file at once: results per second, and rows lost (target 0).
3. **A PR against a warm store**: main's complete run is in the store; a pull request changes
   2 % of the model's answers; its gate (τ five points below its rate) compares with main's run
   (``baseline = "store"``, ``max_regression = 0.05``), so the control-variate test reads the
   paired cases. Model calls vs the full suite, vs the same PR gated without the baseline, and
   with the regression margin loosened (the pass-rate test's own share).

    python bench/store.py                                   # writes bench/results/store.json
    python bench/store.py --rounds 1 --results 200 --latency 0.002 --out /tmp/s.json   # tiny
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MODEL = "175b_verification"
CALLS = re.compile(r"evalgate cache: (\d+) hit\(s\), (\d+) model call\(s\)")

MODEL_PY = '''
import json, random, time
from pathlib import Path

CORRECT = json.loads((Path(__file__).parent / "correct.json").read_text())

def answer(prompt, latency=0.0, flip=0.0, seed=0):
    """Right or wrong as the real model was on problem n; a share ``flip`` of them changed."""
    n = int(prompt[1:])
    time.sleep(latency)
    right = CORRECT[n]
    if flip and random.Random(f"{seed}:{n}").random() < flip:
        right = not right
    return f"a{n}" if right else "wrong"
'''

WRITER = '''
import sys, time
from pathlib import Path
from evalgate.results import CaseResult
from evalgate.store.sqlite import ResultStore
where, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = ResultStore.open_url(where) if where.startswith("postgresql://") else ResultStore.open(Path(where))
assert store.enabled, store.problems
for i in range(count):
    result = CaseResult(suite="s", case_id=f"w{worker}-{i}", output="a", score=1.0, passed=True)
    store.cache.store(f"run{worker}", f"key-{worker}-{i}", {"n": i}, result)
assert store.enabled, store.problems
store.close()
'''


def correctness() -> list[bool]:
    with (HERE / "data" / "gsm8k_is_correct.csv").open() as handle:
        return [row[MODEL] == "1" for row in csv.DictReader(handle)]


def make_project(
    root: Path, correct: list[bool], latency: float, flip: float = 0.0, baseline: str | None = None, max_regression: float = 0.05
) -> float:
    """A project of one GSM8K-sized suite; returns the gate's threshold (five points below the
    model's rate on this data, with the flips applied)."""
    import random

    rate = sum(right != (flip > 0 and random.Random(f"0:{n}").random() < flip) for n, right in enumerate(correct)) / len(correct)
    threshold = round(rate - 0.05, 4)
    (root / "evals").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "model.py").write_text(MODEL_PY)
    (root / "correct.json").write_text(json.dumps(correct))
    (root / "data" / "gsm8k.jsonl").write_text("".join(
        json.dumps({"id": f"p{n:04d}", "input": f"q{n}", "expected": f"a{n}"}) + "\n" for n in range(len(correct))))
    gate = f"min_pass_rate = {threshold}\nmax_error_rate = 0.05\n" + (f'baseline = "{baseline}"\nmax_regression = {max_regression}\n' if baseline else "")
    (root / "evals" / "gsm8k.toml").write_text(
        'dataset = "data/gsm8k.jsonl"\nmodel = "m"\n[scorer]\nkind = "exact"\n[gate]\n' + gate)
    (root / "pyproject.toml").write_text(
        '[tool.evalgate]\nsuites = ["evals/*.toml"]\n[tool.evalgate.models.m]\nkind = "python"\nfunction = "model:answer"\n'
        f"params = {{ latency = {latency}, flip = {flip} }}\n"
        '[tool.pytest.ini_options]\naddopts = ["-p", "no:cacheprovider", "-q"]\n')
    return threshold


def pytest_run(root: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "pytest", "--eval-tier=full", *args], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def calls_of(process: subprocess.Popen[str]) -> int:
    output, _ = process.communicate(timeout=1800)
    found = CALLS.search(output)
    if found is None:
        raise RuntimeError(f"no cache line in the run's output:\n{output[-2000:]}")
    return int(found.group(2))


def new_database(server: str) -> str:
    import psycopg

    name = f"b{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + f"/{name}"


def shards(server: str, correct: list[bool], latency: float, rounds: int, scratch: Path) -> dict[str, Any]:
    base_env = {key: value for key, value in os.environ.items() if not key.startswith(("EVALGATE_", "GITHUB_", "CI_"))}
    runs: dict[str, list[int]] = {"unsharded": [], "shards_alone": [], "shards_shared": []}
    for index in range(rounds):
        root = scratch / f"shards-{index}"
        make_project(root, correct, latency)
        env = {**base_env, "EVALGATE_CACHE": str(root / "one.sqlite")}
        runs["unsharded"].append(calls_of(pytest_run(root, env)))
        alone = [pytest_run(root, {**base_env, "EVALGATE_CACHE": str(root / f"alone-{k}.sqlite")}, f"--eval-shard={k}/4") for k in range(1, 5)]
        runs["shards_alone"].append(sum(calls_of(process) for process in alone))
        shared_env = {**base_env, "EVALGATE_STORE_URL": new_database(server), "EVALGATE_RUN_GROUP": f"bench-{index}"}
        shared = [pytest_run(root, shared_env, f"--eval-shard={k}/4") for k in range(1, 5)]
        runs["shards_shared"].append(sum(calls_of(process) for process in shared))
    medians = {name: statistics.median(values) for name, values in runs.items()}
    return {
        "rounds": runs,
        "median_calls": medians,
        "shared_over_unsharded": round(medians["shards_shared"] / medians["unsharded"], 3),
        "alone_over_unsharded": round(medians["shards_alone"] / medians["unsharded"], 3),
        "target_shared_over_unsharded": 1.2,
        "met": medians["shards_shared"] <= 1.2 * medians["unsharded"],
    }


def writers(server: str, per_process: int, scratch: Path) -> dict[str, Any]:
    script = scratch / "writer.py"
    script.write_text(WRITER)
    found: dict[str, Any] = {}
    for backend in ("postgresql", "sqlite"):
        where = new_database(server) if backend == "postgresql" else str(scratch / "writers.sqlite")
        started = time.perf_counter()
        processes = [subprocess.Popen([sys.executable, str(script), where, str(k), str(per_process)], cwd=REPO,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for k in range(8)]
        failures = [out for process in processes if (out := process.communicate(timeout=3600)[0]) and process.returncode]
        seconds = time.perf_counter() - started
        rows = _count(where)
        found[backend] = {
            "processes": 8, "results_each": per_process, "seconds": round(seconds, 2),
            "results_per_second": round(8 * per_process / seconds), "rows": rows, "lost": 8 * per_process - rows,
            "failures": failures[:2],
        }
    return found


def _count(where: str) -> int:
    if where.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(where) as connection:
            row = connection.execute("SELECT COUNT(*) FROM results").fetchone()
    else:
        import sqlite3

        with sqlite3.connect(where) as connection:
            row = connection.execute("SELECT COUNT(*) FROM results").fetchone()
    return int(row[0]) if row else 0


def pull_request(server: str, correct: list[bool], latency: float, scratch: Path) -> dict[str, Any]:
    root = scratch / "pr"
    base_env = {key: value for key, value in os.environ.items() if not key.startswith(("EVALGATE_", "GITHUB_", "CI_"))}
    env = {**base_env, "EVALGATE_STORE_URL": new_database(server)}
    make_project(root, correct, latency)
    main_calls = calls_of(subprocess.Popen([sys.executable, "-m", "pytest", "--eval-tier=complete"], cwd=root, env=env,
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    make_project(root, correct, latency, flip=0.02, baseline="store")
    with_base = calls_of(pytest_run(root, env))
    make_project(root, correct, latency, flip=0.02, baseline="store", max_regression=0.5)
    # The same model as the run before: its answers are cached, so count the cases it read.
    absolute_process = pytest_run(root, env, f"--eval-report={root / 'absolute'}")
    calls_of(absolute_process)
    absolute = json.loads((root / "absolute" / "results.json").read_text())["suites"][0]["cases_run"]
    make_project(root, correct, latency, flip=0.02)
    direct = calls_of(pytest_run(root, {**base_env, "EVALGATE_CACHE": str(root / "direct.sqlite")}))
    suite = len(correct)
    return {
        "suite": suite, "main_complete_calls": main_calls, "pr_calls_with_main_as_baseline": with_base,
        "pr_calls_direct": direct, "share_of_suite": round(with_base / suite, 3), "direct_share_of_suite": round(direct / suite, 3),
        "pr_calls_pass_rate_gate_alone": absolute, "pass_rate_gate_alone_share": round(absolute / suite, 3),
        "note": "with main as baseline the gate has two tests: the pass rate (control variate) and no regression beyond "
                "max_regression = 0.05 (paired); 'pass_rate_gate_alone' loosens the second (0.5) to show the first's share "
                "(cases read: its answers are the cached ones of the run before)",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--results", type=int, default=10_000, help="results each writer process stores")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per model call")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "store.json")
    args = parser.parse_args()
    correct = correctness()
    scratch = Path(tempfile.mkdtemp(prefix="evalgate-store-bench-"))
    cluster = scratch / "pg"
    started = subprocess.run(["bash", str(REPO / "scripts" / "postgres.sh"), "start", str(cluster)], capture_output=True, text=True)
    if started.returncode:
        print(started.stderr, file=sys.stderr)
        return 2
    server = started.stdout.strip()
    try:
        document = {
            "model": MODEL, "latency_seconds": args.latency,
            "shards": shards(server, correct, args.latency, args.rounds, scratch),
            "writers": writers(server, args.results, scratch),
            "pull_request": pull_request(server, correct, args.latency, scratch),
        }
    finally:
        subprocess.run(["bash", str(REPO / "scripts" / "postgres.sh"), "remove", str(cluster)], capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    s, w, p = document["shards"], document["writers"], document["pull_request"]
    print(f"shards: unsharded {s['median_calls']['unsharded']:.0f} calls; 4 shards alone {s['median_calls']['shards_alone']:.0f} "
          f"({s['alone_over_unsharded']}×); 4 shards sharing the store {s['median_calls']['shards_shared']:.0f} "
          f"({s['shared_over_unsharded']}×, target ≤ 1.2: {'met' if s['met'] else 'NOT met'})")
    for backend, numbers in w.items():
        print(f"writers, {backend}: {numbers['results_per_second']:,} results/s, {numbers['lost']} lost")
    print(f"pull request: {p['pr_calls_with_main_as_baseline']} calls with main as baseline ({p['share_of_suite']} of the suite; "
          f"the pass-rate gate alone {p['pass_rate_gate_alone_share']}), {p['pr_calls_direct']} without ({p['direct_share_of_suite']})")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
