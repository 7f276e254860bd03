"""The suites' gates in pytest's own JUnit (``--junitxml``), so it agrees with the exit status.

Most CI set-ups read pytest's JUnit, not evalgate's gate report, and every JUnit reader
(EnricoMi's publish-unit-test-result-action, dorny/test-reporter, mikepenz/action-junit-report,
Jenkins) judges a run by its ``<failure>`` and ``<error>`` elements. So pytest's file must
have one exactly when a gate blocks: a case that failed its scorer is a passed test case (a
measurement; the gate decides), an errored case is a *skipped* one with its error as the
reason, and each suite's gate is a test case of its own — ``<suite file>::gate[<suite>]`` —
failing with the verdict and its reason as the message when it blocks, skipped when the suite did
not run or the file is a shard's partial one, passing otherwise (:func:`evalgate.report.junit.gate_outcome`).

The gate test cases reach the file through pytest's JUnit writer itself: at the end of the
session (before it writes) each gate is handed to it as the reports of a test that ran —
the writer's own hook method, so the file stays exactly as pytest writes it (families,
prefixes, escaping) and no other plugin sees a test that pytest did not run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from evalgate.report.junit import gate_outcome
from evalgate.verdict.gate import SuiteVerdict


class _GateFailure:
    """A failing gate's ``longrepr``: pytest's JUnit writer takes the message from
    ``reprcrash.message`` and the element's text from ``str()``."""

    def __init__(self, message: str, details: str) -> None:
        self.reprcrash = _Message(message)
        self.text = f"{message}\n{details}"

    def __str__(self) -> str:
        return self.text

    def toterminal(self, out: Any) -> None:  # pytest's report API, should anything print it
        out.line(self.text)


class _Message:
    def __init__(self, message: str) -> None:
        self.message = message


def junit_writer(config: pytest.Config) -> Any | None:
    """pytest's JUnit writer of this run (None without ``--junitxml``)."""
    try:
        from _pytest.junitxml import xml_key  # the writer's stash key (pytest ≥ 7)
    except ImportError:  # pragma: no cover - a pytest without it: find the plugin by its class
        return next((p for p in config.pluginmanager.get_plugins() if type(p).__name__ == "LogXML"), None)
    return config.stash.get(xml_key, None)


def add_gates(config: pytest.Config, verdicts: Sequence[SuiteVerdict], nodeids: dict[str, tuple[str, Path]],
              shard: str | None, properties: bool) -> None:
    """Hand each suite's gate to pytest's JUnit writer as a test case. ``nodeids`` maps a
    suite to its file's node id and path; ``properties`` adds the verdict's numbers as
    properties (only ``junit_family = xunit1`` has a place for them)."""
    writer = junit_writer(config)
    if writer is None:
        return
    for verdict in verdicts:
        file_nodeid, path = nodeids.get(verdict.suite, (verdict.file or verdict.suite, Path(verdict.file or verdict.suite)))
        for report in gate_reports(verdict, file_nodeid, str(path), shard, properties):
            writer.pytest_runtest_logreport(report)


def gate_reports(verdict: SuiteVerdict, file_nodeid: str, path: str, shard: str | None,
                 properties: bool) -> tuple[pytest.TestReport, pytest.TestReport]:
    """The call and teardown reports of a suite's gate test case."""
    outcome = gate_outcome(verdict, shard)
    nodeid = f"{file_nodeid}::gate[{verdict.suite}]"
    location = (path, verdict.line - 1 if verdict.line else None, f"gate[{verdict.suite}]")
    longrepr: Any = None
    result: str = "passed"
    if outcome.kind in ("failure", "error"):
        result, longrepr = "failed", _GateFailure(outcome.message, outcome.details)
    elif outcome.kind == "skipped":
        result, longrepr = "skipped", (path, verdict.line, f"Skipped: {outcome.message}")
    # An ERROR or INCOMPLETE gate is a <failure> here too (its message says which): pytest
    # writes an <error> only for a failed setup, "failed on setup with ...", which it is not.
    main = pytest.TestReport(nodeid, location, {}, result, longrepr, "call", duration=verdict.wall_seconds or 0.0)  # type: ignore[arg-type]
    extra = [("verdict", str(verdict.verdict)), ("reason", verdict.reason), ("details", outcome.details)] if properties else []
    teardown = pytest.TestReport(nodeid, location, {}, "passed", None, "teardown", user_properties=extra)
    return main, teardown
