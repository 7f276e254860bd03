"""Writing the reports of a run: junit.xml (gates), summary.md (humans), results.json (tools) and
report.html (reviewers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from evalgate.cases import CaseText
from evalgate.document import MergeInfo, PlanReport
from evalgate.report import REPORT_FILES
from evalgate.report.cost import Prices
from evalgate.report.html import report_html
from evalgate.report.junit import junit_xml
from evalgate.report.markdown import summary_markdown
from evalgate.report.results_json import results_json
from evalgate.results import CaseResult
from evalgate.verdict.gate import SuiteVerdict

__all__ = ["CaseText", "RunReport", "write_reports"]


@dataclass(frozen=True)
class RunReport:
    """Everything the reports say about one run (or one merge of shards)."""

    verdicts: Sequence[SuiteVerdict]
    results: Sequence[CaseResult]
    tier: str
    metadata: Mapping[str, MergeInfo] | None = None
    """Per suite: gate, planned order, size, repeats — lets ``report merge`` decide again."""
    shard: str | None = None
    """``K/N`` for a shard's partial run."""
    prices: Mapping[str, Prices] | None = None
    """Per suite, its model's price: token counts become money."""
    plan: PlanReport | None = None
    cases: Mapping[tuple[str, str], CaseText] | None = None
    """Per (suite, case id), what the case asked and expected, for report.html."""


def write_reports(directory: Path, report: RunReport) -> list[Path]:
    """Write the report files into ``directory`` (created if needed); their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    r = report
    files = {
        "junit.xml": junit_xml(r.verdicts, r.tier, r.shard),
        "summary.md": summary_markdown(r.verdicts, r.tier, r.results, r.shard, r.prices),
        "results.json": results_json(r.verdicts, r.results, r.tier, r.metadata, r.shard, r.prices, r.plan),
        "report.html": report_html(r.verdicts, r.results, r.tier, r.cases, r.prices, r.shard),
    }
    assert tuple(files) == REPORT_FILES
    written = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
