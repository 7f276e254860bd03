"""The verdict table printed at the end of a pytest run."""

from __future__ import annotations

from collections.abc import Sequence

from evalgate.report.table import HEADERS, SLICE_HEADERS, gap_line, headline, rows, slice_rows
from evalgate.untrusted import log_line, one_line
from evalgate.verdict.gate import SuiteVerdict


def table_lines(verdicts: Sequence[SuiteVerdict], shard: str | None = None) -> list[str]:
    """Aligned plain-text lines: header, one row per suite, then each verdict's reason, then
    each suite's slices — every line escaped for a CI log (reasons quote error text; names
    come from files)."""
    lines = _aligned([HEADERS, *rows(verdicts)])
    lines.extend(f"{v.suite}: {v.verdict} — {v.reason}" for v in verdicts)
    for verdict in verdicts:
        if verdict.slices:
            lines.append(f"{verdict.suite} slices:")
            lines.extend(f"  {line}" for line in _aligned([SLICE_HEADERS, *slice_rows(verdict)]))
            gap = gap_line(verdict)
            if gap:
                lines.append(f"  {gap}")
    lines.append(headline(verdicts, shard))
    return [log_line(line) for line in lines]


def _aligned(table: Sequence[Sequence[str]]) -> list[str]:
    cells = [[one_line(cell) for cell in line] for line in table]
    widths = [max(len(line[col]) for line in cells) for col in range(len(cells[0]))]
    return ["  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip() for line in cells]
