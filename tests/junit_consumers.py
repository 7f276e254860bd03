"""How the JUnit readers CI users rely on decide that a file is red.

Each function reads a JUnit file the way one consumer does and returns its verdict
(``"failure"`` or ``"success"``) and the names of the test cases it counts as failed. They are
ports of the deciding lines, kept as close to the source as Python allows:

- **EnricoMi/publish-unit-test-result-action** parses with junitparser (the real library here)
  and keeps, per test case, its most severe result in the order error, failure, success,
  skipped, disabled (``python/publish/junit.py``: ``get_results`` / ``get_result``); the check
  fails on failures or errors (``fail_on: test failures``, its default).
- **dorny/test-reporter** (``src/parsers/java-junit/java-junit-parser.ts``,
  ``getTestCaseResult``): ``failure`` or ``error`` → failed, else ``skipped`` → skipped; the
  check run fails when any test failed.
- **mikepenz/action-junit-report** (``src/testParser.ts``): a test case with ``failure`` or
  ``error`` that is not skipped (nor ``status="disabled|ignored"``) is failed; the conclusion is
  failure when the failed count is above zero (``src/main.ts``).

Read at: EnricoMi 2.x (python/publish/junit.py), dorny 29672c5, mikepenz 305cd1f.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from junitparser import JUnitXml, TestSuite  # type: ignore[import-untyped]

Verdict = tuple[str, list[str]]


def enricomi(path: Path) -> Verdict:
    failed = []
    document = JUnitXml.fromfile(str(path))
    suites = [document] if isinstance(document, TestSuite) else list(document)
    for suite in suites:
        for case in suite:
            states = [result._tag for result in case.result if result is not None]
            worst = next((state for state in ("error", "failure", "success", "skipped") if state in states), "success")
            if worst in ("error", "failure"):
                failed.append(case.name)
    return ("failure" if failed else "success"), failed


def dorny(path: Path) -> Verdict:
    failed = [case.get("name", "") for case in ET.parse(path).getroot().iter("testcase")
              if case.find("failure") is not None or case.find("error") is not None]
    return ("failure" if failed else "success"), failed


def mikepenz(path: Path) -> Verdict:
    failed = []
    for case in ET.parse(path).getroot().iter("testcase"):
        issues = case.findall("failure") + case.findall("error")
        skip = case.find("skipped") is not None or case.get("status") in ("disabled", "ignored")
        if issues and not skip:
            failed.append(case.get("name", ""))
    return ("failure" if failed else "success"), failed


CONSUMERS = {"EnricoMi": enricomi, "dorny": dorny, "mikepenz": mikepenz}


def verdicts(path: Path) -> dict[str, Verdict]:
    """Every consumer's verdict on one file."""
    return {name: read(path) for name, read in CONSUMERS.items()}
