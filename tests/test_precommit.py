"""The pre-commit framework hook (`.pre-commit-hooks.yaml`), run by the real `pre-commit`
against a real repository: installed as a pre-push hook, it runs the tier the change needs,
prints the verdict table, blocks the push of a change that fails a gate, and lets a good one
through. (pre-commit installs evalgate into its own environment from a copy of this
repository, as it would from GitHub: the first run takes a while.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, write_project
from gitrepo import GIT_ENV, GitRepo, run_git


def hook_repository(where: Path) -> tuple[Path, str]:
    """This repository as pre-commit would clone it: every tracked (and new, not ignored) file,
    committed; its path and revision."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            target = where / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    hooks = GitRepo(where)
    return where, hooks.commit("evalgate, as a hook repository")


def test_the_pre_push_hook_blocks_a_failing_change_and_lets_a_good_one_through(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("no git")
    pytest.importorskip("pre_commit")
    hooks, rev = hook_repository(tmp_path / "evalgate")
    remote = tmp_path / "remote.git"
    run_git(tmp_path, "init", "-q", "--bare", str(remote))
    app = GitRepo(tmp_path / "app")
    write_project(app.path, cases=10, correct=10, min_pass_rate=0.8)
    app.write(".gitignore", ".evalgate/\n__pycache__/\n")
    app.write(".pre-commit-config.yaml", f"repos:\n  - repo: file://{hooks}\n    rev: {rev}\n    hooks:\n      - id: evalgate\n")
    app.commit("an app with evals")
    app.git("remote", "add", "origin", str(remote))
    app.git("push", "-q", "origin", "main")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "EVALGATE_", "CI", "PYTEST_"))},
           **GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    subprocess.run([sys.executable, "-m", "pre_commit", "install", "--hook-type", "pre-push"],
                   cwd=app.path, env=env, check=True, capture_output=True)

    def push(branch: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "push", "origin", f"HEAD:{branch}"], cwd=app.path, env=env,
                              capture_output=True, text=True, timeout=900)

    app.git("checkout", "-q", "-b", "worse")
    write_project(app.path, cases=10, correct=3, min_pass_rate=0.8)  # the model gets worse
    app.commit("a worse model")
    blocked = push("worse")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output[-3000:]
    assert "evalgate (change-aware eval gates)" in output and "qa: FAIL" in output, output[-3000:]
    assert "worse" not in run_git(remote, "branch", "--list")  # the push did not happen

    app.git("checkout", "-q", "main")
    app.git("checkout", "-q", "-b", "fine")
    app.write("README.md", "docs only\n")
    app.commit("docs")
    allowed = push("fine")
    assert allowed.returncode == 0, (allowed.stdout + allowed.stderr)[-3000:]
    assert "fine" in run_git(remote, "branch", "--list")
