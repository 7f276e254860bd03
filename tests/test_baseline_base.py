"""Main's complete runs as every pull request's control (``baseline = "base"``): runs record
their commit and branch; a feature branch's run compares with the run at its merge base, or
with the base branch's newest complete run when that commit has none — and says which."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_project
from gitrepo import GIT_ENV, GitRepo

GATE = {"baseline": "base", "max_regression": 0.1, "regression_population": "suite"}  # these cases: exact once all ran


def run(repo: GitRepo, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """pytest in the repository, as a developer or CI would run it (no GitHub variables)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "EVALGATE_", "CI"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--eval-report=out", *args],
                          cwd=repo.path, env={**clean, **GIT_ENV, **(env or {})}, capture_output=True, text=True, timeout=300)


def comparison(repo: GitRepo) -> dict[str, object]:
    suite = json.loads((repo.path / "out" / "results.json").read_text())["suites"][0]
    return dict(suite["baseline"] or {}) | {"verdict": suite["verdict"]}


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "app")
    write_project(repo.path, cases=10, correct=10, min_pass_rate=0.5, gate=GATE)
    repo.write(".gitignore", ".evalgate/\nout/\n__pycache__/\n")
    repo.commit("main: a good model")
    return repo


def test_a_branch_compares_with_the_run_at_its_merge_base(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    assert run(repo, "--eval-tier=full").returncode == 0  # main's complete run at the base
    repo.git("checkout", "-q", "-b", "feature")
    write_project(repo.path, cases=10, correct=7, min_pass_rate=0.5, gate=GATE)  # three cases regress
    repo.commit("feature: a worse model")
    done = run(repo, "--eval-tier=full")
    assert done.returncode == 1, done.stdout[-2000:]
    compared = comparison(repo)
    assert compared["verdict"] == "FAIL" and sorted(compared["worse_cases"]) == ["case-007", "case-008", "case-009"]  # type: ignore[arg-type]
    assert str(compared["source"]).startswith(f"the merge base {base[:12]}")


def test_without_a_run_at_the_merge_base_the_base_branch_stands_in_and_says_so(repo: GitRepo) -> None:
    assert run(repo, "--eval-tier=full").returncode == 0  # main's run, then main moves on
    repo.write("README.md", "docs\n")
    repo.commit("main: docs")
    repo.git("checkout", "-q", "-b", "feature")
    write_project(repo.path, cases=10, correct=10, min_pass_rate=0.5, gate=GATE)
    repo.write("notes.txt", "a feature\n")
    repo.commit("feature: nothing worse")
    assert run(repo, "--eval-tier=full").returncode == 0
    compared = comparison(repo)
    assert compared["verdict"] == "PASS" and "the newest complete run on main" in str(compared["source"])
    assert "none at merge base" in str(compared["source"])


def test_no_complete_run_of_the_base_is_a_clear_undecided_not_a_pass(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "-b", "feature")
    done = run(repo, "--eval-tier=full")
    assert done.returncode == 0  # undecided warns by default: it does not block, and it is said
    suite = json.loads((repo.path / "out" / "results.json").read_text())["suites"][0]
    assert suite["verdict"] == "UNDECIDED" and "no complete run of main in" in suite["reason"], suite["reason"]
    assert "run the full tier there with the cache on" in done.stdout
