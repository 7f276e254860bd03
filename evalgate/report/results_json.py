"""results.json: every case result and suite verdict, for tools (see :mod:`evalgate.document`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.metadata import version

from evalgate.document import (
    SCHEMA_VERSION,
    CallsSaved,
    ComparisonReport,
    ConsistencyReport,
    CostReport,
    FlipReport,
    GapReport,
    MergeInfo,
    PlanReport,
    ResultsDocument,
    SliceReport,
    SuiteReport,
)
from evalgate.report.cost import Prices, suite_costs
from evalgate.results import CaseResult
from evalgate.verdict.gate import SuiteVerdict


def suite_report(verdict: SuiteVerdict, merge: MergeInfo | None = None, cost: CostReport | None = None) -> SuiteReport:
    """A verdict as it appears in results.json."""
    comparison = None
    if verdict.comparison is not None:
        c = verdict.comparison
        comparison = ComparisonReport(
            pairs=c.pairs, candidate_rate=c.candidate_rate, baseline_rate=c.baseline_rate, difference=c.difference,
            interval=c.interval, max_regression=c.max_regression, decision=c.decision, decided_at=c.decided_at,
            worse=c.worse, better=c.better, mcnemar_p=c.mcnemar_p, exact=c.exact, method=c.method,
            worse_cases=list(c.worse_cases), better_cases=list(c.better_cases), source=c.source,
        )
    consistency = None
    if verdict.consistency is not None:
        m = verdict.consistency
        consistency = ConsistencyReport(
            variants=list(m.variants), read=m.read, consistent=m.consistent, errors=m.errors, rate=m.rate,
            interval=m.interval, method=m.method, threshold=m.threshold, required=m.required, decision=m.decision,
            decided_at=m.decided_at, exact=m.exact, flips=[FlipReport(case=case, variant=variant) for case, variant in m.flips],
            flips_by_variant=m.by_variant(),
        )
    slices = [
        SliceReport(tag=s.tag, verdict=s.label, population=s.population, gated=s.gated, read=s.read, passed=s.passed,  # type: ignore[arg-type]
                    errors=s.errors, pass_rate=s.rate, required=s.required, threshold=s.threshold, interval=s.interval, exact=s.exact,
                    delta=s.delta, regression=s.regression)
        for s in sorted(verdict.slices, key=lambda s: ({"FAIL": 0, "UNDECIDED": 1, "PASS": 2}.get(s.label, 3), s.rate or 0.0))
    ]
    gap = None
    if verdict.gap is not None:
        g = verdict.gap
        gap = GapReport(max_gap=g.max_gap, best=g.best, worst=g.worst, interval=g.interval, verdict=g.decision or "UNDECIDED", exact=g.exact)
    return SuiteReport(
        suite=verdict.suite,
        verdict=verdict.verdict.value,
        reason=verdict.reason,
        population=verdict.population,
        selected=verdict.selected,
        complete=verdict.cases_run >= verdict.cases_total and not verdict.selected and verdict.verdict != "SKIPPED",
        exact=verdict.exact,
        counted=verdict.counted,
        required=verdict.required,
        pass_rate=verdict.pass_rate,
        interval=verdict.interval,
        method=verdict.method,
        confidence=verdict.confidence,
        threshold=verdict.threshold,
        passed=verdict.passed,
        scored=verdict.scored,
        errors=verdict.errors,
        max_errors=verdict.max_errors,
        cases_run=verdict.cases_run,
        cases_planned=verdict.cases_planned,
        cases_total=verdict.cases_total,
        model_seconds=verdict.seconds,
        wall_seconds=verdict.wall_seconds,
        alpha=verdict.alpha,
        alpha_fail=verdict.alpha_fail,
        decided_at=verdict.decided_at,
        blocks_merge=verdict.blocks_merge,
        repeats=verdict.repeats,
        cache_hits=verdict.cache_hits,
        model_calls=verdict.model_calls,
        calls_saved=CallsSaved(
            cache=verdict.cache_hits, sampling=verdict.saved_by_sampling, early_stop=verdict.saved_by_early_stop
        ),
        calls_after_verdict=verdict.calls_after_verdict,
        population_kind=verdict.kind,
        regression_kind=verdict.regression_kind,
        more_needed=verdict.more_needed,
        baseline=comparison,
        consistency=consistency,
        slices=slices,
        gap=gap,
        merge=merge,
        cost=cost,
        file=verdict.file,
        line=verdict.line,
    )


def results_document(
    verdicts: Sequence[SuiteVerdict],
    results: Sequence[CaseResult],
    tier: str,
    metadata: Mapping[str, MergeInfo] | None = None,
    shard: str | None = None,
    prices: Mapping[str, Prices] | None = None,
    plan: PlanReport | None = None,
) -> ResultsDocument:
    """The results.json document."""
    metadata = metadata or {}
    costs = suite_costs(verdicts, results, prices)
    return ResultsDocument(
        schema_version=SCHEMA_VERSION,
        evalgate_version=version("evalgate"),
        tier=tier,
        shard=shard,
        suites=[suite_report(verdict, metadata.get(verdict.suite), costs[verdict.suite]) for verdict in verdicts],
        cases=list(results),
        plan=plan,
    )


def results_json(
    verdicts: Sequence[SuiteVerdict],
    results: Sequence[CaseResult],
    tier: str,
    metadata: Mapping[str, MergeInfo] | None = None,
    shard: str | None = None,
    prices: Mapping[str, Prices] | None = None,
    plan: PlanReport | None = None,
) -> str:
    """The results.json text."""
    return results_document(verdicts, results, tier, metadata, shard, prices, plan).model_dump_json(indent=2) + "\n"
