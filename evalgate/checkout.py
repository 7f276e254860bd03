"""Where a run stands in git: its commit and branch (recorded with each run in the store),
and — for ``baseline = "base"`` — the commit and branch its baseline should come from.

Plain ``git`` calls, no GitPython: this runs at the start of every run that uses the store.
Outside a git checkout everything is None and the run is recorded without them.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

DEFAULT_BRANCHES = ("origin/HEAD", "origin/main", "origin/master", "main", "master")
"""Where the base is looked for when nothing names it, in order."""


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def repository_root(root: Path) -> Path | None:
    """The top of the git checkout holding ``root``; None outside git."""
    top = _git(root, "rev-parse", "--show-toplevel")
    return Path(top) if top else None


def checkout_identity(root: Path, env: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """``(commit, branch)`` of the checkout: CI's own name for the branch when it has one
    (a pull request's head branch, a push's branch), else git's; None when unknown."""
    env = os.environ if env is None else env
    # One git call for both (each costs a process start, on every run that uses the store).
    commit, _, named = (_git(root, "rev-parse", "HEAD", "--abbrev-ref", "HEAD") or "").partition("\n")
    branch = env.get("GITHUB_HEAD_REF") or (
        env.get("GITHUB_REF_NAME") if env.get("GITHUB_REF", "").startswith("refs/heads/") else None
    ) or env.get("CI_COMMIT_BRANCH")
    if not branch:
        branch = named if named and named != "HEAD" else None
    return commit or None, branch


def baseline_anchor(root: Path, plan_base: str | None = None, env: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """``(merge base, base branch)``: the commit whose complete run is the best baseline (the
    plan's merge base when the run planned, else HEAD's merge base with the base branch),
    and the branch whose newest complete run stands in when that commit has none."""
    env = os.environ if env is None else env
    branch = env.get("GITHUB_BASE_REF") or env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
    ref = f"origin/{branch}" if branch else None
    if ref is None or _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}") is None:
        ref = next((c for c in DEFAULT_BRANCHES if _git(root, "rev-parse", "--verify", "--quiet", f"{c}^{{commit}}")), ref)
    if branch is None and ref is not None:
        resolved = _git(root, "rev-parse", "--abbrev-ref", ref) or ref
        branch = resolved.removeprefix("origin/")
    base = plan_base or (_git(root, "merge-base", "HEAD", ref) if ref else None)
    return base, branch


def run_ref(root: Path, env: Mapping[str, str] | None = None) -> str:
    """The ref a run's stored rows belong to: its branch (CI's name for it first), else
    ``detached@<commit>``, else ``local`` outside git."""
    commit, branch = checkout_identity(root, env)
    if branch:
        return branch
    return f"detached@{commit[:12]}" if commit else "local"


def default_branches(root: Path, env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The repository's default branch, as CI or the clone says: GitLab's ``CI_DEFAULT_BRANCH``,
    GitHub's event payload (``repository.default_branch``), ``origin/HEAD``; ``main`` and
    ``master`` when none says."""
    env = os.environ if env is None else env
    if env.get("CI_DEFAULT_BRANCH"):
        return (env["CI_DEFAULT_BRANCH"],)
    event = env.get("GITHUB_EVENT_PATH")
    if event:
        try:
            with open(event, encoding="utf-8") as handle:
                name = json.load(handle).get("repository", {}).get("default_branch")
        except (OSError, ValueError, AttributeError, RecursionError):
            name = None
        if isinstance(name, str) and name:
            return (name,)
    head = _git(root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if head and head.startswith("origin/"):
        return (head.removeprefix("origin/"),)
    return ("main", "master")
