"""Judge verdicts, kept by judge, rubric and judged texts: when a model change leaves an output as
it was, its verdict is reused and no judge is called.

A stored verdict decides a case as surely as a cached result does, so it carries its writer's
ref and signature like every row (:mod:`evalgate.store.trust`): a ``{"pass": true}`` written
into a shared database for a failing output's key is never read.
"""

from __future__ import annotations

import time

from evalgate.store.database import Database


class Judgements:
    """The ``judgements`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str) -> str | None:
        """A judge's stored verdict (JSON) for this key that this run may trust, or None."""
        rows = self.db.query("SELECT ref, verdict, sig FROM judgements WHERE key = ? ORDER BY created_at DESC", (key,))
        for ref, verdict, sig in rows or []:
            if self.db.trust.accepts("judgements", ref, sig, (key, verdict)):
                return str(verdict)
        return None

    def put(self, key: str, verdict: str) -> None:
        """Keep a judge's verdict (written at once, like a case result)."""
        trust = self.db.trust
        self.db.write_many(
            "INSERT OR REPLACE INTO judgements (key, ref, verdict, created_at, sig) VALUES (?, ?, ?, ?, ?)",
            [(key, trust.ref, verdict, time.time(), trust.sign("judgements", trust.ref, (key, verdict)))],
        )

    def count(self) -> int:
        rows = self.db.query("SELECT COUNT(*) FROM judgements")
        return int(rows[0][0]) if rows else 0
