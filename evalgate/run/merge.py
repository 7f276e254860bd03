"""Merging the reports of shards (``--eval-shard K/N``) into one verdict set.

Each shard's results.json carries, per suite, what deciding needs (gate, full planned
order, size, repeats). The merge pools the case results and decides every suite once,
sequential decisions included, on the merged sampling-order prefix — the same function
a single unsharded run uses, so four merged shards give that run's verdicts. Baseline
gates need the baseline again (``--baseline``): the shards carry only their own results.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from evalgate.document import MergeInfo, read_document
from evalgate.errors import ConfigError
from evalgate.report.cost import Prices
from evalgate.results import CaseResult
from evalgate.run.baselines import load_baselines
from evalgate.run.session import control_passes, judge_refused
from evalgate.verdict.gate import SuiteVerdict, decide
from evalgate.verdict.monitor import Baseline, SuiteSpec
from evalgate.verdict.slices import SlicePlan, plan_slices


def merge_reports(
    sources: Sequence[Path], baseline: Path | None = None
) -> tuple[list[SuiteVerdict], list[CaseResult], str, dict[str, Prices]]:
    """``(verdicts, case results, tier label, prices)`` of the shards at ``sources`` together;
    with ``baseline`` (a results.json), suites whose gate has a baseline are compared with it."""
    if not sources:
        raise ConfigError("give the report folders (or results.json files) of the shards to merge")
    documents = [read_document(source) for source in sources]
    results: dict[tuple[str, str, int], CaseResult] = {}
    """``(suite, case id or variant label, repeat)`` → the result."""
    meta: dict[str, MergeInfo] = {}
    where: dict[str, dict[str, Any]] = {}
    prices: dict[str, Prices] = {}
    scheduled: dict[str, set[str]] = defaultdict(set)
    deselected: set[str] = set()
    for source, document in zip(sources, documents, strict=True):
        for suite in document.suites:
            if suite.merge is None:
                raise ConfigError(f"{source}: suite {suite.suite} has no merge data; re-run it with --eval-report and this evalgate")
            meta.setdefault(suite.suite, suite.merge)
            where.setdefault(suite.suite, {"file": suite.file, "line": suite.line})
            if suite.cost is not None and (suite.cost.price is not None or suite.cost.judge_price is not None):
                prices.setdefault(suite.suite, Prices(suite.cost.price, suite.cost.judge_price))
            if suite.merge.scheduled is not None:
                deselected.add(suite.suite)
                scheduled[suite.suite].update(suite.merge.scheduled)
        for result in document.cases:
            results[(result.suite, result.row_id, result.repeat)] = result
            if result.variant is None:
                scheduled[result.suite].add(result.case_id)
    names = [name for name, info in meta.items() if info.gate.baseline is not None]
    baselines = load_baselines(str(baseline.resolve()), Path.cwd(), None, None, names) if baseline else {}
    verdicts = []
    for name, info in meta.items():
        suite_results = [r for (suite, _, _), r in sorted(results.items()) if suite == name]
        order = tuple(info.order)
        if name in deselected:  # some shard ran a selection: the verdict is about the selected cases
            order = tuple(case for case in info.order if case in scheduled[name])
        spec = SuiteSpec(
            name, info.gate, order, len(order) if name in deselected else info.total, info.total,
            selected=name in deselected, repeats=info.repeats, skip_reason=info.skip_reason,
            baseline=baselines.get(name) if baseline else None, variants=tuple(info.variants),
            control=_control(baselines.get(name), info, order, name in deselected),
            slices=_slices(info, order, name in deselected),
            kind="distribution" if info.judge is not None else (info.gate.population or "suite"),
            regression_kind=info.gate.regression_population or "distribution",
            alpha_fail_cap=info.alpha_fail_cap, judge=info.judge,
        )
        verdicts.append(replace(judge_refused(decide(spec, suite_results), info.judge_failure), **where[name]))
    return verdicts, list(results.values()), documents[0].tier, prices


def _control(baseline: Baseline | None, info: MergeInfo, order: tuple[str, ...], selected: bool) -> int | None:
    """The control variate for the merged pass-rate gate: recounted from the merge's own
    baseline over the population — the selection, or every case when the plan held them all.
    A capped plan does not list the suite's other cases: the merge then uses the direct test."""
    if selected:
        return control_passes(baseline, order)
    return control_passes(baseline, info.order) if len(info.order) == info.total else None


def _slices(info: MergeInfo, order: tuple[str, ...], selected: bool) -> SlicePlan | None:
    """The slices of the merged population, from the tags the shards recorded."""
    if info.gate.slices is None or info.slice_tags is None:
        return None
    chosen = set(order) if selected else None
    cases = [(case, tags) for case, tags in info.slice_tags.items() if chosen is None or case in chosen]
    return plan_slices(info.gate.slices, info.gate.min_pass_rate, cases)
