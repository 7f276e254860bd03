"""The verdict table printed at the end of a pytest run."""

from __future__ import annotations

from collections.abc import Sequence

from evalgate.report.table import HEADERS, headline, rows
from evalgate.untrusted import log_line, one_line
from evalgate.verdict.gate import SuiteVerdict


def table_lines(verdicts: Sequence[SuiteVerdict]) -> list[str]:
    """Aligned plain-text lines: header, one row per suite, then each verdict's reason —
    every line escaped for a CI log (reasons quote error text; names come from files)."""
    cells = [HEADERS, *([one_line(cell) for cell in row] for row in rows(verdicts))]
    widths = [max(len(line[col]) for line in cells) for col in range(len(HEADERS))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip() for line in cells]
    lines.extend(f"{v.suite}: {v.verdict} — {v.reason}" for v in verdicts)
    lines.append(headline(verdicts))
    return [log_line(line) for line in lines]
