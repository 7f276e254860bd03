"""junit.xml: one test case per suite gate, written with junit-xml.

Required checks and JUnit report actions then show exactly which gate blocked a merge;
the failure message carries the verdict and its numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from junit_xml import TestCase, TestSuite, to_xml_report_string  # type: ignore[import-untyped]

from evalgate.report.table import percent
from evalgate.verdict.gate import SuiteVerdict, Verdict


def junit_xml(verdicts: Sequence[SuiteVerdict], tier: str) -> str:
    """The gate report as a JUnit XML document."""
    cases = [_case(verdict) for verdict in verdicts]
    suite = TestSuite("evalgate gates", cases, properties={"tier": tier})
    return str(to_xml_report_string([suite], prettyprint=True, encoding="utf-8"))


def _case(verdict: SuiteVerdict) -> TestCase:
    low, high = verdict.interval
    details = (
        f"verdict={verdict.verdict} pass_rate={percent(verdict.pass_rate)} "
        f"interval=[{percent(low)}, {percent(high)}] method={verdict.method} "
        f"threshold={percent(verdict.threshold)} counted={verdict.counted}/{verdict.population} ran={verdict.cases_run} "
        f"errors={verdict.errors}/{verdict.max_errors} alpha={verdict.alpha:g} "
        f"decided_at={verdict.decided_at} model_calls={verdict.model_calls} model_seconds={verdict.seconds:.3f} "
        f"saved_cache={verdict.cache_hits} saved_sampling={verdict.saved_by_sampling} "
        f"saved_early_stop={verdict.saved_by_early_stop}"
    )
    case = TestCase(
        name=verdict.suite,
        classname="evalgate.verdict.gate",
        elapsed_sec=verdict.wall_seconds or 0.0,
        stdout=f"{verdict.reason}\n{details}",
    )
    message = f"{verdict.verdict}: {verdict.reason}"
    if verdict.verdict in (Verdict.ERROR, Verdict.INCOMPLETE):
        case.add_error_info(message=message, output=details, error_type=f"Gate{verdict.verdict.title()}")
    elif verdict.blocks_merge:
        case.add_failure_info(message=message, output=details, failure_type=f"Gate{verdict.verdict.title()}")
    elif verdict.verdict == Verdict.SKIPPED:
        case.add_skipped_info(message=verdict.reason)
    return case
