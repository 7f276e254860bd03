"""summary.md: the verdicts as a markdown table, for humans and GitHub step summaries."""

from __future__ import annotations

from collections.abc import Sequence

from evalgate.gate import SuiteVerdict, Verdict
from evalgate.report.table import HEADERS, headline, rows

_ICONS = {
    Verdict.PASS: "✅",
    Verdict.FAIL: "❌",
    Verdict.ERROR: "❌",
    Verdict.INCOMPLETE: "⚠️",
    Verdict.UNDECIDED: "❔",
    Verdict.SKIPPED: "⏭️",
}


def summary_markdown(verdicts: Sequence[SuiteVerdict], tier: str) -> str:
    """The whole summary document."""
    lines = [f"## evalgate: {headline(verdicts)}", "", f"Tier: `{tier}`", ""]
    lines.append("| " + " | ".join(HEADERS) + " |")
    lines.append("|" + "---|" * len(HEADERS))
    for verdict, cells in zip(verdicts, rows(verdicts)):
        marked = (cells[0], f"{_ICONS[verdict.verdict]} {cells[1]}", *cells[2:])
        lines.append("| " + " | ".join(_escape(cell) for cell in marked) + " |")
    lines.append("")
    lines.extend(f"- **{v.suite}**: {_escape(v.reason)}" for v in verdicts)
    lines.append("")
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("|", "\\|")
