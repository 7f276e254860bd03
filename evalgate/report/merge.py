"""Merging the reports of shards (``--eval-shard K/N``) into one verdict set.

Each shard's results.json carries, per suite, what deciding needs (gate, full planned
order, size, repeats). The merge pools the case results and decides every suite once,
sequential decisions included, on the merged sampling-order prefix — the same function
a single unsharded run uses, so four merged shards give that run's verdicts. Baseline
gates need the baseline again (``--baseline``): the shards carry only their own results.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evalgate.config import GateConfig
from evalgate.errors import ConfigError
from evalgate.results import CaseResult
from evalgate.run.baselines import load_baseline
from evalgate.verdict.gate import SuiteVerdict, decide


def read_results(source: Path) -> dict[str, Any]:
    """A results.json document from a file or a report directory."""
    path = source / "results.json" if source.is_dir() else source
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no results.json here; pass the --eval-report folder of each shard") from None
    except ValueError as err:
        raise ConfigError(f"{path}: not valid JSON ({err})") from None
    if "suites" not in document or "cases" not in document:
        raise ConfigError(f"{path}: not an evalgate results.json (no 'suites' and 'cases')")
    return document


def merge_reports(
    sources: Sequence[Path], baseline: Path | None = None
) -> tuple[list[SuiteVerdict], list[CaseResult], str]:
    """``(verdicts, case results, tier label)`` of the shards at ``sources`` together;
    with ``baseline`` (a results.json), suites whose gate has a baseline are compared with it."""
    if not sources:
        raise ConfigError("give the report folders (or results.json files) of the shards to merge")
    documents = [read_results(source) for source in sources]
    results: dict[tuple[str, str, int], CaseResult] = {}
    meta: dict[str, dict[str, Any]] = {}
    for source, document in zip(sources, documents, strict=True):
        for suite in document["suites"]:
            if "merge" not in suite:
                raise ConfigError(f"{source}: suite {suite['suite']} has no merge data; re-run with this evalgate version")
            meta.setdefault(suite["suite"], suite["merge"])
        for case in document["cases"]:
            result = CaseResult.model_validate(case)
            results[(result.suite, result.case_id, result.repeat)] = result
    baselines = load_baseline(str(baseline.resolve()), Path.cwd(), None, None) if baseline else {}
    verdicts = []
    for name, info in meta.items():
        gate = GateConfig.model_validate(info["gate"])
        suite_results = [r for (suite, _, _), r in sorted(results.items()) if suite == name]
        verdicts.append(
            decide(
                name,
                gate,
                suite_results,
                order=info["order"],
                total=info["total"],
                repeats=info["repeats"],
                skip_reason=info["skip_reason"],
                baseline=baselines.get(name) if baseline and gate.baseline is not None else None,
            )
        )
    return verdicts, list(results.values()), str(documents[0].get("tier", ""))
