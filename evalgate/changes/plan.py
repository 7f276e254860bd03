"""Rules + a change set → a change class → a tier per suite, with the reasons. Pure.

How rules combine: for each changed path, the *first* matching rule decides its class —
your ``[[tool.evalgate.rules]]`` in order, then the built-in rules, then ``minor``. A
rename counts both its paths (the larger class wins). The change's class is the largest
over its files: ``ignore`` < ``minor`` < ``targeted`` < ``major``; several targeted
files add up their concerns. Doubt (a fallback reason, or a change larger than the
limits) makes the change ``major``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from evalgate.changes.git import ChangeSet, EventInfo, FileChange
from evalgate.config import ChangesConfig, RuleConfig

CLASS_ORDER = {"none": 0, "ignore": 0, "minor": 1, "targeted": 2, "major": 3}
TIER_FOR = {"minor": "smoke", "targeted": "deep-dive", "major": "full"}
LISTED_FILES = 20

DEFAULT_MAJOR = (
    "pyproject.toml", "setup.py", "setup.cfg", "requirements*.txt", "requirements/**",
    "constraints*.txt", "poetry.lock", "uv.lock", "pdm.lock", "Pipfile", "Pipfile.lock",
    "environment.yml", "package-lock.json", "yarn.lock", "evalgate.toml",
)
DEFAULT_IGNORE = ("docs/**", "*.md", "*.rst", "LICENSE*", "CHANGELOG*", "AUTHORS*")
OVERRIDE_TRAILER = re.compile(r"^Eval-Tier:\s*(\S+)\s*$", re.IGNORECASE | re.MULTILINE)
LABEL_PREFIX = "eval-tier:"


@dataclass(frozen=True)
class Rule:
    """A compiled rule with a name for reasons."""

    globs: tuple[str, ...]
    change: str
    concern: str | None
    origin: str
    """``rule 'prompts/safety/**'`` or ``built-in rule '*.md'``, for reasons."""

    def matches(self, path: str) -> str | None:
        """The glob that matches ``path``, or None."""
        return next((glob for glob in self.globs if _glob_regex(glob).fullmatch(path)), None)


@dataclass(frozen=True)
class SuiteInfo:
    """What the planner needs of a suite."""

    name: str
    concerns: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """The decision: a change class, a tier per suite, and why."""

    change: str
    tier: str | None
    suites: dict[str, str | None]
    reasons: tuple[str, ...]
    base: str | None
    head: str | None
    fallback: bool
    override: str | None = None
    files: tuple[str, ...] = field(default=())
    """One line per changed file with its class and rule (capped), for the text format."""

    def to_json(self) -> dict[str, object]:
        """The ``evalgate plan --format json`` document."""
        return {
            "change": self.change,
            "tier": self.tier or "none",
            "suites": {name: tier or "none" for name, tier in self.suites.items()},
            "reasons": list(self.reasons),
            "base": self.base,
            "head": self.head,
            "fallback": self.fallback,
            "override": self.override,
        }


def build_rules(
    user_rules: Sequence[RuleConfig], project_major: Iterable[str], use_defaults: bool
) -> list[Rule]:
    """User rules first, then (if enabled) the project's own files and the built-ins."""
    rules = [
        Rule(tuple(rule.paths), rule.change, rule.concern, f"rule '{', '.join(rule.paths)}'")
        for rule in user_rules
    ]
    if use_defaults:
        for glob in project_major:
            rules.append(Rule((glob,), "major", None, f"built-in rule for evalgate inputs '{glob}'"))
        rules.extend(Rule((glob,), "major", None, f"built-in rule '{glob}'") for glob in DEFAULT_MAJOR)
        rules.extend(Rule((glob,), "ignore", None, f"built-in rule '{glob}'") for glob in DEFAULT_IGNORE)
    return rules


def classify(path: str, rules: Sequence[Rule]) -> tuple[str, str | None, str]:
    """``(class, concern, origin)`` of one path: the first matching rule, else minor."""
    for rule in rules:
        if rule.matches(path):
            return rule.change, rule.concern, rule.origin
    return "minor", None, "no rule matched (default minor)"


