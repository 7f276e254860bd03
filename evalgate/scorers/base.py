"""What a scorer is: ``score(output, case)`` → a :class:`Score`, plus what identifies it.

Each scorer has a name and a version; the version is bumped whenever its behaviour
changes, because the result cache keys on (name, version, params) and must not reuse
scores computed by older logic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalgate.cases import Case
from evalgate.errors import ScorerError


@dataclass(frozen=True)
class Score:
    """A scorer's judgement of one output."""

    value: float
    """In [0, 1]."""
    passed: bool
    explanation: str
    usage: dict[str, int] | None = None
    """Tokens the scorer spent (a judge's calls), when it calls a model."""
    parts: dict[str, float] | None = None
    """Each scorer's score, when several scored the output together."""


class Memo:
    """A scorer's store of answers by key: unbound (remembers nothing) until the run binds
    it to the result store's ``get`` and ``put``."""

    def __init__(self) -> None:
        self.get: Callable[[str], str | None] = lambda key: None
        self.put: Callable[[str, str], None] = lambda key, value: None

    def bind(self, get: Callable[[str], str | None], put: Callable[[str, str], None]) -> None:
        self.get, self.put = get, put


@dataclass(frozen=True)
class Scorer:
    """A configured scorer: ``score(output, case)`` plus what identifies its behaviour."""

    name: str
    version: str
    params: dict[str, Any]
    needs_expected: bool
    function: Callable[[str, Case], Score]
    files: tuple[Path, ...] = ()
    """Files behind the scorer (a judge's rubric file): dependencies of every result."""
    memo: Memo | None = None
    """Where a scorer that calls a model keeps its answers between runs (a judge's verdicts),
    bound to the result store by the run."""
    code: tuple[str, ...] = ()
    """``module:function`` of the project's Python code scoring runs in this process (a custom
    scorer, a judge that is a python model): what it executes is recorded, and ``-n auto``
    lets pytest-xdist start workers, since the CPU is the limit."""

    def score(self, output: str, case: Case) -> Score:
        """Score one output; a scorer bug or a bad return value is a ScorerError."""
        if self.needs_expected and case.expected is None:
            raise ScorerError(
                f"case {case.id} ({case.source}) has no expected value, which the "
                f"{self.name} scorer needs; add one to the row"
            )
        try:
            return self.function(output, case)
        except ScorerError:
            raise
        except Exception as err:
            raise ScorerError(f"{self.name} scorer raised {type(err).__name__}: {err}") from err

    def fingerprint(self) -> dict[str, Any]:
        """What identifies this scorer's behaviour (for the result cache)."""
        return {"name": self.name, "version": self.version, "params": self.params}
