"""results.json: every case result and suite verdict, for tools."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from evalgate import __version__
from evalgate.results import CaseResult
from evalgate.verdict.gate import SuiteVerdict

SCHEMA_VERSION = 1


def results_document(
    verdicts: Sequence[SuiteVerdict],
    results: Sequence[CaseResult],
    tier: str,
    metadata: Mapping[str, Mapping[str, object]] | None = None,
    shard: str | None = None,
) -> dict[str, Any]:
    """The results.json document as plain data."""
    suites = []
    for verdict in verdicts:
        entry = _suite(verdict)
        if metadata and verdict.suite in metadata:
            entry["merge"] = dict(metadata[verdict.suite])
        suites.append(entry)
    return {
        "schema_version": SCHEMA_VERSION,
        "evalgate_version": __version__,
        "tier": tier,
        "shard": shard,
        "suites": suites,
        "cases": [result.model_dump(mode="json") for result in results],
    }


def results_json(
    verdicts: Sequence[SuiteVerdict],
    results: Sequence[CaseResult],
    tier: str,
    metadata: Mapping[str, Mapping[str, object]] | None = None,
    shard: str | None = None,
) -> str:
    """The results.json text."""
    document = results_document(verdicts, results, tier, metadata, shard)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _suite(verdict: SuiteVerdict) -> dict[str, Any]:
    comparison = None
    if verdict.comparison is not None:
        comparison = dataclasses.asdict(verdict.comparison)
        comparison["interval"] = list(verdict.comparison.interval)
    return {
        "suite": verdict.suite,
        "verdict": str(verdict.verdict),
        "reason": verdict.reason,
        "pass_rate": verdict.pass_rate,
        "interval": list(verdict.interval),
        "method": verdict.method,
        "confidence": verdict.confidence,
        "threshold": verdict.threshold,
        "passed": verdict.passed,
        "scored": verdict.scored,
        "errors": verdict.errors,
        "max_errors": verdict.max_errors,
        "cases_run": verdict.cases_run,
        "cases_planned": verdict.cases_planned,
        "cases_total": verdict.cases_total,
        "seconds": verdict.seconds,
        "alpha": verdict.alpha,
        "decided_at": verdict.decided_at,
        "blocks_merge": verdict.blocks_merge,
        "repeats": verdict.repeats,
        "cache_hits": verdict.cache_hits,
        "cache_misses": verdict.model_calls,
        "calls_saved": {
            "cache": verdict.cache_hits,
            "sampling": verdict.saved_by_sampling,
            "early_stop": verdict.saved_by_early_stop,
        },
        "baseline": comparison,
    }
