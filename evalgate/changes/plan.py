"""A change set + rules → a change class → a tier per suite, with the reasons. Pure.

The change's class is the largest over its files (``none`` < ``minor`` < ``targeted`` <
``major``, see :class:`~evalgate.changes.rules.ChangeClass`); a rename counts both its
paths; several targeted files add up their concerns. Doubt (a fallback reason, or a
change larger than the limits) makes the change ``major``. The plan keeps its evidence as
data — per-file decisions, fallback reasons, notes — and renders reasons from them, so no
consumer ever parses a reason back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from evalgate.changes.bases import EventInfo
from evalgate.changes.git import ChangeSet, FileChange
from evalgate.changes.rules import DEFAULT_ORIGIN, ChangeClass, Rule, RuleClass, classify
from evalgate.config import ChangesConfig
from evalgate.untrusted import one_line

TIER_FOR = {ChangeClass.MINOR: "smoke", ChangeClass.TARGETED: "deep-dive", ChangeClass.MAJOR: "full"}
DEPTH = ("smoke", "full", "deep-dive")
"""The built-in tiers from shallowest to deepest: a plan's headline tier is its deepest."""
LISTED_FILES = 20
OVERRIDE_TRAILER = re.compile(r"^Eval-Tier:\s*(\S+)\s*$", re.IGNORECASE | re.MULTILINE)
LABEL_PREFIX = "eval-tier:"


@dataclass(frozen=True)
class SuiteInfo:
    """What the planner needs of a suite."""

    name: str
    concerns: tuple[str, ...]


@dataclass(frozen=True)
class UsageMaps:
    """Which project files (and which blocks of Python files) each suite was last recorded
    using (from the result store)."""

    files: Mapping[str, Mapping[str, frozenset[str] | None]]
    """Suite → project-relative path it used → the blocks of it that ran (None: the whole file)."""
    note: str
    """Where the maps come from, for the plan's reasons."""
    libraries: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Suite → libraries its code ran whose installed version differs from the recorded one
    (``pluggy 1.5.0 → 1.6.0``): a major change for that suite, whatever files changed."""
    changed_blocks: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    """Changed Python file (project-relative) → the blocks the change touched (None, or not
    listed: treat the whole file as changed)."""

    def uses(self, suite: str, path: str) -> bool:
        """Whether the change to ``path`` touches what ``suite`` was recorded using."""
        used = self.files.get(suite, {})
        if path not in used:
            return False
        blocks, changed = used[path], self.changed_blocks.get(path)
        return blocks is None or changed is None or bool(blocks & changed)


@dataclass(frozen=True)
class FileDecision:
    """How one changed file was classed, and by which rule."""

    file: FileChange
    rule_class: RuleClass
    concern: str | None
    origin: str
    """``rule 'prompts/safety/**'``, ``built-in rule '*.md'``, the recorded dependencies or the default."""
    suites: tuple[str, ...] = ()
    """For a file some suites were recorded using: those suites."""

    @property
    def change(self) -> ChangeClass:
        return ChangeClass.of_rule(self.rule_class)

    def to_json(self) -> dict[str, object]:
        """One entry of the plan document's ``files``."""
        return {
            "path": self.file.path, "old_path": self.file.old_path, "status": self.file.status,
            "class": str(self.change), "concern": self.concern, "suites": list(self.suites), "by": self.origin,
        }

    def line(self) -> str:
        """``prompts/safety/system.txt (M) +1 -1: targeted (safety) by rule '…'``."""
        label = f"{self.rule_class} ({self.concern})" if self.concern else self.rule_class
        if self.suites:
            label = f"{self.rule_class} ({', '.join(self.suites)})"
        return f"{_describe(self.file)}: {label} by {self.origin}"


