"""The progress line of long runs: cases done / total, in flight, cached, errors, rate.

Printed at most every few seconds, and only once a run has lasted that long, so short
runs stay quiet and a slow endpoint never looks like a hang.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from evalgate.results import CaseResult

INTERVAL_SECONDS = 5.0


@dataclass
class Progress:
    """Counters of one run, fed one result at a time."""

    total: int
    done: int = 0
    cached: int = 0
    errors: int = 0
    started: float = field(default_factory=time.monotonic)
    last_shown: float = field(default_factory=time.monotonic)
    interval: float = INTERVAL_SECONDS

    def update(self, result: CaseResult) -> None:
        """Count one finished case run."""
        self.done += 1
        self.cached += result.cached
        self.errors += result.errored

    def due(self, now: float | None = None) -> bool:
        """True when the line should be shown now (and marks it shown)."""
        now = time.monotonic() if now is None else now
        if now - self.last_shown < self.interval:
            return False
        self.last_shown = now
        return True

    def line(self, in_flight: int | None = None, now: float | None = None) -> str:
        """``evalgate: 120/1000 cases, 8 in flight, 30 cached, 0 errors, 12.3 cases/s``."""
        elapsed = max(1e-9, (time.monotonic() if now is None else now) - self.started)
        flight = "" if in_flight is None else f", {in_flight} in flight"
        return (
            f"evalgate: {self.done}/{self.total} cases{flight}, {self.cached} cached, "
            f"{self.errors} errors, {self.done / elapsed:.1f} cases/s"
        )
