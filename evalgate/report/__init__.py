"""Report writers: junit.xml (gates), summary.md (humans), results.json (tools)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from evalgate.config import PriceConfig
from evalgate.document import MergeInfo, PlanReport
from evalgate.report.junit import junit_xml
from evalgate.report.markdown import summary_markdown
from evalgate.report.results_json import results_json
from evalgate.results import CaseResult
from evalgate.verdict.gate import SuiteVerdict

__all__ = ["write_reports"]


def write_reports(
    directory: Path,
    verdicts: Sequence[SuiteVerdict],
    results: Sequence[CaseResult],
    tier: str,
    metadata: Mapping[str, MergeInfo] | None = None,
    shard: str | None = None,
    prices: Mapping[str, PriceConfig | None] | None = None,
    plan: PlanReport | None = None,
) -> list[Path]:
    """Write the three report files into ``directory`` (created if needed); their paths.

    ``metadata`` (per suite: gate, planned order, size, repeats) lets ``evalgate report
    merge`` decide again from several shards; ``shard`` marks a partial run ("2/4");
    ``prices`` (per suite, its model's) turn token counts into money."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "junit.xml": junit_xml(verdicts, tier, shard),
        "summary.md": summary_markdown(verdicts, tier, results, shard, prices),
        "results.json": results_json(verdicts, results, tier, metadata, shard, prices, plan),
    }
    written = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
