"""summary.md: the verdicts as a markdown table, for humans and GitHub step summaries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from evalgate.report.cost import Prices, cost_line, suite_costs, total_line
from evalgate.report.table import HEADERS, ICONS, SLICE_HEADERS, gap_line, headline, rows, slice_rows, urgency
from evalgate.results import CaseResult
from evalgate.untrusted import code_span, html_text, markdown_text
from evalgate.verdict.gate import SuiteVerdict

CASES_SHOWN = 20
"""Failed or errored cases listed per suite; the rest are counted."""

BUDGET = 1_000_000
"""Bytes the summary may take: GitHub drops a step summary over 1 MiB whole, so the
document stops short of it with a note pointing at the artifact, whatever the suites."""


def summary_markdown(
    verdicts: Sequence[SuiteVerdict],
    tier: str,
    results: Sequence[CaseResult] = (),
    shard: str | None = None,
    prices: Mapping[str, Prices] | None = None,
) -> str:
    """The whole summary document: suites that block first, then undecided and errored ones,
    then the rest; within :data:`BUDGET` bytes."""
    ordered = sorted(verdicts, key=urgency)
    title = f"## evalgate: {markdown_text(headline(ordered, shard))}"
    costs = suite_costs(ordered, results, prices)
    total = total_line(costs)
    page = _Page(BUDGET)
    page.add(title, "", f"Tier: {code_span(tier)}", *([f"{markdown_text(total)}"] if total else []), "")
    page.add("| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS))
    for verdict, cells in zip(ordered, rows(ordered), strict=True):
        # The suite name comes from a file name, the rest from evalgate: escape accordingly.
        marked = (code_span(cells[0], table=True), f"{ICONS[verdict.verdict]} {cells[1]}", *(markdown_text(cell) for cell in cells[2:]))
        page.add("| " + " | ".join(marked) + " |")
    page.add("")
    page.add(*(f"- {code_span(v.suite)}: {markdown_text(v.reason, limit=1000)}" for v in ordered))
    for verdict in ordered:
        if verdict.slices:
            page.add("", f"**Slices of {code_span(verdict.suite)}** (failing first)", "")
            page.add("| " + " | ".join(SLICE_HEADERS) + " |", "|" + "---|" * len(SLICE_HEADERS))
            for cells in slice_rows(verdict):
                icon = ICONS.get(cells[1], "") if cells[1] != "not gated" else ""
                page.add("| " + " | ".join((code_span(cells[0], table=True), f"{icon} {cells[1]}".strip(),
                                            *(markdown_text(cell) for cell in cells[2:]))) + " |")
            gap = gap_line(verdict)
            if gap:
                page.add("", markdown_text(gap))
    page.add("", "<details><summary>Tokens and cost per suite</summary>", "")
    page.add(*(f"- {code_span(v.suite)}: {markdown_text(cost_line(costs[v.suite]))}" for v in ordered))
    page.add("", "</details>", "")
    order = {verdict.suite: rank for rank, verdict in enumerate(ordered)}
    page.add(*_failed_cases(results, order))
    return page.text()


class _Page:
    """Lines up to a byte budget; past it, one note saying what was left out and where it is."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.lines: list[str] = []
        self.size = 0
        self.left_out = 0

    def add(self, *lines: str) -> None:
        for line in lines:
            cost = len(line.encode("utf-8")) + 1
            if self.left_out or self.size + cost > self.budget - 300:  # room for the note
                self.left_out += 1
                continue
            self.lines.append(line)
            self.size += cost

    def text(self) -> str:
        if self.left_out:
            # Close an open <details> so the note stays visible.
            opened = sum(line.startswith("<details>") for line in self.lines) - self.lines.count("</details>")
            self.lines += ["", "</details>"] * opened
            self.lines += ["", f"**Summary cut at {self.size // 1000} kB** (GitHub drops step summaries over 1 MiB): "
                           f"{self.left_out} more line(s) are in `results.json` and `junit.xml` in the reports artifact."]
        return "\n".join(self.lines)


def _failed_cases(results: Sequence[CaseResult], order: dict[str, int]) -> list[str]:
    by_suite: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        if result.errored or result.passed is False:
            by_suite[result.suite].append(result)
    lines: list[str] = []
    for suite, failed in sorted(by_suite.items(), key=lambda item: (order.get(item[0], len(order)), item[0])):
        lines += [f"<details><summary>{html_text(suite)}: {len(failed)} failed or errored case run(s)</summary>", ""]
        for result in failed[:CASES_SHOWN]:
            why = result.error.message if result.error else result.explanation
            kind = f"error ({result.error.kind})" if result.error else "failed"
            # Model output and error text are untrusted: a code span shows them literally
            # (no markup, no closing </details>, no links or images).
            lines.append(f"- {code_span(result.row_id)} {kind}: {code_span(why)}")
        if len(failed) > CASES_SHOWN:
            lines.append(f"- … and {len(failed) - CASES_SHOWN} more (see results.json)")
        lines += ["", "</details>", ""]
    return lines
