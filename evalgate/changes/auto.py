"""``--eval-tier=auto`` and ``evalgate plan``: a project's change → its plan.

Glue between the project (which files are evalgate's own inputs), the change analyzer
and the pure planner; overrides are applied last, so they always win.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from evalgate.blocks import blocks_of
from evalgate.changes.git import ChangeSet, collect_changes, open_repo
from evalgate.changes.plan import Plan, SuiteInfo, UsageMaps, find_override, override_plan, plan_change
from evalgate.changes.rules import build_rules
from evalgate.config import RecordedModelConfig
from evalgate.project import Project, Suite


def plan_for_project(
    project: Project,
    base: str | None = None,
    env: Mapping[str, str] | None = None,
    cli_tier: str | None = None,
    include_worktree: bool | None = None,
    maps: UsageMaps | None = None,
    maps_note: str | None = None,
) -> Plan:
    """Analyse the project's repository and plan a tier per suite; with ``maps`` (the
    suites' recorded dependencies), files no rule names go to the suites that use them.
    ``maps_note`` says why there are none, when there are none."""
    env = os.environ if env is None else env
    changes = collect_changes(project.root, base, env, include_worktree)
    if maps is None and maps_note:
        changes = replace(changes, notes=(*changes.notes, maps_note))
    if maps is not None:
        maps = replace(maps, changed_blocks=changed_blocks(project, changes, maps))
    plan = _plan(project, changes, maps)
    found = find_override(cli_tier, env, changes.event, changes.head_message)
    if found is None:
        return plan
    wanted = project.assign_tier(found.tier)
    lowered = _lowered(project, plan.suites, wanted)
    if lowered and found.from_the_change and not project.config.changes.allow_downgrade:
        refused = (
            f"override ignored: {found.origin} would run less than the change needs ({lowered}); "
            f"a label or commit trailer may only raise the tier (allow_downgrade = true in [tool.evalgate.changes] allows it)"
        )
        return replace(plan, override_note=refused)
    lowering = f"OVERRIDE LOWERS THE TIER: {found.origin} runs less than the change needs ({lowered})" if lowered else None
    return override_plan(plan, found.tier, found.origin, wanted, lowering)


def _lowered(project: Project, analysed: Mapping[str, str | None], wanted: Mapping[str, str | None]) -> str | None:
    """Which suites an override would run with fewer case runs, or gate at a looser α, than
    the analysis chose, or None."""
    fewer = []
    for suite in project.suites:
        before, after = analysed.get(suite.name), wanted.get(suite.name)
        if before is None:
            continue
        if after is None or _case_runs(project, suite, after) < _case_runs(project, suite, before):
            fewer.append(f"{suite.name}: {after or 'skipped'} instead of {before}")
        elif _alpha(project, suite, after) > _alpha(project, suite, before):
            looser = f"α = {_alpha(project, suite, after):g} instead of {_alpha(project, suite, before):g}"
            fewer.append(f"{suite.name}: {after} instead of {before} ({looser})")
    return "; ".join(fewer) or None


def _case_runs(project: Project, suite: Suite, tier_name: str) -> int:
    tier = project.tier(tier_name)
    return tier.size(len(suite.cases)) * tier.runs_per_case(suite.adapter.deterministic)


def _alpha(project: Project, suite: Suite, tier_name: str) -> float:
    """The α the suite's gate decides at in a tier (a tier can only tighten it)."""
    tier, gate = project.tier(tier_name), suite.config.gate
    return min(gate.alpha, tier.alpha) if tier.alpha is not None else gate.alpha


def evalgate_inputs(project: Project) -> list[str]:
    """Globs (relative to the project directory) of files that define the evals: a change
    to any of them is major."""
    globs = [project.config_path.name, f"{project.config.tiers_dir}/**", *project.config.suites]
    globs += project.config.components
    for suite in project.suites:
        globs.append(suite.config.dataset.path)
        globs += suite.config.components
        globs += suite.model.components
        if isinstance(suite.model, RecordedModelConfig):
            globs.append(suite.model.path)
    return [glob.removeprefix("./") for glob in dict.fromkeys(globs)]