def plan_change(
    changes: ChangeSet,
    rules: Sequence[Rule],
    suites: Sequence[SuiteInfo],
    limits: ChangesConfig,
    relative: Mapping[str, str] | None = None,
) -> Plan:
    """Classify the change set and choose a tier per suite.

    ``relative`` maps repository paths to the paths rules are written against (the
    project directory's view); missing entries are used as they are.
    """
    relative = relative or {}
    reasons: list[str] = []
    lines: list[str] = []
    change = "none"
    concerns: set[str] = set()
    for file in changes.files:
        klass, concern, origin = "ignore", None, ""
        for path in file.paths:
            found = classify(relative.get(path, path), rules)
            if CLASS_ORDER[found[0]] >= CLASS_ORDER[klass]:
                klass, concern, origin = found
        if klass == "targeted" and concern:
            concerns.add(concern)
        if CLASS_ORDER[klass] > CLASS_ORDER[change]:
            change = klass
        label = f"{klass} ({concern})" if concern else klass
        lines.append(f"{_describe(file)}: {label} by {origin}")

    fallback = bool(changes.fallback_reasons)
    reasons.extend(f"unsure, so the full tier: {reason}" for reason in changes.fallback_reasons)
    reasons.extend(changes.notes)
    if not fallback and len(changes.files) > limits.max_files:
        reasons.append(f"{len(changes.files)} files changed, more than max_files = {limits.max_files}: major")
        change = "major"
    elif not fallback and changes.lines_changed > limits.max_lines:
        reasons.append(
            f"{changes.lines_changed} lines changed, more than max_lines = {limits.max_lines}: major"
        )
        change = "major"
    if fallback:
        change = "major"
    elif change in ("minor", "targeted", "major"):
        decisive = [line for line in lines if line.split(": ", 1)[1].startswith(change)]
        reasons.extend(decisive[:LISTED_FILES])
        if len(decisive) > LISTED_FILES:
            reasons.append(f"… and {len(decisive) - LISTED_FILES} more {change} file(s)")
    else:
        reasons.append(
            "no relevant change: every changed file is ignored by the rules"
            if changes.files
            else "no relevant change: no files changed"
        )

    per_suite = _tiers(change, concerns, suites)
    reasons.append(_summary(change, concerns, per_suite))
    return Plan(
        change=change,
        tier=TIER_FOR.get(change),
        suites=per_suite,
        reasons=tuple(reasons),
        base=changes.base,
        head=changes.head,
        fallback=fallback,
        files=tuple(lines),
    )


def find_override(
    cli_tier: str | None, env: Mapping[str, str], event: EventInfo | None, head_message: str
) -> tuple[str, str] | None:
    """``(tier, where it came from)`` when an override applies; the first of:
    ``--eval-tier NAME``, ``EVALGATE_TIER``, a PR label ``eval-tier:NAME``, a trailer
    ``Eval-Tier: NAME`` in the head commit message. ``auto`` is not an override."""
    if cli_tier and cli_tier != "auto":
        return cli_tier, f"--eval-tier {cli_tier}"
    from_env = env.get("EVALGATE_TIER", "").strip()
    if from_env and from_env != "auto":
        return from_env, f"EVALGATE_TIER={from_env}"
    for label in event.labels if event else ():
        if label.lower().startswith(LABEL_PREFIX):
            tier = label[len(LABEL_PREFIX) :].strip()
            return tier, f"pull request label '{label}'"
    trailer = OVERRIDE_TRAILER.findall(head_message)
    if trailer:
        return trailer[-1], f"commit trailer 'Eval-Tier: {trailer[-1]}'"
    return None


def override_plan(plan: Plan, tier: str, origin: str, suites: Mapping[str, str | None]) -> Plan:
    """The plan an override imposes, keeping what the analysis found as reasons."""
    return Plan(
        change=plan.change,
        tier=tier,
        suites=dict(suites),
        reasons=(f"override: {origin} wins over the analysis", *plan.reasons),
        base=plan.base,
        head=plan.head,
        fallback=plan.fallback,
        override=origin,
        files=plan.files,
    )


def _tiers(change: str, concerns: set[str], suites: Sequence[SuiteInfo]) -> dict[str, str | None]:
    if change == "targeted":
        return {s.name: "deep-dive" if concerns & set(s.concerns) else "smoke" for s in suites}
    return {s.name: TIER_FOR.get(change) for s in suites}


def _summary(change: str, concerns: set[str], per_suite: Mapping[str, str | None]) -> str:
    if change == "targeted":
        deep = [name for name, tier in per_suite.items() if tier == "deep-dive"]
        listed = ", ".join(deep) if deep else "no suite has that concern"
        return (
            f"change is targeted ({', '.join(sorted(concerns))}): deep-dive for {listed}; "
            f"smoke for the rest"
        )
    if change == "none":
        return "change is none: no eval suites run; gates report 'skipped: no relevant change'"
    return f"change is {change}: {TIER_FOR[change]} tier for every suite"


def _describe(file: FileChange) -> str:
    path = f"{file.old_path} → {file.path}" if file.old_path else file.path
    extra = []
    if file.binary:
        extra.append("binary")
    if file.submodule:
        extra.append("submodule")
    if file.mode_only:
        extra.append("mode only")
    detail = f" [{', '.join(extra)}]" if extra else f" +{file.added} -{file.deleted}"
    return f"{path} ({file.status}){detail}"


@lru_cache(maxsize=4096)
def _glob_regex(glob: str) -> re.Pattern[str]:
    """Compile a path glob: ``**`` crosses folders, ``*`` and ``?`` do not; a glob without
    ``/`` matches a file name in any folder; a trailing ``/`` means everything below."""
    if glob.endswith("/"):
        glob += "**"
    if "/" not in glob:
        glob = "**/" + glob
    out = []
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif glob.startswith("**", index):
            out.append(".*")
            index += 2
        elif glob[index] == "*":
            out.append("[^/]*")
            index += 1
        elif glob[index] == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(glob[index]))
            index += 1
    return re.compile("".join(out))
