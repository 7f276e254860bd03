"""The verdict table printed at the end of a pytest run."""

from __future__ import annotations

from collections.abc import Sequence

from evalgate.report.table import HEADERS, headline, rows
from evalgate.verdict.gate import SuiteVerdict


def table_lines(verdicts: Sequence[SuiteVerdict]) -> list[str]:
    """Aligned plain-text lines: header, one row per suite, then each non-pass reason."""
    cells = [HEADERS, *rows(verdicts)]
    widths = [max(len(line[col]) for line in cells) for col in range(len(HEADERS))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip() for line in cells]
    lines.extend(f"{v.suite}: {v.verdict} — {v.reason}" for v in verdicts)
    lines.append(headline(verdicts))
    return lines
