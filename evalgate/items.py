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
from evalgate.run.planned import PlannedSuite

Execute = Callable[["EvalCase"], CaseResult]
"""Produces an item's result; the plugin's engine (cache, concurrency) stands behind it."""


class CaseErrored(Exception):
    """Raised by an item whose case errored, so pytest reports it as failed."""

    def __init__(self, result: CaseResult) -> None:
        assert result.error is not None
        error = result.error
        if error.kind == "scorer":
            super().__init__(f"scorer error: {error.message}")
        else:
            status = f", HTTP {error.status}" if error.status else ""
            super().__init__(f"model error ({error.kind}{status}): {error.message}")
        self.result = result


class SuiteFile(pytest.File):
    """A suite TOML file; collects the cases its tier selected."""

    def __init__(self, *, planned: PlannedSuite, execute: Execute, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self.execute = execute

    def collect(self) -> Iterator[EvalCase]:
        for name, case, repeat in self.planned.items:
            yield EvalCase.from_parent(
                self, name=name, planned=self.planned, case=case, repeat=repeat, execute=self.execute
            )


class EvalCase(pytest.Item):
    """One run of one case."""

    def __init__(
        self, *, planned: PlannedSuite, case: Case, repeat: int, execute: Execute, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self.execute = execute
        self.case = case
        self.repeat = repeat
        self.result: CaseResult | None = None
        # `-k safety` selects cases tagged or suites concerned with safety.
        self.extra_keyword_matches.update(case.tags)
        self.extra_keyword_matches.update(planned.suite.config.concerns)
        self.extra_keyword_matches.add(planned.suite.name)

    @property
    def suite_name(self) -> str:
        return self.planned.suite.name

    def runtest(self) -> None:
        self.result = self.execute(self)
        self.user_properties.append(("suite", self.suite_name))
        self.user_properties.append(("cached", self.result.cached))
        if self.result.errored:
            raise CaseErrored(self.result)
        self.user_properties.append(("score", self.result.score))
        self.user_properties.append(("case_passed", self.result.passed))
        self.user_properties.append(("explanation", self.result.explanation))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CaseErrored):
            return f"{self.case.source}: {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{self.suite_name}::{self.name}"
