"""The verdict table's cells, shared by the terminal and the markdown summary."""

from __future__ import annotations

from collections.abc import Sequence

from evalgate.gate import SuiteVerdict

HEADERS = ("suite", "verdict", "pass rate", "interval", "gate", "cases", "errors", "cached", "time")


def percent(value: float | None) -> str:
    """``0.5634`` → ``56.3%``; None → ``-``."""
    return "-" if value is None else f"{value:.1%}"


def row(verdict: SuiteVerdict) -> tuple[str, ...]:
    """One suite's cells, in HEADERS order."""
    low, high = verdict.interval
    interval = "-" if not verdict.scored else f"[{percent(low)}, {percent(high)}] {verdict.method}"
    return (
        verdict.suite,
        str(verdict.verdict),
        percent(verdict.pass_rate),
        interval,
        f"≥ {percent(verdict.threshold)}",
        f"{verdict.cases_run}/{verdict.cases_total}",
        f"{verdict.errors}/{verdict.max_errors}",
        f"{verdict.cache_hits}/{verdict.cache_hits + verdict.model_calls}",
        f"{verdict.seconds:.1f}s",
    )


def rows(verdicts: Sequence[SuiteVerdict]) -> list[tuple[str, ...]]:
    """Every suite's cells."""
    return [row(verdict) for verdict in verdicts]


def headline(verdicts: Sequence[SuiteVerdict]) -> str:
    """One line: how many gates passed and failed."""
    blocking = [v.suite for v in verdicts if v.blocks_merge]
    decided = [v for v in verdicts if v.verdict != "SKIPPED"]
    if not decided:
        return "no gate ran"
    if blocking:
        return f"{len(blocking)} of {len(decided)} gate(s) block the merge: {', '.join(blocking)}"
    return f"all {len(decided)} gate(s) passed"
