"""The pytest face of suites and cases: a suite file collects one item per case.

Thin on purpose: an item hands itself to the run's ``execute`` (the engine: cache, calls
ahead, early stop — :mod:`evalgate.run.evalrun`) and turns the result into a pytest
outcome. How outcomes map (see README, "Outcomes"):

- scored and passed  → pytest ``passed``;
- scored and failed  → pytest ``passed`` with status "case failed" (``f``): a case failing
  its scorer is a measurement, not a build failure — the suite's gate decides;
- errored            → pytest ``failed`` with a one-line reason; the suite's gate counts it
  (as a fail for PASS, against an error budget when one is set), and the exit status follows
  the gate, not the item.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from evalgate.cases import Case
from evalgate.results import CaseError, CaseResult
from evalgate.run.engine import Job
from evalgate.run.planned import PlannedSuite
from evalgate.untrusted import log_line, one_line

Execute = Callable[["EvalCase"], CaseResult]
"""Produces an item's result; the plugin's engine (cache, concurrency) stands behind it."""


def error_text(error: CaseError) -> str:
    """``model (http, HTTP 500): …`` or ``scorer: …``, on one escaped line: a model's error text
    must not start a line a CI log would parse."""
    if error.kind == "scorer":
        return f"scorer: {one_line(error.message)}"
    status = f", HTTP {error.status}" if error.status else ""
    return f"model ({error.kind}{status}): {one_line(error.message)}"


def case_error_reason(result: CaseResult, source: str, traceback: str | None = None) -> str:
    """Why an errored case has no score, as its skip reason; then the user's own frames if wanted."""
    assert result.error is not None
    line = f"case error ({one_line(source)}): {error_text(result.error)}"
    return f"{line}\n\n{traceback}" if traceback else line


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
        # On the file, so every case inherits them without a list of its own: ``-m eval`` /
        # ``-m "not eval"`` select the eval cases, ``--dist loadgroup`` keeps a suite on one worker.
        self.own_markers.extend([pytest.mark.eval.mark, pytest.mark.xdist_group(name=planned.suite.name).mark])

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


@dataclass
class CaseNotes:
    """What running a case taught beyond its result: cache warnings first seen, and why
    cached results were not reused (reason → count so far in this process)."""

    cache_warnings: list[str] = field(default_factory=list)
    not_reused: dict[str, int] = field(default_factory=dict)
    budget_stop: str | None = None
    """Why the case was skipped: a spend cap covering its suite was reached."""
    suite: str = ""
    """The suite of the case (a skipped case's report carries no result that would say)."""

    def __bool__(self) -> bool:
        return bool(self.cache_warnings or self.not_reused or self.budget_stop)

    def to_data(self) -> dict[str, Any]:
        """Plain data: a report's attributes travel from an xdist worker as JSON-like values."""
        return {"cache_warnings": self.cache_warnings, "not_reused": self.not_reused, "budget_stop": self.budget_stop,
                "suite": self.suite}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> CaseNotes:
        return cls(list(data["cache_warnings"]), dict(data["not_reused"]), data.get("budget_stop"), data.get("suite", ""))


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
        self.notes = CaseNotes(suite=planned.suite.name)
        """What the cache told this process while the case ran; it travels to the controller
        on the call report (never into pytest's JUnit)."""
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
        error = self.result.error
        if error is not None:
            # Skipped, with the error as the reason: an errored case has no score, its suite's
            # gate counts it (a fail toward PASS, or against an error budget) and the gate's own
            # test case fails when it blocks — so pytest's JUnit has a failure exactly when a
            # gate blocks (:mod:`evalgate.run.junit_gates`). Placed at the case's item, not here.
            trace = None
            if error.traceback and self._wants_traceback():
                # The user's own frames (never evalgate's), each line escaped for CI logs.
                trace = "\n".join(log_line(text) for text in error.traceback.splitlines())
            source = self.case.source.removeprefix(f"{self.config.rootpath}{os.sep}")
            raise pytest.skip.Exception(case_error_reason(self.result, source, trace), _use_item_location=True)

    def _wants_traceback(self) -> bool:
        """Where pytest users look for a traceback: ``-v``, ``--tb=long``, ``--junitxml``."""
        option = self.config.option
        return (
            getattr(option, "tbstyle", "auto") == "long"
            or self.config.get_verbosity() > 0
            or bool(getattr(option, "xmlpath", None))
        )

    def reportinfo(self) -> tuple[Any, int | None, str]:
        # Line 0 (the suite file's top): pytest places a skip at its item's location only
        # when the item has a line, and an errored case is a skip (:meth:`runtest`).
        return self.path, 0, f"{self.suite_name}::{self.name}"
