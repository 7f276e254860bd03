"""Where the change's base comes from, on every CI system evalgate knows.

Read in this order (the first that says something wins; ``--base REV`` beats them all):

1. ``EVALGATE_BASE`` — a revision you name, on any CI or none;
2. GitHub Actions — the event payload (``GITHUB_EVENT_PATH``): pull request, merge group, push;
3. GitLab merge-request pipelines — ``CI_MERGE_REQUEST_DIFF_BASE_SHA`` (the MR's own diff
   base), else the target branch ``CI_MERGE_REQUEST_TARGET_BRANCH_NAME`` (fetched when the
   clone lacks it); merged-results and merge-train pipelines, whose checkout is the merge of
   the MR into its target, diff against ``CI_MERGE_REQUEST_TARGET_BRANCH_SHA``; labels
   (``CI_MERGE_REQUEST_LABELS``) carry ``eval-tier:NAME`` as on GitHub;
4. GitLab branch pipelines — ``CI_COMMIT_BEFORE_SHA`` (all zeros on a new branch: unsure);
5. Jenkins multibranch — ``CHANGE_TARGET`` (a change request's target branch), else
   ``GIT_PREVIOUS_SUCCESSFUL_COMMIT``;
6. Buildkite — ``BUILDKITE_PULL_REQUEST_BASE_BRANCH`` on pull-request builds.

Otherwise the default branch (``origin/HEAD``, ``origin/main``, …). Each source names itself
in the plan's reasons ("merge base of GitLab MR diff base 1a2b3c4d5e6f and HEAD").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalgate.errors import GitError

ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class EventInfo:
    """What the CI says about the change: a base commit or a base branch, and labels."""

    name: str
    """The event ("pull_request", "gitlab merge request", "jenkins change request", ...)."""
    base: str | None = None
    """The base commit (or any revision), when the CI names one."""
    head: str | None = None
    labels: tuple[str, ...] = ()
    base_branch: str | None = None
    """The base *branch*, when the CI names only that: resolved as ``origin/<branch>``,
    fetched when the clone lacks it."""
    source: str = ""
    """How the plan names where the base came from."""


def read_event(env: Mapping[str, str]) -> EventInfo | None:
    """The change's base and labels from the environment (see the module docstring)."""
    explicit = env.get("EVALGATE_BASE", "").strip()
    if explicit:
        return EventInfo("EVALGATE_BASE", explicit, source=f"EVALGATE_BASE {explicit}")
    for reader in (_github, _gitlab_merge_request, _gitlab_branch, _jenkins, _buildkite):
        event = reader(env)
        if event is not None:
            return event
    return None


def _github(env: Mapping[str, str]) -> EventInfo | None:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        payload: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        raise GitError(f"cannot read the GitHub event payload {path}: {type(err).__name__}") from None
    name = env.get("GITHUB_EVENT_NAME", "")
    if "pull_request" in payload and isinstance(payload["pull_request"], dict):
        pull = payload["pull_request"]
        labels = tuple(
            label["name"] for label in pull.get("labels", []) if isinstance(label, dict) and "name" in label
        )
        return _sha_event(name or "pull_request", pull.get("base", {}).get("sha"), pull.get("head", {}).get("sha"), labels)
    if "merge_group" in payload and isinstance(payload["merge_group"], dict):
        group = payload["merge_group"]
        return _sha_event(name or "merge_group", group.get("base_sha"), group.get("head_sha"))
    if "before" in payload or "after" in payload:
        return _sha_event(name or "push", payload.get("before"), payload.get("after"))
    return EventInfo(name or "unknown")


def _gitlab_merge_request(env: Mapping[str, str]) -> EventInfo | None:
    if not env.get("CI_MERGE_REQUEST_IID"):
        return None
    labels = tuple(label.strip() for label in env.get("CI_MERGE_REQUEST_LABELS", "").split(",") if label.strip())
    kind = env.get("CI_MERGE_REQUEST_EVENT_TYPE", "detached")
    target_sha = env.get("CI_MERGE_REQUEST_TARGET_BRANCH_SHA", "").strip()
    if kind in ("merged_result", "merge_train") and target_sha:
        name = "GitLab merge train" if kind == "merge_train" else "GitLab merged-results pipeline"
        return EventInfo(name, target_sha, labels=labels, source=f"{name} target {target_sha[:12]}")
    diff_base = env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA", "").strip()
    if diff_base:
        return EventInfo("GitLab merge request", diff_base, labels=labels, source=f"GitLab MR diff base {diff_base[:12]}")
    target = env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "").strip()
    if target:
        return EventInfo("GitLab merge request", labels=labels, base_branch=target, source=f"GitLab MR target branch {target}")
    return EventInfo("GitLab merge request", labels=labels)


def _gitlab_branch(env: Mapping[str, str]) -> EventInfo | None:
    if not env.get("GITLAB_CI") or "CI_COMMIT_BEFORE_SHA" not in env:
        return None
    before = env["CI_COMMIT_BEFORE_SHA"].strip()
    return EventInfo("GitLab branch pipeline", before or None, source=f"GitLab push before {before[:12]}")


def _jenkins(env: Mapping[str, str]) -> EventInfo | None:
    if not env.get("JENKINS_URL"):
        return None
    target = env.get("CHANGE_TARGET", "").strip()
    if target:
        return EventInfo("Jenkins change request", base_branch=target, source=f"Jenkins change target {target}")
    previous = env.get("GIT_PREVIOUS_SUCCESSFUL_COMMIT", "").strip()
    if previous:
        return EventInfo("Jenkins build", previous, source=f"Jenkins last successful build {previous[:12]}")
    return None


def _buildkite(env: Mapping[str, str]) -> EventInfo | None:
    if not env.get("BUILDKITE") or env.get("BUILDKITE_PULL_REQUEST", "false") == "false":
        return None
    target = env.get("BUILDKITE_PULL_REQUEST_BASE_BRANCH", "").strip()
    if not target:
        return None
    return EventInfo("Buildkite pull request", base_branch=target, source=f"Buildkite pull request base {target}")


def _sha_event(name: str, base: Any, head: Any, labels: tuple[str, ...] = ()) -> EventInfo:
    base = base if isinstance(base, str) else None
    return EventInfo(name, base, head if isinstance(head, str) else None, labels,
                     source=f"{name} base {base[:12]}" if base else "")
