"""Running one case: model call, then scorer, into a CaseResult.

Failures of the model or scorer become an errored CaseResult rather than an exception,
so one bad case is reported as such and never stops, or passes, the rest.
"""

from __future__ import annotations

import time

from evalgate.errors import ModelError, ScorerError
from evalgate.models import ModelAdapter
from evalgate.results import CaseError, CaseResult
from evalgate.scorers import Scorer
from evalgate.suites import Case


def run_case(suite: str, case: Case, adapter: ModelAdapter, scorer: Scorer, repeat: int = 0) -> CaseResult:
    """Generate and score one case; errors are captured in the result."""
    started = time.perf_counter()
    try:
        output = adapter.generate(case)
    except ModelError as err:
        return CaseResult(
            suite=suite,
            case_id=case.id,
            repeat=repeat,
            error=CaseError.from_exception(err),
            latency=time.perf_counter() - started,
        )
    latency = time.perf_counter() - started
    try:
        score = scorer.score(output.text, case)
    except ScorerError as err:
        return CaseResult(
            suite=suite,
            case_id=case.id,
            repeat=repeat,
            output=output.text,
            error=CaseError.from_exception(err),
            latency=latency,
            usage=output.usage,
        )
    return CaseResult(
        suite=suite,
        case_id=case.id,
        repeat=repeat,
        output=output.text,
        score=score.value,
        passed=score.passed,
        explanation=score.explanation,
        latency=latency,
        usage=output.usage,
    )
