"""Change rules: which class a changed path belongs to, and why.

For each path the *first* matching rule decides — the user's ``[[tool.evalgate.rules]]``
in order, then the built-ins, then ``minor``. A rule's ``paths`` are gitignore patterns,
matched by ``pathspec`` (the library black, mypy and others use for the same job) against
paths relative to the project directory: ``**`` crosses folders, ``*``, ``?`` and ``[ab]``
do not, a pattern without ``/`` matches a name in any folder, a leading ``/`` anchors it, a
trailing ``/`` means everything below, and ``!pattern`` takes paths back out of the rule.
Syntax gitignore does not have (``{a,b}``) is refused when the config is read
(:func:`evalgate.config.RuleConfig`), never silently unmatched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Literal

import pathspec

from evalgate.config import RuleConfig

RuleClass = Literal["ignore", "minor", "targeted", "major"]
"""What a rule makes a file: ``ignore`` (no eval needed) up to ``major`` (everything)."""

DEFAULT_MAJOR = (
    "pyproject.toml", "setup.py", "setup.cfg", "requirements*.txt", "requirements/**",
    "constraints*.txt", "poetry.lock", "uv.lock", "pdm.lock", "Pipfile", "Pipfile.lock",
    "environment.yml", "package-lock.json", "yarn.lock", "evalgate.toml",
)
DEFAULT_IGNORE = (
    "docs/**", "*.md", "*.rst", "LICENSE*", "CHANGELOG*", "AUTHORS*",
    ".evalgate/**", "evalgate-reports/**", "reports/**",
    "**/__pycache__/**", ".pytest_cache/**", ".mypy_cache/**", ".ruff_cache/**",
)
"""Never a change: documentation, evalgate's own output (the result store, reports), and the
caches Python and the test tools write. A ``__pycache__`` file only ever runs beside its
source, whose own change is what counts; untracked, they made a local ``evalgate plan`` of a
docs edit *minor* in a project that does not ignore them. (A sourceless ``module.pyc`` outside
``__pycache__`` can be the code itself and stays a change.)"""
DEFAULT_ORIGIN = "no rule matched (default minor)"


class ChangeClass(StrEnum):
    """A change's class, ordered ``none`` < ``minor`` < ``targeted`` < ``major``: the change
    is the largest class of its files, and doubt makes it ``major``."""

    NONE = "none"
    MINOR = "minor"
    TARGETED = "targeted"
    MAJOR = "major"

    @property
    def rank(self) -> int:
        """Position in the order (0 for ``none``)."""
        return list(ChangeClass).index(self)

    @classmethod
    def of_rule(cls, rule_class: RuleClass) -> ChangeClass:
        """The change class a file of this rule class makes (``ignore`` → ``none``)."""
        return cls.NONE if rule_class == "ignore" else cls(rule_class)


@dataclass(frozen=True)
class Rule:
    """A compiled rule with a name for reasons."""

    globs: tuple[str, ...]
    change: RuleClass
    concern: str | None
    origin: str
    """``rule 'prompts/safety/**'`` or ``built-in rule '*.md'``, for reasons."""

    def matches(self, path: str) -> str | None:
        """The pattern that puts ``path`` in this rule (the last one matching it, as in
        .gitignore), or None."""
        result = _spec(self.globs).check_file(_CONTROL.sub("\ufffd", path))
        return self.globs[result.index] if result.include and result.index is not None else None


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


def classify(path: str, rules: Sequence[Rule]) -> tuple[RuleClass, str | None, str]:
    """``(class, concern, origin)`` of one path: the first matching rule, else minor."""
    if not _could_match(path, rules):
        return "minor", None, DEFAULT_ORIGIN
    for rule in rules:
        if rule.matches(path):
            return rule.change, rule.concern, rule.origin
    return "minor", None, DEFAULT_ORIGIN


def _could_match(path: str, rules: Sequence[Rule]) -> bool:
    """A quick screen before the exact check: a rule can only take in a path that one of its
    include patterns matches, so a path none of them matches is in no rule. Most changed
    files of a large change are such paths; pathspec's per-rule ``check_file`` (which also
    weighs negations) then runs only for the rest: classifying a 1,000-file change takes a
    tenth of the time. Conservative: without a regular expression to test, every path is screened in."""
    screen = _screen(tuple(rule.globs for rule in rules))
    return screen is None or screen.match(pathspec.util.normalize_file(_CONTROL.sub("\ufffd", path))) is not None


@lru_cache(maxsize=1024)
def _spec(globs: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(globs)


@lru_cache(maxsize=64)
def _screen(globs: tuple[tuple[str, ...], ...]) -> re.Pattern[str] | None:
    """One expression matching what any include pattern of the rules matches (pathspec's
    own expressions, their named groups made plain so they can be joined), or None."""
    found = []
    for patterns in globs:
        for pattern in _spec(patterns).patterns:
            if pattern.include:
                regex = getattr(pattern, "regex", None)
                if not isinstance(regex, re.Pattern):
                    return None
                found.append(_NAMED_GROUP.sub("(?:", regex.pattern))
    return re.compile("|".join(f"(?:{expression})" for expression in found) or "(?!)")


_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
"""A file name may hold a line break; pathspec's ``**`` would not span it. Each control
character is matched as one ordinary character (``?`` and ``*`` still count it)."""
