"""junit.xml: one test case per suite gate, written with junit-xml.

Required checks and JUnit report actions then show exactly which gate blocked a merge;
the failure message carries the verdict and its numbers.

The file validates against the Jenkins xunit schema (``junit-10.xsd``), the strictest
reader CI users meet: junit-xml writes a ``disabled`` attribute and times with six
decimals that the schema rejects, so both are normalised after writing. The schema has no
``file`` attribute on a test case, so each gate is its own test suite, and the suite
carries ``file`` (the suite's TOML, relative to the project root). A test case's ``time``
is the suite's wall time, not the sum of its model calls.

A shard's report is *partial* (``shard="2/4"``): its verdicts cover some cases only, so
no gate test case fails or errors there — the merged report (``evalgate report merge``)
is the one CI gates on. Each partial gate is *skipped* with "partial — decided by the
merge", so no JUnit reader shows a shard as all passed.

:func:`gate_outcome` is the one mapping of a verdict to a JUnit outcome; pytest's own
``--junitxml`` gets the same gate test cases (:mod:`evalgate.run.junit_gates`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from junit_xml import TestCase, TestSuite, to_xml_report_string  # type: ignore[import-untyped]

from evalgate.report.table import percent
from evalgate.verdict.gate import SuiteVerdict, Verdict

PARTIAL_NOTE = "partial — decided by the merge: this shard ran some of the cases"


@dataclass(frozen=True)
class GateOutcome:
    """A suite's gate as a JUnit test case: failure, error, skipped or passed."""

    kind: Literal["failure", "error", "skipped", "passed"]
    message: str
    """One line: the verdict and its reason."""
    details: str
    """The numbers behind it: interval, method, counts, savings."""
    type: str = ""
    """The failure's or error's type (``GateFail``, ``GateError``, ...)."""


def gate_outcome(verdict: SuiteVerdict, shard: str | None) -> GateOutcome:
    """What a suite's gate is in JUnit: a failure or error exactly when it blocks the merge
    (an ERROR or INCOMPLETE verdict is an error), skipped when the suite did not run or this
    is a shard's partial verdict, else passed."""
    details = _details(verdict)
    if shard:
        return GateOutcome("skipped", f"{PARTIAL_NOTE}; {verdict.verdict} so far: {verdict.reason}", details)
    message = f"{verdict.verdict}: {verdict.reason}"
    if verdict.verdict == Verdict.SKIPPED:
        return GateOutcome("skipped", verdict.reason, details)
    if verdict.blocks_merge and verdict.verdict in (Verdict.ERROR, Verdict.INCOMPLETE):
        return GateOutcome("error", message, details, f"Gate{verdict.verdict.title()}")
    if verdict.blocks_merge:
        return GateOutcome("failure", message, details, f"Gate{verdict.verdict.title()}")
    return GateOutcome("passed", message, details)


def junit_xml(verdicts: Sequence[SuiteVerdict], tier: str, shard: str | None = None) -> str:
    """The gate report as a JUnit XML document (see the module docstring)."""
    properties = {"tier": tier, **({"shard": shard} if shard else {})}
    suites = [
        TestSuite(f"evalgate gate {verdict.suite}", [_case(verdict, shard), *_slice_cases(verdict, shard)],
                  properties=properties, file=verdict.file)
        for verdict in verdicts
    ]
    written = str(to_xml_report_string(suites, prettyprint=False, encoding="utf-8"))
    return _normalised(written)


def _details(verdict: SuiteVerdict) -> str:
    low, high = verdict.interval
    return (
        f"verdict={verdict.verdict} pass_rate={percent(verdict.pass_rate)} "
        f"interval=[{percent(low)}, {percent(high)}] method={verdict.method} "
        f"threshold={percent(verdict.threshold)} counted={verdict.counted}/{verdict.population} ran={verdict.cases_run} "
        f"errors={verdict.errors}/{'-' if verdict.max_errors is None else verdict.max_errors} alpha={verdict.alpha:g} "
        f"decided_at={verdict.decided_at} model_calls={verdict.model_calls} model_seconds={verdict.model_seconds:.3f} "
        f"saved_cache={verdict.cache_hits} saved_sampling={verdict.saved_by_sampling} "
        f"saved_early_stop={verdict.saved_by_early_stop}"
    )


def _case(verdict: SuiteVerdict, shard: str | None) -> TestCase:
    outcome = gate_outcome(verdict, shard)
    case = TestCase(
        name=verdict.suite,
        classname="evalgate.gate",
        elapsed_sec=verdict.wall_seconds or 0.0,
        stdout=f"{verdict.reason}\n{outcome.details}",
    )
    if outcome.kind == "error":
        case.add_error_info(message=outcome.message, output=outcome.details, error_type=outcome.type)
    elif outcome.kind == "failure":
        case.add_failure_info(message=outcome.message, output=outcome.details, failure_type=outcome.type)
    elif outcome.kind == "skipped":
        case.add_skipped_info(message=outcome.message)
    return case


def _slice_cases(verdict: SuiteVerdict, shard: str | None) -> list[TestCase]:
    """One test case per gated slice (``qa[de]``), failing when the slice fails: a required
    check or a JUnit reader shows which slice blocked."""
    cases = []
    for each in verdict.slices:
        if not each.gated:
            continue
        low, high = each.interval
        text = (f"slice {each.tag}: {each.verdict}, pass rate {percent(each.pass_rate)} of {each.read}/{each.population} read, "
                f"interval [{percent(low)}, {percent(high)}], gate ≥ {percent(each.threshold)}")
        case = TestCase(name=f"{verdict.suite}[{each.tag}]", classname="evalgate.slice", stdout=text)
        if shard:
            case.add_skipped_info(message=f"{PARTIAL_NOTE}; {text}")
        elif each.decision == "FAIL":
            case.add_failure_info(message=f"FAIL: {text}", failure_type="SliceFail")
        cases.append(case)
    return cases


def _normalised(document: str) -> str:
    """junit-xml's output made valid under the Jenkins xunit schema: no ``disabled``
    attribute, ``time`` with at most three decimals (the schema's SUREFIRE_TIME)."""
    root = ET.fromstring(document)
    for element in root.iter():
        element.attrib.pop("disabled", None)
        if "time" in element.attrib:
            element.set("time", f"{float(element.get('time') or 0):.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