@dataclass(frozen=True)
class Plan:
    """The decision: a change class, a tier per suite, and the evidence for it."""

    change: ChangeClass
    tier: str | None
    suites: dict[str, str | None]
    base: str | None
    head: str | None
    decisions: tuple[FileDecision, ...] = ()
    """Every changed file with its class and rule."""
    fallback_reasons: tuple[str, ...] = ()
    """Why the change set cannot be trusted (the plan then runs the full tier)."""
    notes: tuple[str, ...] = ()
    """Facts worth printing: uncommitted files included, size limits exceeded."""
    concerns: tuple[str, ...] = ()
    """Concerns that targeted files touched."""
    deep_dive: tuple[str, ...] = ()
    """Suites the analysis gave the deep dive (those with a touched concern)."""
    narrowed: tuple[str, ...] = ()
    """Suites a targeted change runs at ``full``: reached through what they were recorded
    using (a file, or a library installed at another version), not through a concern."""
    override: str | None = None
    """Where an override came from (``--eval-tier smoke``), when one applies."""
    override_note: str | None = None
    """Said loudly with the plan: an override that lowers the tier, or one that was refused."""
    base_source: str = ""
    """How the base was found ("merge base of GitLab MR diff base 1a2b3c4d5e6f and HEAD")."""

    @property
    def fallback(self) -> bool:
        """True when doubt, not the files, chose the tier."""
        return bool(self.fallback_reasons)

    @property
    def files(self) -> tuple[str, ...]:
        """One line per changed file with its class and rule, for the text format."""
        return tuple(decision.line() for decision in self.decisions)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why, in reading order: override, doubt, notes, the deciding files, the summary."""
        reasons: list[str] = []
        if self.override_note:
            reasons.append(self.override_note)
        if self.override:
            reasons.append(f"override: {self.override} wins over the analysis")
        reasons.extend(f"unsure, so the full tier: {reason}" for reason in self.fallback_reasons)
        reasons.extend(self.notes)
        if not self.fallback:
            reasons.extend(self._deciding_files())
        reasons.append(self._summary())
        return tuple(reasons)

    def to_json(self) -> dict[str, object]:
        """The ``evalgate plan --format json`` document."""
        return {
            "change": str(self.change),
            "tier": self.tier or "none",
            "suites": {name: tier or "none" for name, tier in self.suites.items()},
            "reasons": list(self.reasons),
            "base": self.base,
            "base_source": self.base_source,
            "head": self.head,
            "fallback": self.fallback,
            "override": self.override,
            "override_note": self.override_note,
            "files": [decision.to_json() for decision in self.decisions],
        }

    def _deciding_files(self) -> list[str]:
        if self.change == ChangeClass.NONE:
            return [
                "no relevant change: every changed file is ignored by the rules"
                if self.decisions
                else "no relevant change: no files changed"
            ]
        deciding = [decision.line() for decision in self.decisions if decision.change == self.change]
        lines = deciding[:LISTED_FILES]
        if len(deciding) > LISTED_FILES:
            lines.append(f"… and {len(deciding) - LISTED_FILES} more {self.change} file(s)")
        return lines

    def _summary(self) -> str:
        analysed = TIER_FOR.get(self.change)
        if self.change == ChangeClass.TARGETED:
            what = ", ".join(self.concerns) or "files some suites use"
            parts = []
            if self.concerns or not self.narrowed:
                parts.append(f"deep-dive for {', '.join(self.deep_dive) if self.deep_dive else 'no suite has that concern'}")
            if self.narrowed:
                parts.append(f"full tier for {', '.join(self.narrowed)} (recorded dependencies choose which suites run, not how deep)")
            return f"change is targeted ({what}): {'; '.join(parts)}; smoke for the rest"
        if self.change == ChangeClass.NONE:
            return "change is none: no eval suites run; gates report 'skipped: no relevant change'"
        return f"change is {self.change}: {analysed} tier for every suite"


def plan_change(
    changes: ChangeSet,
    rules: Sequence[Rule],
    suites: Sequence[SuiteInfo],
    limits: ChangesConfig,
    relative: Mapping[str, str] | None = None,
    maps: UsageMaps | None = None,
) -> Plan:
    """Classify the change set and choose a tier per suite.

    ``relative`` maps repository paths to the paths rules are written against (the
    project directory's view); missing entries are used as they are. With ``maps`` (every
    suite's recorded files), a file no rule names is classed by who uses it: some suites →
    targeted at them; every suite → major; none → minor, served from the cache.
    """
    relative = relative or {}
    decisions = tuple(_decide(file, rules, relative, maps, [s.name for s in suites]) for file in changes.files)
    change = max((decision.change for decision in decisions), key=lambda c: c.rank, default=ChangeClass.NONE)
    concerns = sorted({d.concern for d in decisions if d.rule_class == "targeted" and d.concern})
    users = sorted({suite for d in decisions if d.rule_class == "targeted" for suite in d.suites})
    notes = list(changes.notes)
    if changes.base and changes.base_source:
        notes.insert(0, f"base: {changes.base_source} ({changes.base[:12]})")
    if maps is not None:
        notes.append(maps.note)
    if not changes.fallback_reasons:
        if len(changes.files) > limits.max_files:
            notes.append(f"{len(changes.files)} files changed, more than max_files = {limits.max_files}: major")
            change = ChangeClass.MAJOR
        elif changes.lines_changed > limits.max_lines:
            notes.append(f"{changes.lines_changed} lines changed, more than max_lines = {limits.max_lines}: major")
            change = ChangeClass.MAJOR
    else:
        change = ChangeClass.MAJOR
    upgraded = [s.name for s in suites if maps is not None and maps.libraries.get(s.name)]
    for name in upgraded:
        assert maps is not None
        notes.append(f"{name} runs upgraded libraries ({', '.join(maps.libraries[name])}): major for {name}, full tier")
    if upgraded:
        change = ChangeClass.MAJOR if len(upgraded) == len(suites) else max(change, ChangeClass.TARGETED, key=lambda c: c.rank)
    per_suite = _tiers(change, set(concerns), suites, set(users))
    per_suite.update({name: "full" for name in upgraded})
    narrowed = tuple(name for name, tier in per_suite.items() if tier == "full")
    return Plan(
        change=change,
        tier=_headline_tier(change, per_suite, bool(concerns)),
        suites=per_suite,
        base=changes.base,
        head=changes.head,
        decisions=decisions,
        fallback_reasons=changes.fallback_reasons,
        notes=tuple(notes),
        concerns=tuple(concerns),
        deep_dive=tuple(name for name, tier in per_suite.items() if tier == "deep-dive"),
        narrowed=narrowed if change == ChangeClass.TARGETED else (),
        base_source=changes.base_source,
    )


def _headline_tier(change: ChangeClass, per_suite: Mapping[str, str | None], concerns: bool) -> str | None:
    """The tier a plan announces: for a targeted change, the deepest any suite runs (a change
    that reached suites only through recorded dependencies runs them at ``full``); a targeted
    rule whose concern no suite has still announces the deep dive it asked for."""
    if change != ChangeClass.TARGETED or concerns:
        return TIER_FOR.get(change)
    ran = [tier for tier in per_suite.values() if tier in DEPTH]
    return max(ran, key=DEPTH.index, default=TIER_FOR.get(change))


@dataclass(frozen=True)
class Override:
    """A tier asked for by a person, not by the analysis."""

    tier: str
    origin: str
    """For reasons: ``--eval-tier smoke``, ``pull request label 'eval-tier:full'``, …"""
    source: Literal["cli", "env", "label", "trailer"]

    @property
    def from_the_change(self) -> bool:
        """A label or a commit trailer: set by whoever wrote the change, not the job."""
        return self.source in ("label", "trailer")


def find_override(cli_tier: str | None, env: Mapping[str, str], event: EventInfo | None, head_message: str) -> Override | None:
    """The override that applies, the first of: ``--eval-tier NAME``, ``EVALGATE_TIER``, a PR
    label ``eval-tier:NAME``, a trailer ``Eval-Tier: NAME`` in the head commit message.
    ``auto`` is not an override."""
    if cli_tier and cli_tier != "auto":
        return Override(cli_tier, f"--eval-tier {cli_tier}", "cli")
    from_env = env.get("EVALGATE_TIER", "").strip()
    if from_env and from_env != "auto":
        return Override(from_env, f"EVALGATE_TIER={from_env}", "env")
    for label in event.labels if event else ():
        if label.lower().startswith(LABEL_PREFIX):
            tier = label[len(LABEL_PREFIX) :].strip()
            kind = "merge request" if event is not None and event.name.startswith("GitLab") else "pull request"
            return Override(tier, f"{kind} label '{label}'", "label")
    trailer = OVERRIDE_TRAILER.findall(head_message)
    if trailer:
        return Override(trailer[-1], f"commit trailer 'Eval-Tier: {trailer[-1]}'", "trailer")
    return None


def override_plan(plan: Plan, tier: str, origin: str, suites: Mapping[str, str | None], note: str | None = None) -> Plan:
    """The plan an override imposes, keeping what the analysis found as evidence."""
    return Plan(
        change=plan.change,
        tier=tier,
        suites=dict(suites),
        base=plan.base,
        head=plan.head,
        decisions=plan.decisions,
        fallback_reasons=plan.fallback_reasons,
        notes=plan.notes,
        concerns=plan.concerns,
        deep_dive=plan.deep_dive,
        narrowed=plan.narrowed,
        override=origin,
        override_note=note,
        base_source=plan.base_source,
    )


def _decide(
    file: FileChange, rules: Sequence[Rule], relative: Mapping[str, str], maps: UsageMaps | None, names: Sequence[str]
) -> FileDecision:
    """The class of a changed file: the larger over its paths (both sides of a rename). A
    rule decides; where none does, the recorded maps do; without maps, ``minor``."""
    best: FileDecision | None = None
    for path in file.paths:
        local = relative.get(path, path)
        rule_class, concern, origin = classify(local, rules)
        found = FileDecision(file, rule_class, concern, origin)
        if origin == DEFAULT_ORIGIN and maps is not None:
            found = _by_usage(file, local, maps, names)
        if best is None or found.change.rank > best.change.rank or (
            found.change == best.change and len(found.suites) > len(best.suites)
        ):
            best = found  # the first path's decision stands unless a later one is larger: never an empty "by"
    assert best is not None, "a changed file has at least one path"
    return best


def _by_usage(file: FileChange, path: str, maps: UsageMaps, names: Sequence[str]) -> FileDecision:
    users = tuple(name for name in names if maps.uses(name, path))
    if not users:
        what = "what changed in" if any(path in maps.files.get(name, {}) for name in names) else ""
        return FileDecision(file, "minor", None, f"the recorded dependencies: no suite uses {what + ' ' if what else ''}{path}")
    if len(users) == len(names):
        return FileDecision(file, "major", None, f"the recorded dependencies: every suite uses {path}")
    return FileDecision(file, "targeted", None, "the recorded dependencies", users)


def _tiers(change: ChangeClass, concerns: set[str], suites: Sequence[SuiteInfo], users: set[str] | None = None) -> dict[str, str | None]:
    """A targeted change gives the deep dive to suites with a touched concern (a person
    declared that concern worth digging into) and the full tier to suites reached only
    through the recorded dependencies (the rules alone would have run every suite at full:
    the maps narrow the suites, they do not deepen the run); the rest run smoke, which the
    cache answers when nothing they use changed."""
    if change == ChangeClass.TARGETED:
        users = users or set()
        return {
            s.name: "deep-dive" if concerns & set(s.concerns) else "full" if s.name in users else "smoke" for s in suites
        }
    return {s.name: TIER_FOR.get(change) for s in suites}


def _describe(file: FileChange) -> str:
    # File names come from the repository: a name may hold a line break or a workflow command.
    path = f"{one_line(file.old_path)} → {one_line(file.path)}" if file.old_path else one_line(file.path)
    extra = []
    if file.binary:
        extra.append("binary")
    if file.submodule:
        extra.append("submodule")
    if file.mode_only:
        extra.append("mode only")
    detail = f" [{', '.join(extra)}]" if extra else f" +{file.added} -{file.deleted}"
    return f"{path} ({file.status}){detail}"
