"""The verdict table's cells, shared by the terminal and the markdown summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalgate.verdict.gate import SuiteVerdict
from evalgate.verdict.slices import SliceVerdict

HEADERS = ("suite", "verdict", "pass rate", "interval", "gate", "cases", "errors", "saved", "time")
"""``cases`` is counted/population: the cases the verdict read, of those it is about (and how
many ran, when more ran than it needed); ``time`` is the suite's wall time."""


def percent(value: float | None) -> str:
    """``0.5634`` → ``56.3%``; None → ``-``."""
    return "-" if value is None else f"{value:.1%}"


def row(verdict: SuiteVerdict) -> tuple[str, ...]:
    """One suite's cells, in HEADERS order."""
    low, high = verdict.interval
    ran = verdict.scored + verdict.errors
    interval = "-" if not ran else f"[{percent(low)}, {percent(high)}] {verdict.method}"
    return (
        verdict.suite,
        str(verdict.verdict),
        percent(verdict.pass_rate),
        interval,
        f"≥ {percent(verdict.threshold)} α={verdict.alpha:g}",
        cases(verdict),
        str(verdict.errors) if verdict.max_errors is None else f"{verdict.errors}/{verdict.max_errors}",
        saved(verdict),
        "-" if verdict.wall_seconds is None else f"{verdict.wall_seconds:.1f}s",
    )


def cases(verdict: SuiteVerdict) -> str:
    """``26/30``: the verdict read 26 of the 30 cases it is about; ``(29 ran)`` when calls
    already under way when it settled finished too; ``selected`` for a -k selection."""
    if verdict.verdict == "SKIPPED":
        return f"0/{verdict.population}"
    text = f"{verdict.counted}/{verdict.population}"
    if verdict.cases_run > verdict.counted:
        text += f" ({verdict.cases_run} ran)"
    return text + (" selected" if verdict.selected else "")


def saved(verdict: SuiteVerdict) -> str:
    """Model calls saved, by source: ``cache 20, sample 280, stop 100`` (or ``-``), and the
    calls made after the verdict settled (``6 after``)."""
    parts = [
        f"{label} {count}"
        for label, count in (
            ("cache", verdict.cache_hits),
            ("sample", verdict.saved_by_sampling),
            ("stop", verdict.saved_by_early_stop),
        )
        if count
    ]
    if verdict.calls_after_verdict:
        parts.append(f"{verdict.calls_after_verdict} after")  # calls in flight when the verdict settled
    return ", ".join(parts) or "-"


def rows(verdicts: Sequence[SuiteVerdict]) -> list[tuple[str, ...]]:
    """Every suite's cells."""
    return [row(verdict) for verdict in verdicts]


def headline(verdicts: Sequence[SuiteVerdict], shard: str | None = None) -> str:
    """One line: what blocks the merge, if anything (for a shard: nothing does — the merge
    decides — so it says what would, so far)."""
    blocking = [v.suite for v in verdicts if v.blocks_merge]
    decided = [v for v in verdicts if v.verdict != "SKIPPED"]
    undecided = [v.suite for v in decided if v.verdict == "UNDECIDED" and not v.blocks_merge]
    if not decided:
        return "no gate ran"
    if shard:
        so_far = f"{len(blocking)} of {len(decided)} would block so far ({_few(blocking)})" if blocking else "none would block so far"
        return f"shard {shard}: partial verdicts, not gated — {so_far}; the merged report decides"
    if blocking:
        return f"{len(blocking)} of {len(decided)} gate(s) block the merge: {_few(blocking)}"
    if undecided:
        return f"no gate blocks the merge; undecided (by policy, not blocking): {_few(undecided)}"
    return f"all {len(decided)} gate(s) passed"


NAMED = 5
"""Suites a headline names; the rest are counted (an outage can fail hundreds at once)."""


def _few(names: Sequence[str]) -> str:
    shown = ", ".join(names[:NAMED])
    return shown if len(names) <= NAMED else f"{shown} and {len(names) - NAMED} more"


ICONS = {"PASS": "✅", "FAIL": "❌", "ERROR": "❌", "INCOMPLETE": "⚠️", "UNDECIDED": "❔", "SKIPPED": "⏭️"}
"""A verdict's sign in markdown and the PR comment."""

_RANK = {"UNDECIDED": 0, "ERROR": 0, "INCOMPLETE": 0, "FAIL": 1, "PASS": 2, "SKIPPED": 3}


def urgency(suite: Any) -> tuple[bool, int]:
    """Sort key putting first what a reviewer must look at: gates that block, then unsettled
    or broken ones, then passes, then skipped suites. Takes a SuiteVerdict or a SuiteReport."""
    return not suite.blocks_merge, _RANK.get(str(suite.verdict), 1)


SLICE_HEADERS = ("slice", "verdict", "pass rate", "interval", "gate", "cases", "errors")
_SLICE_RANK = {"FAIL": 0, "UNDECIDED": 1, "PASS": 2, "not gated": 3}


def slice_rows(verdict: SuiteVerdict) -> list[tuple[str, ...]]:
    """A suite's slices, failing first (then undecided, passing, not gated), lowest rate first."""
    ordered = sorted(verdict.slices, key=lambda s: (_SLICE_RANK[s.verdict], s.pass_rate if s.pass_rate is not None else 2.0))
    return [_slice_row(each) for each in ordered]


def _slice_row(each: SliceVerdict) -> tuple[str, ...]:
    low, high = each.interval
    interval = "-" if not each.read else ("exact" if each.exact else f"[{percent(low)}, {percent(high)}]")
    gate = f"≥ {percent(each.threshold)}" if each.gated else "too small to gate"
    return (each.tag, each.verdict, percent(each.pass_rate), interval, gate, f"{each.read}/{each.population}", str(each.errors))


def gap_line(verdict: SuiteVerdict) -> str | None:
    """One line for the gap gate, or None without one."""
    gap = verdict.gap
    if gap is None:
        return None
    low, high = gap.interval
    spread = percent(low) if gap.exact else f"[{percent(low)}, {percent(high)}]"
    outcome = gap.decision or "UNDECIDED"
    return f"gap {outcome}: {gap.best} − {gap.worst} = {spread} (max_gap {percent(gap.max_gap)})"
