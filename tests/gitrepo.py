"""A real git repository in a temporary directory, driven with the git CLI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


class GitRepo:
    """Write files, commit, branch; every call is a real git command."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "protocol.file.allow", "always")

    def git(self, *args: str) -> str:
        return run_git(self.path, *args)

    def write(self, relative: str, text: str | bytes = "x\n") -> Path:
        path = self.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


def run_git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a fixed identity; its stdout, or RuntimeError."""
    env = {**os.environ, **GIT_ENV}
    run = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"git {' '.join(args)} failed: {run.stderr}")
    return run.stdout.strip()


CI_REF_VARIABLES = ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "GITHUB_REF", "CI_COMMIT_BRANCH", "GITHUB_EVENT_PATH", "CI_DEFAULT_BRANCH")
"""What CI sets to name a run's ref and the default branch: cleared, git's branch names them."""


def committed_project(path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """The project written at ``path``, committed on ``main`` of a new repository (evalgate's
    output and caches ignored), with CI's ref variables cleared: a run's ref is git's branch."""
    for name in CI_REF_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    repo = GitRepo(path)
    repo.write(".gitignore", ".evalgate/\n__pycache__/\n.pytest_cache/\n")
    repo.commit("initial")
    return repo
