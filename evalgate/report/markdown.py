"""summary.md: the verdicts as a markdown table, for humans and GitHub step summaries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from evalgate.report.table import HEADERS, headline, rows
from evalgate.results import CaseResult
from evalgate.untrusted import code_span, html_text, markdown_text
from evalgate.verdict.gate import SuiteVerdict, Verdict

_ICONS = {
    Verdict.PASS: "✅",
    Verdict.FAIL: "❌",
    Verdict.ERROR: "❌",
    Verdict.INCOMPLETE: "⚠️",
    Verdict.UNDECIDED: "❔",
    Verdict.SKIPPED: "⏭️",
}


CASES_SHOWN = 20
"""Failed or errored cases listed per suite; the rest are counted (keeps the summary far
below GitHub's 1 MiB step-summary limit, whatever the suite size)."""


def summary_markdown(
    verdicts: Sequence[SuiteVerdict], tier: str, results: Sequence[CaseResult] = (), shard: str | None = None
) -> str:
    """The whole summary document."""
    title = f"## evalgate: {markdown_text(headline(verdicts))}"
    if shard:
        title = f"## evalgate shard {shard} (partial: merge the shards with `evalgate report merge`)"
    lines = [title, "", f"Tier: {code_span(tier)}", ""]
    lines.append("| " + " | ".join(HEADERS) + " |")
    lines.append("|" + "---|" * len(HEADERS))
    for verdict, cells in zip(verdicts, rows(verdicts), strict=True):
        # The suite name comes from a file name, the rest from evalgate: escape accordingly.
        marked = (code_span(cells[0], table=True), f"{_ICONS[verdict.verdict]} {cells[1]}", *(markdown_text(cell) for cell in cells[2:]))
        lines.append("| " + " | ".join(marked) + " |")
    lines.append("")
    lines.extend(f"- {code_span(v.suite)}: {markdown_text(v.reason, limit=1000)}" for v in verdicts)
    lines.append("")
    lines.extend(_failed_cases(results))
    return "\n".join(lines)


def _failed_cases(results: Sequence[CaseResult]) -> list[str]:
    by_suite: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        if result.errored or result.passed is False:
            by_suite[result.suite].append(result)
    lines: list[str] = []
    for suite, failed in sorted(by_suite.items()):
        lines += [f"<details><summary>{html_text(suite)}: {len(failed)} failed or errored case run(s)</summary>", ""]
        for result in failed[:CASES_SHOWN]:
            why = result.error.message if result.error else result.explanation
            kind = f"error ({result.error.kind})" if result.error else "failed"
            # Model output and error text are untrusted: a code span shows them literally
            # (no markup, no closing </details>, no links or images).
            lines.append(f"- {code_span(result.case_id)} {kind}: {code_span(why)}")
        if len(failed) > CASES_SHOWN:
            lines.append(f"- … and {len(failed) - CASES_SHOWN} more (see results.json)")
        lines += ["", "</details>", ""]
    return lines
