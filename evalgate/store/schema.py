"""The store's tables, as recorded migrations both backends apply (SQLite's dialect;
evalgate.store.postgres translates each statement for PostgreSQL)."""

from __future__ import annotations

import time
from typing import Any

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "cache, runs and results tables",
        """
        CREATE TABLE cache (
            key TEXT PRIMARY KEY,
            suite TEXT NOT NULL,
            case_id TEXT NOT NULL,
            repeat INTEGER NOT NULL,
            parts TEXT NOT NULL,
            result TEXT NOT NULL,
            created_at REAL NOT NULL,
            used_at REAL NOT NULL
        );
        CREATE INDEX cache_by_case ON cache (suite, case_id, created_at);
        CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            label TEXT NOT NULL,
            started_at REAL NOT NULL,
            finished_at REAL,
            hits INTEGER NOT NULL DEFAULT 0,
            misses INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE results (
            run_id TEXT NOT NULL,
            suite TEXT NOT NULL,
            case_id TEXT NOT NULL,
            repeat INTEGER NOT NULL,
            cached INTEGER NOT NULL,
            result TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (run_id, suite, case_id, repeat)
        );
        """,
    ),
    (
        2,
        "per-suite facts of finished runs (complete, selected), for baselines",
        """
        CREATE TABLE run_suites (
            run_id TEXT NOT NULL,
            suite TEXT NOT NULL,
            complete INTEGER NOT NULL,
            selected INTEGER NOT NULL,
            verdict TEXT NOT NULL,
            PRIMARY KEY (run_id, suite)
        );
        """,
    ),
    (
        3,
        "recorded dependency maps: per cache entry, per run and per suite",
        """
        CREATE TABLE deps (
            id TEXT PRIMARY KEY,
            map TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        ALTER TABLE cache ADD COLUMN deps TEXT;
        CREATE TABLE run_deps (
            run_id TEXT NOT NULL,
            suite TEXT NOT NULL,
            deps TEXT NOT NULL,
            PRIMARY KEY (run_id, suite, deps)
        );
        CREATE TABLE suite_maps (
            suite TEXT NOT NULL,
            run_id TEXT NOT NULL,
            recorded_at REAL NOT NULL,
            deps TEXT NOT NULL,
            PRIMARY KEY (suite, run_id)
        );
        """,
    ),
    (
        4,
        "cache entries per key and dependency map: a reverted change hits again",
        """
        CREATE TABLE cache_by_map (
            key TEXT NOT NULL,
            deps TEXT NOT NULL DEFAULT '',
            suite TEXT NOT NULL,
            case_id TEXT NOT NULL,
            repeat INTEGER NOT NULL,
            parts TEXT NOT NULL,
            result TEXT NOT NULL,
            created_at REAL NOT NULL,
            used_at REAL NOT NULL,
            PRIMARY KEY (key, deps)
        );
        INSERT INTO cache_by_map (key, deps, suite, case_id, repeat, parts, result, created_at, used_at)
            SELECT key, COALESCE(deps, ''), suite, case_id, repeat, parts, result, created_at, used_at FROM cache;
        DROP TABLE cache;
        ALTER TABLE cache_by_map RENAME TO cache;
        CREATE INDEX cache_by_case ON cache (suite, case_id, created_at)
        """,
    ),
    (
        5,
        "the commit and branch of each run: main's complete runs are the baselines of pull requests",
        """
        ALTER TABLE runs ADD COLUMN commit_sha TEXT;
        ALTER TABLE runs ADD COLUMN branch TEXT;
        CREATE INDEX runs_by_commit ON runs (commit_sha)
        """,
    ),
    (
        6,
        "judge verdicts by judge, rubric and judged texts: a model change re-judges only outputs that changed",
        """
        CREATE TABLE judgements (
            key TEXT PRIMARY KEY,
            verdict TEXT NOT NULL,
            created_at REAL NOT NULL
        )
        """,
    ),
    (
        7,
        "the run group of each run: shards of one CI run read each other's results to stop early together",
        """
        ALTER TABLE runs ADD COLUMN run_group TEXT;
        CREATE INDEX runs_by_group ON runs (run_group)
        """,
    ),
    (
        8,
        "every row carries the ref that wrote it and its signature; a cache entry belongs to the run that "
        "made it, valid while that run's union of the suite's dependencies holds (earlier entries are dropped: "
        "nothing says who wrote them)",
        """
        DROP TABLE cache;
        CREATE TABLE cache (
            key TEXT NOT NULL,
            run_id TEXT NOT NULL,
            ref TEXT NOT NULL,
            suite TEXT NOT NULL,
            case_id TEXT NOT NULL,
            repeat INTEGER NOT NULL,
            parts TEXT NOT NULL,
            result TEXT NOT NULL,
            deps TEXT NOT NULL,
            created_at REAL NOT NULL,
            used_at REAL NOT NULL,
            sig TEXT NOT NULL,
            PRIMARY KEY (key, run_id)
        );
        CREATE INDEX cache_by_case ON cache (suite, case_id, created_at);
        CREATE TABLE suite_unions (
            run_id TEXT NOT NULL,
            suite TEXT NOT NULL,
            part TEXT NOT NULL,
            ref TEXT NOT NULL,
            deps TEXT NOT NULL,
            sig TEXT NOT NULL,
            PRIMARY KEY (run_id, suite, part)
        );
        DROP TABLE judgements;
        CREATE TABLE judgements (
            key TEXT NOT NULL,
            ref TEXT NOT NULL,
            verdict TEXT NOT NULL,
            created_at REAL NOT NULL,
            sig TEXT NOT NULL,
            PRIMARY KEY (key, ref)
        );
        ALTER TABLE runs ADD COLUMN ref TEXT NOT NULL DEFAULT '';
        ALTER TABLE runs ADD COLUMN sig TEXT NOT NULL DEFAULT '';
        ALTER TABLE results ADD COLUMN sig TEXT NOT NULL DEFAULT '';
        ALTER TABLE run_suites ADD COLUMN sig TEXT NOT NULL DEFAULT '';
        DROP TABLE suite_maps;
        CREATE TABLE suite_maps (
            suite TEXT NOT NULL,
            run_id TEXT NOT NULL,
            part TEXT NOT NULL,
            recorded_at REAL NOT NULL,
            deps TEXT NOT NULL,
            ref TEXT NOT NULL,
            sig TEXT NOT NULL,
            PRIMARY KEY (suite, run_id, part)
        )
        """,
    ),
)
"""Applied in order, each in its own transaction, recorded in ``migrations``."""


SQLITE_HAS_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
POSTGRES_HAS_TABLE = "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?"


def apply_migrations(connection: Any, begin: str, lock: tuple[str, tuple[Any, ...]] | None = None,
                     has_table: str = SQLITE_HAS_TABLE) -> None:
    """Apply the migrations ``connection`` has not recorded yet, in one transaction opened
    with ``begin`` (after taking ``lock``, a statement and its parameters, when given). A store
    that is up to date runs no DDL at all: a role that may only read and write rows (a fork's
    pull request on a shared store, docs/security.md) opens it as well."""
    connection.execute(begin)
    try:
        if lock is not None:
            connection.execute(*lock)
        if connection.execute(has_table, ("migrations",)).fetchone() is None:
            connection.execute(
                "CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
        applied = {row[0] for row in connection.execute("SELECT version FROM migrations").fetchall()}
        for version, name, script in MIGRATIONS:
            if version in applied:
                continue
            for statement in filter(str.strip, script.split(";")):
                connection.execute(statement)
            connection.execute("INSERT INTO migrations VALUES (?, ?, ?)", (version, name, time.time()))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
