"""Benchmark: one pytest process keeping a slow endpoint busy.

A loopback OpenAI-compatible server answers every request after a fixed 50 ms. 1,000 cases
run through evalgate in one pytest process (no xdist) at concurrency 1, 8, 32 and 64. The
ceiling at concurrency C is C / L requests per second; `ratio_to_limit` is the measured
throughput (requests over the span from the first request to the last answer, seen by the
server) divided by that ceiling.

    python bench/throughput.py                      # writes bench/results/throughput.json
    python bench/throughput.py --cases 64 --concurrency 1 8 --out /tmp/t.json   # tiny
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fake_openai import FakeOpenAI  # noqa: E402  (the one loopback server of tests and benchmarks)

LATENCY = 0.050


def project(root: Path, url: str, cases: int, concurrency: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "evals").mkdir(exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    with (root / "data" / "qa.jsonl").open("w") as handle:
        for index in range(cases):
            handle.write(json.dumps({"id": f"c{index:05d}", "input": f"q{index}", "expected": f"a{index}"}) + "\n")
    (root / "evalgate.toml").write_text(
        f'suites = ["evals/*.toml"]\n[models.m]\nkind = "openai"\nmodel = "m"\nbase_url = "{url}"\n'
        f'api_key_env = ""\nconcurrency = {concurrency}\n'
    )
    (root / "evals" / "qa.toml").write_text(
        'dataset = "data/qa.jsonl"\nmodel = "m"\nscorer = {kind = "exact"}\ngate = {min_pass_rate = 0.9}\n'
    )
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "tiers").mkdir(exist_ok=True)
    (root / "tiers" / "full.toml").write_text("early_stop = false  # every case runs: this measures throughput\n")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--rounds", type=int, default=3, help="runs per concurrency; the median is kept")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "throughput.json")
    args = parser.parse_args()
    server = FakeOpenAI(latency=LATENCY).__enter__()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for concurrency in args.concurrency:
            root = project(Path(tmp) / f"c{concurrency}", server.url, args.cases, concurrency)
            spans = []
            for _ in range(args.rounds):
                server.reset()
                command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           "--eval-tier=full", "--eval-no-cache"]
                run = subprocess.run(command, cwd=root, capture_output=True, text=True, env={**os.environ})
                if run.returncode != 0 or server.served != args.cases or server.first is None:
                    raise SystemExit(f"run at concurrency {concurrency} failed:\n{run.stdout[-2000:]}")
                spans.append(server.last - server.first)
            span = statistics.median(spans)
            measured = args.cases / span
            limit = concurrency / LATENCY
            rows[concurrency] = {"requests_per_second": round(measured, 1), "limit": limit,
                                 "ratio_to_limit": round(measured / limit, 3), "seconds": round(span, 2),
                                 "ratio_each_round": [round(args.cases / x / limit, 3) for x in spans]}
            print(f"concurrency {concurrency:>3}: {measured:7.1f} req/s of {limit:7.1f} ({measured / limit:.0%})", file=sys.stderr)
    metrics = {f"ratio_to_limit_c{c}": row["ratio_to_limit"] for c, row in rows.items()}
    result = {"benchmark": "throughput", "setup": {"cases": args.cases, "latency_seconds": LATENCY},
              "metrics": metrics, "by_concurrency": rows,
              "notes": "one pytest process, no xdist; span measured by the server from first request to last "
                       "answer; median of rounds. At high rates one process is CPU-bound on 2 cores (pytest's "
                       "own per-item work and the client's per-call work share one GIL; the endpoint's server "
                       "takes the other core); worker processes do not help there (bench/wire.py: forced -n 2 "
                       "is slower)."}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
