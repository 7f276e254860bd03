"""The result cache: a fresh result stored the moment its call completes, and found again by key.

Correctness first: a cached result is reused only when *everything* that determines it is
unchanged — the key (:mod:`evalgate.store.keys`) hashes the model's fingerprint, declared
components, the case, the scorer and the schema version; and the dependencies recorded
while the suite ran (:mod:`evalgate.store.deps`) must still hold. Each entry belongs to the
run that made it (``run_id``), and what it depended on is that run's *union* of everything
any call of its suite read or executed (``suite_unions``): a prompt read once behind an
``lru_cache`` is a dependency of every result of the suite, not only of the call that read
it. Errors are never cached. Every entry carries its writer's ref and signature
(:mod:`evalgate.store.trust`); entries the run may not trust are never returned.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evalgate.results import CaseResult, result_from_json, result_to_json
from evalgate.store.database import Database, locked
from evalgate.store.deps import DepMap


@dataclass(frozen=True)
class Entry:
    """A cached result and what it was produced under."""

    result: CaseResult
    deps: str
    """The id of the producing call's own dependency map (kept to explain a miss)."""
    run_id: str
    """The run that produced it: its union of the suite's dependencies decides validity."""
    suite: str
    """The suite that produced it (the union is the suite's)."""


@dataclass
class _Write:
    """A result waiting to be stored, its JSON encoded by the thread that made it."""

    run_id: str
    key: str
    parts: str
    result: CaseResult
    encoded: str
    deps: DepMap | None
    union: DepMap | None
    part: str
    done: bool = False


