"""Benchmark: `evalgate plan` on a 20,000-file repository with a 1,000-file change,
against `git diff --numstat` alone on the same repository, measured in one run.

    python bench/plan.py            # full size; writes bench/results/plan.json
    python bench/plan.py --files 500 --changed 50 --rounds 3 --out /tmp/plan.json   # tiny

Reports medians over rounds (machines are shared and noisy) and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evalgate.changes.auto import plan_for_project
from evalgate.project import load_project

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True).stdout


def make_repo(root: Path, files: int, changed: int) -> None:
    """A project with one suite and `files` source files; a branch changes `changed` of them."""
    git(root, "init", "-q", "-b", "main")
    (root / "evals").mkdir()
    (root / "data").mkdir()
    (root / "data" / "qa.jsonl").write_text('{"id": "a", "input": "q", "expected": "a"}\n')
    (root / "evals" / "qa.toml").write_text(
        'dataset = "data/qa.jsonl"\nmodel = {kind = "recorded", path = "data/qa.jsonl", output_field = "expected"}\n'
        'scorer = {kind = "exact"}\ngate = {min_pass_rate = 0.5}\n'
    )
    (root / "evalgate.toml").write_text('suites = ["evals/*.toml"]\n[changes]\nmax_files = 100000\nmax_lines = 10000000\n')
    for index in range(files):
        path = root / "src" / f"pkg{index % 100:03d}" / f"module_{index:05d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"VALUE = {index}\n\ndef f():\n    return VALUE\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "feature")
    for index in range(0, files, max(1, files // changed))[:changed]:
        path = root / "src" / f"pkg{index % 100:03d}" / f"module_{index:05d}.py"
        path.write_text(path.read_text() + "\n# changed\n")
    git(root, "commit", "-q", "-am", "change")


def median_seconds(action, rounds: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--changed", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "plan.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"making a repository of {args.files} files with a {args.changed}-file change…", file=sys.stderr)
        make_repo(root, args.files, args.changed)
        project = load_project(root / "evalgate.toml")
        env = {"CI": "true"}
        plan = plan_for_project(project, base="main", env=env)
        assert len(plan.files) == args.changed, len(plan.files)
        git_numstat = median_seconds(lambda: git(root, "diff", "--numstat", "main...HEAD"), args.rounds)
        in_process = median_seconds(lambda: plan_for_project(project, base="main", env=env), args.rounds)
        command = [sys.executable, "-m", "evalgate", "plan", str(root), "--base", "main", "--format", "json"]
        whole_command = median_seconds(
            lambda: subprocess.run(command, check=True, capture_output=True, env={**os.environ, **env}), args.rounds
        )

    result = {
        "benchmark": "plan",
        "setup": {"files": args.files, "changed_files": args.changed, "rounds": args.rounds},
        "metrics": {
            "plan_seconds": round(in_process, 4),
            "ratio_to_git_numstat": round(in_process / git_numstat, 2),
            "git_numstat_seconds": round(git_numstat, 4),
            "plan_command_seconds": round(whole_command, 4),
        },
        "notes": "plan_seconds: median of the analysis (plan_for_project) in a warm process; "
        "plan_command_seconds adds interpreter start-up and imports (`evalgate plan` as a command).",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["metrics"], indent=2))


if __name__ == "__main__":
    main()
