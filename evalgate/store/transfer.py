"""Moving cache entries between two stores: a laptop's SQLite file and the team's shared
PostgreSQL store (``evalgate cache push`` / ``pull``).

What moves is what a later run needs to reuse a result and to plan: cache entries (with the
key parts that explain a miss), the dependency maps and the runs' unions they are valid
under, and each suite's latest map — each row with its ref and signature as written, so a
pushed row is trusted exactly as much as where it came from. Run history stays where it was
made. An entry that is already there (the same key from the same run) is left as it is, so
pushing twice, or pushing while CI writes, copies nothing twice and loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evalgate.store.sqlite import ResultStore

BATCH = 1000
_QUARANTINE: Quarantine | None = None
"""Where :func:`_copy` puts refused rows while a spool is sent (None: a refusal raises)."""


@dataclass(frozen=True)
class Copied:
    """What one transfer wrote into the target (rows it did not have before)."""

    entries: int
    maps: int


def copy_entries(source: ResultStore, target: ResultStore) -> Copied:
    """Copy every cache entry, dependency map and suite map of ``source`` that ``target``
    lacks; raises the backends' errors (the CLI turns them into one line)."""
    if source.db.connection is None or target.db.connection is None:
        problems = "; ".join([*source.problems, *target.problems]) or "a store is not open"
        raise OSError(problems)
    maps = _copy(source, target, "deps", ("id", "map", "created_at"))
    entries = _copy(source, target, "cache", ("key", "run_id", "ref", "suite", "case_id", "repeat", "parts", "result", "deps",
                                              "created_at", "used_at", "sig"))
    _copy(source, target, "suite_unions", ("run_id", "suite", "part", "ref", "deps", "sig"))
    _copy(source, target, "suite_maps", ("suite", "run_id", "part", "recorded_at", "deps", "ref", "sig"))
    return Copied(entries, maps)


@dataclass
class Quarantine:
    """Rows the target refused (a NUL byte PostgreSQL cannot store, say): kept aside, named."""

    rows: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    """``(table, the row by column, why)``."""


def send_spool(spool: ResultStore, target: ResultStore, quarantine: Quarantine | None = None) -> int:
    """Send everything a run kept in its local spool while the shared store was gone — cache
    entries, maps, and its run with its results, so baselines and shards see it — into
    ``target``; the number of results sent. A row the target refuses does not strand the
    rest: it goes to ``quarantine`` and everything else is sent."""
    global _QUARANTINE
    _QUARANTINE = quarantine
    copy_entries(spool, target)
    _copy(spool, target, "runs", ("run_id", "label", "started_at", "finished_at", "hits", "misses", "commit_sha", "branch",
                                  "run_group", "ref", "sig"))
    sent = _copy(spool, target, "results", ("run_id", "suite", "case_id", "repeat", "cached", "result", "created_at", "sig"))
    _copy(spool, target, "run_suites", ("run_id", "suite", "complete", "selected", "verdict", "sig"))
    _copy(spool, target, "judgements", ("key", "ref", "verdict", "created_at", "sig"))
    return sent


def _copy(source: ResultStore, target: ResultStore, table: str, columns: tuple[str, ...]) -> int:
    source_db, target_db = source.db, target.db
    assert source_db.connection is not None and target_db.connection is not None
    before = target_db.connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    rows = source_db.connection.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
    insert = f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    for start in range(0, len(rows), BATCH):
        batch = [tuple(row) for row in rows[start : start + BATCH]]
        try:
            with target_db.lock, target_db.transaction() as connection:
                connection.executemany(insert, batch)
        except target_db.errors:
            if _QUARANTINE is None:
                raise
            for row in batch:  # one at a time: only the rows the target refuses stay behind
                try:
                    with target_db.lock, target_db.transaction() as connection:
                        connection.execute(insert, row)
                except target_db.errors as err:
                    _QUARANTINE.rows.append((table, dict(zip(columns, row, strict=True)), type(err).__name__))
    after = target_db.connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return int(after - before)
