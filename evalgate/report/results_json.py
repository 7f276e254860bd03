"""results.json: every case result and suite verdict, for tools (see :mod:`evalgate.document`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from evalgate.about import installed_version
from evalgate.document import SCHEMA_VERSION, MergeInfo, PlanReport, ResultsDocument, SuiteReport
from evalgate.report.cost import Prices, suite_costs
from evalgate.results import CaseResult
from evalgate.verdict.gate import SuiteVerdict


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
        evalgate_version=installed_version(),
        tier=tier,
        shard=shard,
        suites=[SuiteReport.of(verdict, metadata.get(verdict.suite), costs[verdict.suite]) for verdict in verdicts],
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
