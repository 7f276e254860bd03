"""Settled suites, shared between the xdist controller and its workers.

The controller decides (it sees every result, in sampling order); the workers run the
items. When a suite is settled, the controller posts the reason as a file named after
the suite in a folder every process knows (handed to workers in ``workerinput``); a
worker checks for the file before running each of the suite's items — a ``stat``, cheap
next to a model call. Without xdist there is no folder, only the in-memory record.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


class Decisions:
    """Which suites are settled, and why (the skip reason for their remaining items)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.reasons: dict[str, str] = {}

    @classmethod
    def shared(cls) -> Decisions:
        """A record with a fresh folder, for a controller with xdist workers."""
        return cls(Path(tempfile.mkdtemp(prefix="evalgate-decisions-")))

    def post(self, suite: str, reason: str) -> None:
        """Record (and publish, with a folder) that ``suite`` is settled."""
        self.reasons[suite] = reason
        if self.folder is not None:
            (self.folder / suite).write_text(reason, encoding="utf-8")

    def reason(self, suite: str) -> str | None:
        """Why ``suite`` is settled, or None; reads what another process posted."""
        if suite not in self.reasons and self.folder is not None:
            posted = self.folder / suite
            if posted.exists():
                self.reasons[suite] = posted.read_text(encoding="utf-8")
        return self.reasons.get(suite)

    def remove(self) -> None:
        """Delete the shared folder (the controller, at the end of the run)."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
