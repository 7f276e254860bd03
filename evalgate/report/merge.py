"""Merging the reports of shards (``--eval-shard K/N``) into one verdict set.

Each shard's results.json carries, per suite, what deciding needs (gate, full planned
order, size, repeats). The merge pools the case results and decides every suite once,
sequential decisions included, on the merged sampling-order prefix — the same function
a single unsharded run uses, so four merged shards give that run's verdicts. Baseline
gates need the baseline again (``--baseline``): the shards carry only their own results.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evalgate.document import MergeInfo, read_document
from evalgate.errors import ConfigError
from evalgate.results import CaseResult
from evalgate.run.baselines import load_baseline
from evalgate.verdict.gate import SuiteVerdict, decide


def merge_reports(
    sources: Sequence[Path], baseline: Path | None = None
) -> tuple[list[SuiteVerdict], list[CaseResult], str]:
    """``(verdicts, case results, tier label)`` of the shards at ``sources`` together;
    with ``baseline`` (a results.json), suites whose gate has a baseline are compared with it."""
    if not sources:
        raise ConfigError("give the report folders (or results.json files) of the shards to merge")
    documents = [read_document(source) for source in sources]
    results: dict[tuple[str, str, int], CaseResult] = {}
    meta: dict[str, MergeInfo] = {}
    for source, document in zip(sources, documents, strict=True):
        for suite in document.suites:
            if suite.merge is None:
                raise ConfigError(f"{source}: suite {suite.suite} has no merge data; re-run it with --eval-report and this evalgate")
            meta.setdefault(suite.suite, suite.merge)
        for result in document.cases:
            results[(result.suite, result.case_id, result.repeat)] = result
    baselines = load_baseline(str(baseline.resolve()), Path.cwd(), None, None) if baseline else {}
    verdicts = []
    for name, info in meta.items():
        gate = info.gate
        suite_results = [r for (suite, _, _), r in sorted(results.items()) if suite == name]
        verdicts.append(
            decide(
                name,
                gate,
                suite_results,
                order=info.order,
                total=info.total,
                repeats=info.repeats,
                skip_reason=info.skip_reason,
                baseline=baselines.get(name) if baseline and gate.baseline is not None else None,
            )
        )
    return verdicts, list(results.values()), documents[0].tier
