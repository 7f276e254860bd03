"""The result store: one facade over the store's concerns, on an SQLite file or a shared PostgreSQL
database.

========================  ==========================================================
``store.cache``           cache entries and fresh results (:mod:`evalgate.store.cache`)
``store.history``         runs, their results, baselines, shards (:mod:`evalgate.store.history`)
``store.judgements``      judge verdicts (:mod:`evalgate.store.judgements`)
``store.maps``            dependency maps, unions, suite maps (:mod:`evalgate.store.maps`)
``store.db``              the connection, its failures and the spool (:mod:`evalgate.store.database`)
========================  ==========================================================

Open it with :meth:`ResultStore.open` (a file) or :meth:`ResultStore.open_url` (PostgreSQL).
When the store cannot be used it is *disabled*: lookups miss, writes are dropped, and
``problems`` says why; a run goes on and reports every case.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalgate.store.cache import ResultCache
from evalgate.store.database import Database
from evalgate.store.history import RunHistory
from evalgate.store.judgements import Judgements
from evalgate.store.maps import DependencyMaps
from evalgate.store.trust import Trust


@dataclass(frozen=True)
class CacheStats:
    """What ``evalgate cache stats`` prints."""

    path: str
    """The file, or the shared store's URL (without a password)."""
    entries: int
    size_bytes: int
    last_run: dict[str, Any] | None
    judgements: int = 0
    """Judge verdicts kept (a ``judge`` scorer's calls, reused when the judged texts recur)."""


class ResultStore:
    """The store's parts over one :class:`~evalgate.store.database.Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.cache = ResultCache(db)
        self.history = RunHistory(db)
        self.judgements = Judgements(db)
        self.maps = DependencyMaps(db)

    @classmethod
    def open(cls, path: Path, trust: Trust | None = None) -> ResultStore:
        """The SQLite store at ``path`` (created when new; never raises for a bad file)."""
        store = cls(Database.open(path))
        if trust is not None:
            store.db.trust = trust
        return store

    @classmethod
    def open_url(cls, url: str, trust: Trust | None = None) -> ResultStore:
        """The shared store at a ``postgresql://`` URL (tables created on first use)."""
        store = cls(Database.open_url(url))
        if trust is not None:
            store.db.trust = trust
        return store

    @property
    def enabled(self) -> bool:
        """False when the store could not be opened or a write failed."""
        return self.db.enabled

    @property
    def problems(self) -> list[str]:
        """What went wrong, one line each, for the run to print (signature failures included)."""
        found = [*self.db.problems, *self.db.trust.report()]
        if self.maps.tampered:
            found.append(f"ignored {self.maps.tampered} dependency map(s) whose content does not match their id")
        return found

    @property
    def notices(self) -> list[str]:
        return self.db.notices

    @property
    def location(self) -> str:
        return self.db.location

    @property
    def url(self) -> str | None:
        return self.db.url

    @property
    def path(self) -> Path:
        return self.db.path

    def stats(self) -> CacheStats:
        """Entries, size, and the last finished run's hit rate."""
        return CacheStats(self.location, self.cache.count(), self.db.size_bytes() if self.enabled else 0,
                          self.history.last_finished(), self.judgements.count())

    def prune(self, older_than_seconds: float | None = None, max_bytes: int | None = None) -> int:
        """Delete entries unused for longer than ``older_than_seconds`` (and run history older
        than that) and then, least recently used first, entries and run results until the store
        fits ``max_bytes``. Returns how many cache entries went."""
        import time

        db = self.db
        if db.connection is None:
            return 0
        removed = 0
        with db.lock:
            if older_than_seconds is not None:
                cutoff = time.time() - older_than_seconds
                with db.transaction() as connection:
                    removed += connection.execute("DELETE FROM cache WHERE used_at < ?", (cutoff,)).rowcount
                    connection.execute("DELETE FROM results WHERE created_at < ?", (cutoff,))
                    connection.execute("DELETE FROM runs WHERE started_at < ?", (cutoff,))
            db.compact()
            while max_bytes is not None and db.size_bytes() > max_bytes:
                entries = db.connection.execute("SELECT COUNT(*) FROM cache").fetchone()[0]
                rows = db.connection.execute("SELECT COUNT(*) FROM results").fetchone()[0]
                if entries == 0 and rows == 0:
                    break
                with db.transaction() as connection:  # the oldest tenth of both tables per round
                    removed += connection.execute(
                        "DELETE FROM cache WHERE rowid IN (SELECT rowid FROM cache ORDER BY used_at LIMIT ?)",
                        (max(1, entries // 10),)).rowcount
                    connection.execute(
                        "DELETE FROM results WHERE rowid IN (SELECT rowid FROM results ORDER BY created_at LIMIT ?)",
                        (max(1, rows // 10),))
                db.compact()
        return removed

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self.db.close()
