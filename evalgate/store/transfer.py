"""Moving cache entries between two stores: a laptop's SQLite file and the team's shared
PostgreSQL store (``evalgate cache push`` / ``pull``).

What moves is what a later run needs to reuse a result and to plan: cache entries (with the
key parts that explain a miss), the dependency maps they were produced under, and each
suite's latest map. Run history stays where it was made. An entry that is already there
(the same key under the same map: the same result, by construction of the key) is left as
it is, so pushing twice, or pushing while CI writes, copies nothing twice and loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from evalgate.store.sqlite import ResultStore

BATCH = 1000


@dataclass(frozen=True)
class Copied:
    """What one transfer wrote into the target (rows it did not have before)."""

    entries: int
    maps: int


def copy_entries(source: ResultStore, target: ResultStore) -> Copied:
    """Copy every cache entry, dependency map and suite map of ``source`` that ``target``
    lacks; raises the backends' errors (the CLI turns them into one line)."""
    if source.connection is None or target.connection is None:
        problems = "; ".join([*source.problems, *target.problems]) or "a store is not open"
        raise OSError(problems)
    maps = _copy(source, target, "deps", ("id", "map", "created_at"))
    entries = _copy(
        source, target, "cache", ("key", "deps", "suite", "case_id", "repeat", "parts", "result", "created_at", "used_at")
    )
    _copy(source, target, "suite_maps", ("suite", "run_id", "recorded_at", "deps"))
    return Copied(entries, maps)


def send_spool(spool: ResultStore, target: ResultStore) -> int:
    """Send everything a run kept in its local spool while the shared store was gone — cache
    entries, maps, and its run with its results, so baselines and shards see it — into
    ``target``; the number of results sent."""
    copy_entries(spool, target)
    _copy(spool, target, "runs", ("run_id", "label", "started_at", "finished_at", "hits", "misses", "commit_sha", "branch", "run_group"))
    sent = _copy(spool, target, "results", ("run_id", "suite", "case_id", "repeat", "cached", "result", "created_at"))
    _copy(spool, target, "run_suites", ("run_id", "suite", "complete", "selected", "verdict"))
    _copy(spool, target, "run_deps", ("run_id", "suite", "deps"))
    return sent


def _copy(source: ResultStore, target: ResultStore, table: str, columns: tuple[str, ...]) -> int:
    assert source.connection is not None and target.connection is not None
    before = target.connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    rows = source.connection.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
    insert = f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    for start in range(0, len(rows), BATCH):
        with target.lock:
            target.connection.execute("BEGIN IMMEDIATE")
            try:
                target.connection.executemany(insert, [tuple(row) for row in rows[start : start + BATCH]])
            except BaseException:
                target.connection.execute("ROLLBACK")
                raise
            target.connection.execute("COMMIT")
    after = target.connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return int(after - before)