def _plan(project: Project, changes: ChangeSet, maps: UsageMaps | None = None) -> Plan:
    rules = build_rules(project.config.rules, evalgate_inputs(project), project.config.changes.default_rules)
    suites = [SuiteInfo(suite.name, tuple(suite.config.concerns)) for suite in project.suites]
    plan = plan_change(changes, rules, suites, project.config.changes, _relative_paths(project, changes), maps)
    return _only_in_their_tiers(project, plan)


def _only_in_their_tiers(project: Project, plan: Plan) -> Plan:
    """Suites that run only in some tiers (``tiers = ["deep-dive"]``) leave the plan elsewhere,
    and the plan says what the deep dive adds: each suite, its case runs and its α."""
    assigned = dict(plan.suites)
    notes = list(plan.notes)
    for suite in project.suites:
        tier_name, only = assigned.get(suite.name), suite.config.tiers
        if tier_name is None:
            continue
        if only is not None and tier_name not in only:
            assigned[suite.name] = None
            notes.append(f"{suite.name} runs only in the {' / '.join(only)} tier: not at {tier_name}")
        elif tier_name == "deep-dive":
            tier = project.tier(tier_name)
            alpha = _alpha(project, suite, tier_name)
            runs = tier.size(len(suite.cases)) * tier.runs_per_case(suite.adapter.deterministic)
            concern = f" (concern {', '.join(suite.config.concerns)})" if suite.config.concerns else ""
            variants = f" with variants {', '.join(tier.variants)}" if tier.variants else ""
            notes.append(f"the deep dive adds {suite.name}{concern}: {runs} case runs{variants}, gate at α = {alpha:g}")
    return replace(plan, suites=assigned, notes=tuple(notes))


def changed_blocks(project: Project, changes: ChangeSet, maps: UsageMaps) -> dict[str, frozenset[str] | None]:
    """For each changed Python file some suite was recorded running part of: the blocks
    (:mod:`evalgate.blocks`) whose source differs between the base and the head (the working
    tree when it is part of the change). A file added, deleted or renamed counts whole."""
    wanted = {path for used in maps.files.values() for path, blocks in used.items() if blocks is not None}
    relative = _relative_paths(project, changes)
    repo = open_repo(project.root)
    top = Path(repo.working_tree_dir or project.root)
    found: dict[str, frozenset[str] | None] = {}
    for change in changes.files:
        local = relative.get(change.path, change.path)
        if local not in wanted or change.old_path is not None or changes.base is None:
            continue
        before = _show(repo, changes.base, change.path)
        after = _read(top / change.path) if changes.worktree else _show(repo, changes.head, change.path)
        if before is None or after is None:
            found[local] = None
            continue
        old, new = blocks_of(before).digests, blocks_of(after).digests
        found[local] = frozenset(name for name in {*old, *new} if old.get(name) != new.get(name))
    return found


def _show(repo: Any, revision: str | None, path: str) -> bytes | None:
    if revision is None:
        return None
    try:
        return bytes(repo.git.show(f"{revision}:{path}", stdout_as_string=False))
    except Exception:  # noqa: BLE001 - GitCommandError: not in that revision
        return None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _relative_paths(project: Project, changes: ChangeSet) -> dict[str, str]:
    """Repository paths → paths relative to the project directory (rules are written
    from there); identical when the config sits at the repository root."""
    top = Path(open_repo(project.root).working_tree_dir or project.root).resolve()
    if top == project.root:
        return {}
    mapping = {}
    for change in changes.files:
        for path in change.paths:
            mapping[path] = os.path.relpath(top / path, project.root).replace(os.sep, "/")
    return mapping