class ResultCache:
    """Cache entries and the fresh results of runs (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.waiting: list[_Write] = []
        """Results handed to :meth:`store` and not yet committed (under ``waiting_lock``)."""
        self.waiting_lock = threading.Lock()
        self.deps_written: set[str] = set()
        """Ids of dependency maps this process stored: most calls share one map."""

    @locked
    def lookup_many(self, keys: list[str]) -> dict[str, list[Entry]]:
        """The entries this run may trust for each key that has one, newest first (one query per
        500 keys). A change and its revert are entries of two runs, so going back hits again."""
        found: dict[str, list[Entry]] = {}
        trust = self.db.trust
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.query(
                "SELECT key, run_id, ref, suite, case_id, repeat, parts, result, deps, sig FROM cache "
                f"WHERE key IN ({marks}) ORDER BY created_at DESC", chunk)
            if rows is None:
                return {}
            for key, run_id, ref, suite, case_id, repeat, parts, result, deps, sig in rows:
                if trust.accepts("cache", ref, sig, (key, run_id, suite, case_id, repeat, parts, result, deps)):
                    found.setdefault(key, []).append(Entry(result_from_json(result), deps, run_id, suite))
        return found

    def store(self, run_id: str, key: str | None, parts: Mapping[str, Any], result: CaseResult,
              deps: DepMap | None = None, union: DepMap | None = None, part: str = "") -> None:
        """Record a freshly computed result of a run and, unless it errored (errors are never
        cached) or there is no ``key``, cache it with the map of its call; ``union``, when the
        suite's union for this run grew in this process (``part``: an xdist worker's id; the
        run's union is the union of its parts), is stored with it — committed before this returns,
        so a killed run keeps it and every entry's union covers it.

        Writes that arrive together share one transaction (group commit): the thread that gets
        the lock commits every write waiting by then, and the others find theirs done."""
        if not self.db.enabled:
            return
        write = _Write(run_id, key or "", json.dumps(parts, sort_keys=True, default=str), result, result_to_json(result), deps,
                       union, part)
        with self.waiting_lock:
            self.waiting.append(write)
        with self.db.lock:  # held by the thread committing a batch; the waiting queue is not
            if write.done:
                return
            with self.waiting_lock:
                batch, self.waiting = self.waiting, []
            statements: list[tuple[str, tuple[Any, ...]]] = []
            now = time.time()
            written = set(self.deps_written)
            for each in batch:
                statements += self._statements(each, now, written)
            self.db.run_statements(statements)
            if self.db.enabled:
                self.deps_written = written
            for each in batch:
                each.done = True

    def _statements(self, write: _Write, now: float, deps_written: set[str]) -> list[tuple[str, tuple[Any, ...]]]:
        trust, ref, result = self.db.trust, self.db.trust.ref, write.result
        row = (write.run_id, result.suite, result.row_id, result.repeat, int(result.cached), write.encoded)
        statements: list[tuple[str, tuple[Any, ...]]] = [(INSERT_RESULT, (*row, now, trust.sign("results", ref, row)))]
        for deps in (write.deps, write.union):
            if deps is not None and deps.id not in deps_written:
                deps_written.add(deps.id)
                statements.append(("INSERT OR IGNORE INTO deps (id, map, created_at) VALUES (?, ?, ?)", (deps.id, deps.to_json(), now)))
        if write.union is not None:
            union = (write.run_id, result.suite, write.part, write.union.id)
            statements.append(("INSERT OR REPLACE INTO suite_unions (run_id, suite, part, ref, deps, sig) VALUES (?, ?, ?, ?, ?, ?)",
                               (*union[:3], ref, union[3], trust.sign("suite_unions", ref, union))))
        if not result.errored and write.key:
            deps_id = write.deps.id if write.deps is not None else ""
            fields = (write.key, write.run_id, result.suite, result.row_id, result.repeat, write.parts, write.encoded, deps_id)
            statements.append((
                "INSERT OR REPLACE INTO cache (key, run_id, ref, suite, case_id, repeat, parts, result, deps, created_at, "
                "used_at, sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (write.key, write.run_id, ref, *fields[2:], now, now, trust.sign("cache", ref, fields)),
            ))
        return statements

    def touch(self, entries: list[tuple[str, str]]) -> None:
        """Mark entries (key, producing run) as used now, so pruning by age keeps what runs
        still use and lets the versions they no longer match go first."""
        now = time.time()
        self.db.write_many("UPDATE cache SET used_at = ? WHERE key = ? AND run_id = ?", [(now, key, run) for key, run in entries])

    def newest_entry(self, suite: str, case_id: str) -> tuple[dict[str, Any], float, str, str] | None:
        """The key parts, time, map id and producing run of the newest entry of a case this run
        may trust, for ``explain``."""
        rows = self.db.query(
            "SELECT key, run_id, ref, suite, case_id, repeat, parts, result, deps, sig, created_at FROM cache "
            "WHERE suite = ? AND case_id = ? ORDER BY created_at DESC LIMIT 20", (suite, case_id))
        for key, run_id, ref, row_suite, row_case, repeat, parts, result, deps, sig, created in rows or []:
            if self.db.trust.accepts("cache", ref, sig, (key, run_id, row_suite, row_case, repeat, parts, result, deps)):
                return json.loads(parts), float(created), deps, run_id
        return None

    def recent_results(self, suite: str, limit: int = 200) -> list[CaseResult]:
        """The newest cached results of a suite this run may trust (for the plan's cost
        estimate: what a call of the suite has cost)."""
        rows = self.db.query(
            "SELECT key, run_id, ref, suite, case_id, repeat, parts, result, deps, sig FROM cache "
            "WHERE suite = ? ORDER BY created_at DESC LIMIT ?", (suite, limit))
        found = []
        for key, run_id, ref, row_suite, row_case, repeat, parts, result, deps, sig in rows or []:
            if self.db.trust.accepts("cache", ref, sig, (key, run_id, row_suite, row_case, repeat, parts, result, deps)):
                found.append(result_from_json(result))
        return found

    def count(self) -> int:
        rows = self.db.query("SELECT COUNT(*) FROM cache")
        return int(rows[0][0]) if rows else 0


INSERT_RESULT = (
    "INSERT OR REPLACE INTO results (run_id, suite, case_id, repeat, cached, result, created_at, sig) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
