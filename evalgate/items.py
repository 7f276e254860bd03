"""The pytest face of suites and cases: a suite file collects one item per case.

Thin on purpose: an item runs its case through :func:`evalgate.runner.run_case` and
turns the result into a pytest outcome. How outcomes map (see README, "Outcomes"):

- scored and passed  → pytest ``passed``;
- scored and failed  → pytest ``passed`` with status "case failed" (``f``): a case failing
  its scorer is a measurement, not a build failure — the suite's gate decides;
- errored            → pytest ``failed`` with a one-line reason; it counts against the
  suite's error budget, and the exit status follows the gate, not the item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from evalgate.cases import Case
from evalgate.results import CaseResult
from evalgate.run.engine import Job
from evalgate.run.planned import PlannedSuite
from evalgate.untrusted import log_line, one_line

Execute = Callable[["EvalCase"], CaseResult]
"""Produces an item's result; the plugin's engine (cache, concurrency) stands behind it."""


class CaseErrored(Exception):
    """Raised by an item whose case errored, so pytest reports it as failed."""

    def __init__(self, result: CaseResult) -> None:
        assert result.error is not None
        error = result.error
        # One line, escaped: a model's error text must not start a line a CI log would parse.
        if error.kind == "scorer":
            super().__init__(f"scorer error: {one_line(error.message)}")
        else:
            status = f", HTTP {error.status}" if error.status else ""
            super().__init__(f"model error ({error.kind}{status}): {one_line(error.message)}")
        self.result = result


def case_properties(result: CaseResult) -> list[tuple[str, object]]:
    """The properties a case adds to pytest's own JUnit (``--junitxml``)."""
    properties: list[tuple[str, object]] = [("suite", result.suite), ("cached", result.cached)]
    if not result.errored:
        properties += [("score", result.score), ("case_passed", result.passed), ("explanation", result.explanation)]
    return properties


class SuiteFile(pytest.File):
    """A suite TOML file; collects the cases its tier selected."""

    def __init__(self, *, planned: PlannedSuite, execute: Execute, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self.execute = execute

    def collect(self) -> Iterator[EvalCase]:
        # `-k safety` selects cases tagged or suites concerned with safety. Items with the
        # same tags share one (frozen) set of extra keywords instead of one set each.
        suite = self.planned.suite
        shared: dict[tuple[str, ...], frozenset[str]] = {}
        for name, case, repeat in self.planned.items():
            keywords = shared.get(case.tags)
            if keywords is None:
                keywords = shared[case.tags] = frozenset((*case.tags, *suite.config.concerns, suite.name))
            yield EvalCase.from_parent(
                self, name=name, planned=self.planned, case=case, repeat=repeat, execute=self.execute, keywords=keywords
            )


class EvalCase(pytest.Item):
    """One run of one case."""

    def __init__(
        self,
        *,
        planned: PlannedSuite,
        case: Case,
        repeat: int,
        execute: Execute,
        keywords: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self.execute = execute
        self.case = case
        self.repeat = repeat
        self.result: CaseResult | None = None
        self.notes: list[tuple[str, str]] = []
        """Cache problems and not-reused reasons first seen while this case ran; they travel
        to the controller on the call report (never into pytest's JUnit)."""
        self.extra_keyword_matches = keywords  # type: ignore[assignment]  # read-only, shared
        self._job: Job | None = None

    @property
    def job(self) -> Job:
        """The engine's view of this item, made once: the look-ahead asks for it on every
        item it passes, and pytest computes a node id anew each time it is read."""
        if self._job is None:
            self._job = Job(self.nodeid, self.planned, self.case, self.repeat)
        return self._job

    @property
    def suite_name(self) -> str:
        return self.planned.suite.name

    def runtest(self) -> None:
        self.result = self.execute(self)
        if self.result.errored:
            raise CaseErrored(self.result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CaseErrored):
            line = f"{one_line(self.case.source)}: {excinfo.value}"
            error = excinfo.value.result.error
            if error is not None and error.traceback and self._wants_traceback():
                # The user's own frames (never evalgate's), each line escaped for CI logs.
                trace = "\n".join(log_line(text) for text in error.traceback.splitlines())
                return f"{line}\n\n{trace}"
            return line
        return super().repr_failure(excinfo, style=style)

    def _wants_traceback(self) -> bool:
        """Where pytest users look for a traceback: ``-v``, ``--tb=long``, ``--junitxml``."""
        option = self.config.option
        return (
            getattr(option, "tbstyle", "auto") == "long"
            or self.config.get_verbosity() > 0
            or bool(getattr(option, "xmlpath", None))
        )

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{self.suite_name}::{self.name}"
