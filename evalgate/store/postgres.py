"""The shared store on PostgreSQL: the same tables and migrations as the SQLite file.

A team or a fleet of CI runners points evalgate at one database (``[tool.evalgate.store]
url = "postgresql://evalgate@db.internal/evalgate"`` or ``EVALGATE_STORE_URL``) and every
run reads and writes the same cache, runs and dependency maps. The store's SQL is written
once, in SQLite's dialect; :func:`translate` turns each statement into PostgreSQL's
(placeholders, ``INSERT OR IGNORE`` / ``OR REPLACE`` as ``ON CONFLICT``, ``REAL`` as double
precision — a 4-byte float cannot hold a timestamp —, ``rowid`` as ``ctid``) so the two
backends cannot drift apart.

Many writers at once lose nothing: every write is an upsert in its own short transaction,
and migrations take an advisory lock so two runs starting together migrate once. The
password never goes into a message: put it in ``PGPASSWORD`` (libpq's own variable), and a
password written into the URL is cut out of everything evalgate prints.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

from evalgate.redact import SECRETS
from evalgate.store.schema import POSTGRES_HAS_TABLE, apply_migrations

PRIMARY_KEYS = {
    "cache": ("key", "run_id"),
    "suite_unions": ("run_id", "suite", "part"),
    "results": ("run_id", "suite", "case_id", "repeat"),
    "runs": ("run_id",),
    "run_suites": ("run_id", "suite"),
    "deps": ("id",),
    "run_deps": ("run_id", "suite", "deps"),
    "suite_maps": ("suite", "run_id", "part"),
    "migrations": ("version",),
    "judgements": ("key", "ref"),
}
"""Each table's primary key: what an ``INSERT OR REPLACE`` conflicts on."""
MIGRATION_LOCK = 0x45764C47
"""The advisory lock migrations hold (the SQLite store's application id, "EvLG")."""

_INSERT = re.compile(r"^\s*INSERT OR (IGNORE|REPLACE) INTO (\w+) \(([^)]*)\)(.*)$", re.S)


@functools.lru_cache(maxsize=256)
def translate(sql: str) -> str:
    """One statement of the store's SQLite dialect in PostgreSQL's."""
    sql = re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql)
    sql = re.sub(r"\browid\b", "ctid", sql)
    sql = sql.replace("BEGIN IMMEDIATE", "BEGIN")
    match = _INSERT.match(sql)
    if match:
        kind, table, columns, rest = match.groups()
        sql = f"INSERT INTO {table} ({columns}){rest}"
        if kind == "IGNORE":
            sql += " ON CONFLICT DO NOTHING"
        else:
            key = PRIMARY_KEYS[table]
            names = [name.strip() for name in columns.split(",")]
            updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names if name not in key)
            sql += f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    return sql.replace("?", "%s")


class PostgresConnection:
    """The handful of ``sqlite3.Connection`` methods the store uses, on a psycopg connection
    in autocommit mode (the store issues its own BEGIN and COMMIT, as with SQLite)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.connection.execute(translate(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        with self.connection.cursor() as cursor:
            cursor.executemany(translate(sql), [tuple(row) for row in rows])
            return cursor

    def close(self) -> None:
        self.connection.close()


def display(url: str) -> str:
    """The URL as evalgate prints it: any password replaced by ``***`` (in the user part and as a
    ``password=`` parameter), and every registered secret redacted."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", SECRETS(url))


def connect(url: str, timeout: float = 10) -> PostgresConnection:
    """Connect, migrate (under the advisory lock) and return the connection; raises
    psycopg's errors (the caller turns them into one line)."""
    import psycopg

    password = re.search(r"://[^:/@]+:([^@/]*)@", url)
    if password:
        SECRETS.add(password.group(1))
    connection = PostgresConnection(
        psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(timeout)), application_name="evalgate")
    )
    try:
        apply_migrations(connection, "BEGIN", ("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,)), POSTGRES_HAS_TABLE)
    except BaseException:
        connection.close()
        raise
    return connection


def database_errors() -> tuple[type[Exception], ...]:
    """psycopg's error classes, when it is installed (so the store can catch them)."""
    try:
        import psycopg
    except ImportError:
        return ()
    return (psycopg.Error,)
