"""The store's one connection: opening it (SQLite file or PostgreSQL URL), its transactions, and
what happens when it fails.

Every concern of the store (:mod:`~evalgate.store.cache`, :mod:`~evalgate.store.history`,
:mod:`~evalgate.store.judgements`, :mod:`~evalgate.store.maps`) writes through one
:class:`Database`, so the dialect difference (:mod:`evalgate.store.postgres`) and the
failure rules are written once:

- Faults degrade, never crash: a corrupt SQLite file is moved aside (only one evalgate
  made), an unwritable location or a failing write turns the store off for the rest of the
  run, and every case is still reported. What went wrong is collected in ``problems``.
- A shared store that drops mid-run goes on in a local *spool* file; its rows reach the
  server at the next run that reaches it (:mod:`evalgate.store.location`).
- Durability: WAL mode, short transactions; a run killed mid-way keeps every result it
  finished.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from evalgate.redact import SECRETS
from evalgate.store import postgres
from evalgate.store.schema import apply_migrations
from evalgate.store.trust import LOCAL, Trust
from evalgate.untrusted import one_line

Connection = sqlite3.Connection | postgres.PostgresConnection
"""Either backend's connection: the store's SQL runs on both (see evalgate.store.postgres)."""

BUSY_TIMEOUT_MS = 30_000
APPLICATION_ID = 0x45764C47
"""``PRAGMA application_id`` of every store evalgate creates ("EvLG"): how it knows a file is
its own before it ever moves one aside."""
_SQLITE_MAGIC = b"SQLite format 3\x00"
OWN_TABLES = frozenset({"migrations", "cache", "runs", "results", "run_suites", "deps", "run_deps", "suite_maps",
                        "judgements", "suite_unions"})

F = TypeVar("F", bound=Callable[..., Any])


def locked(method: F) -> F:
    """Serialise a method of a store part on its database's lock (one connection, many threads)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self.db.lock:
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


class NotOurs(sqlite3.DatabaseError):
    """The file is an SQLite database of some other program."""


class Database:
    """One connection (or none: the store is off), its lock, and its failure handling."""

    def __init__(self, path: Path, connection: Connection | None, problems: list[str], url: str | None = None,
                 trust: Trust = LOCAL) -> None:
        self.path = path
        self.url = url
        """The shared store's URL (PostgreSQL), or None for the SQLite file at ``path``."""
        self.location = postgres.display(url) if url else str(path)
        """Where the store is, as messages name it (never with a password)."""
        self.connection = connection
        self.problems = problems
        self.notices: list[str] = []
        """What happened that a run should say without warning of it (a spool sent)."""
        self.trust = trust
        """Whose rows this store serves and how it signs its own (:mod:`evalgate.store.trust`)."""
        self.errors: tuple[type[Exception], ...] = (sqlite3.Error, *(postgres.database_errors() if url else ()))
        """What a failing database call raises here."""
        self.read_errors: tuple[type[Exception], ...] = (*self.errors, ValueError, KeyError, TypeError)
        """... and a read of a row that does not parse."""
        self.lock = threading.RLock()
        """One connection, used from pytest's thread and the engine's pool threads."""
        self.spool: Path | None = None
        """For a shared store: the local file a run goes on writing to when the server drops."""
        self.replay: list[tuple[str, list[tuple[Any, ...]]]] = []
        """Rows this process must carry into a spool (the ``runs`` rows it started)."""

    @property
    def enabled(self) -> bool:
        return self.connection is not None

    @classmethod
    def open(cls, path: Path) -> Database:
        """Open (creating and migrating) an SQLite store; never raises for a bad file, and never
        touches a file evalgate did not create (``EVALGATE_CACHE`` pointing at a dataset, a
        device, another program's database): those are refused with one line."""
        refusal = _refusal(path)
        if refusal is not None:
            return cls(path, None, [f"{refusal}; running without the cache (point EVALGATE_CACHE or 'cache' at a new file)"])
        problems: list[str] = []
        if _stays_empty(path):
            problems.append(f"{path} was an empty file; started a new store in it (point EVALGATE_CACHE or 'cache' "
                            "elsewhere if that file was not meant for evalgate)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            return cls(path, None, [f"cannot create {path.parent} ({err.strerror}); running without the cache"])
        for attempt in range(2):
            try:
                return cls(path, connect_sqlite(path), problems)
            except NotOurs as err:
                return cls(path, None, [f"{err}; left as it is, running without the cache (point EVALGATE_CACHE at a new file)"])
            except sqlite3.DatabaseError as err:
                if _is_read_only(err):
                    return cls(path, None, [*problems, f"{path} is not writable ({err}); running without the cache"])
                if _is_locked(err) or attempt == 1 or not path.exists():
                    return cls(path, None, [*problems, f"cannot use the cache at {path} ({err}); running without it"])
                moved = _move_aside(path, err)
                problems.append(moved)
                if "moved it" not in moved:
                    return cls(path, None, problems)
            except OSError as err:
                return cls(path, None, [*problems, f"cannot open {path} ({err}); running without the cache"])
        raise AssertionError("unreachable: the second attempt returns")

    @classmethod
    def open_url(cls, url: str) -> Database:
        """Open the shared store at a ``postgresql://`` URL (creating its tables); when the server
        cannot be reached, the store is off with one line saying this run's results are not shared."""
        where = postgres.display(url)
        if not url.startswith(("postgresql://", "postgres://")):
            return cls(Path(where), None, [
                f"the shared store must be a postgresql:// URL, not '{where}' (EVALGATE_STORE_URL or [store] url); "
                "running without the cache"], url)
        try:
            connection = postgres.connect(url)
        except ImportError:
            return cls(Path(where), None, [f"the store {where} needs psycopg: pip install 'pytest-evalgate[postgres]'; "
                                           "running without the cache"], url)
        except Exception as err:  # noqa: BLE001 - psycopg's OperationalError and kin: one line, never a traceback
            reason = SECRETS(one_line(str(err), limit=200))
            return cls(Path(where), None, [f"cannot reach the shared store {where} ({reason}); this run's results are not shared"], url)
        return cls(Path(where), connection, [], url)

    # --- statements ----------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        assert self.connection is not None
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]] | None:
        """The rows of a read, or None when it failed (the store is then off, and says why)."""
        with self.lock:
            if self.connection is None:
                return None
            try:
                return [tuple(row) for row in self.connection.execute(sql, params).fetchall()]
            except self.read_errors as err:
                self.read_failed(err)
                return None

    def write_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """One transaction of one statement over ``rows``; a failure goes to the spool or turns
        the store off."""
        if not rows:
            return
        with self.lock:
            if self.connection is None:
                return
            try:
                with self.transaction() as connection:
                    connection.executemany(sql, rows)
            except self.errors as err:
                if self.disable(f"writing to the cache failed ({err})"):
                    self.write_many(sql, rows)

    def run_statements(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Several statements in one transaction (the caller holds the lock)."""
        if self.connection is None or not statements:
            return
        try:
            with self.transaction() as connection:
                for sql, params in statements:
                    connection.execute(sql, params)
        except self.errors as err:
            if self.disable(f"writing to the cache failed ({err})"):
                self.run_statements(statements)

    # --- failures ------------------------------------------------------------------

    def disable(self, why: str) -> bool:
        """Stop using the database after a failure: a shared store goes on in its local spool
        when it has one (True), else the run continues without the cache (False); a damaged
        SQLite file is moved aside for the next run."""
        if self.url and self.spool is not None and self._to_spool(why):
            return True
        shared = "; this run's later results are not shared (its reports have them all)" if self.url else ""
        self.close()
        if not self.url and "malformed" in why and _damaged(self.path):
            self.problems.append(f"{_move_aside(self.path, sqlite3.DatabaseError(why))}; the run continues without the cache")
            return False
        self.problems.append(f"{self.location}: {SECRETS(why)}; the run continues without the cache{shared}")
        return False

    def _to_spool(self, why: str) -> bool:
        """Swap the dropped server for the local spool file, with this run's rows in it."""
        assert self.spool is not None
        try:
            self.spool.parent.mkdir(parents=True, exist_ok=True)
            spool = connect_sqlite(self.spool)
        except (sqlite3.Error, OSError, NotOurs):
            return False
        shared = self.location
        try:
            self.close()
        except Exception:  # noqa: BLE001 - the server is gone; its connection may not close cleanly
            self.connection = None
        self.connection, self.url, self.location = spool, None, str(self.spool)
        for sql, rows in self.replay:
            self.write_many(sql, rows)
        self.problems.append(
            f"{shared}: {SECRETS(why)}; the run goes on with a local spool ({self.spool}): its results reach the "
            f"shared store at the next run that reaches it"
        )
        return True

    def read_failed(self, err: Exception) -> None:
        """A read failed: when the file is damaged (some pages corrupt, the header fine), move
        it aside so the next run starts a new one, instead of failing every run."""
        if self.url and self.spool is not None and self._to_spool(f"reading the shared store failed ({one_line(str(err), limit=200)})"):
            return
        self.close()
        if self.url:
            self.problems.append(f"{self.location}: reading the shared store failed ({SECRETS(one_line(str(err), limit=200))}); "
                                 "the run continues without the cache")
        elif isinstance(err, sqlite3.DatabaseError) and not _is_locked(err) and _damaged(self.path):
            self.problems.append(f"{_move_aside(self.path, err)}; this run continues without the cache")
        else:
            self.problems.append(f"{self.path}: reading the cache failed ({one_line(str(err), limit=200)}); "
                                 "the run continues without the cache")

    # --- maintenance ---------------------------------------------------------------

    def size_bytes(self) -> int:
        """Bytes on disk, including the write-ahead log (the shared store: its tables)."""
        if self.url:
            if self.connection is None:
                return 0
            tables = " + ".join(f"pg_total_relation_size('{table}')" for table in sorted(OWN_TABLES))
            return int(self.connection.execute(f"SELECT {tables}").fetchone()[0])
        return sum(Path(f"{self.path}{suffix}").stat().st_size
                   for suffix in ("", "-wal") if Path(f"{self.path}{suffix}").exists())

    def compact(self) -> None:
        assert self.connection is not None
        if self.url:
            self.connection.execute("VACUUM ANALYZE cache")  # autocommit: outside any transaction
            self.connection.execute("VACUUM ANALYZE results")
            return
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.connection.execute("VACUUM")

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self.lock:
            if self.connection is not None:
                self.connection.close()
                self.connection = None


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """Connect to an evalgate SQLite store, creating it when the file is new or empty. A file
    that is another program's database is refused before anything is written to it (not even
    its journal mode changes)."""
    new = not path.exists() or path.stat().st_size == 0
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, one short transaction per write.
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        application = connection.execute("PRAGMA application_id").fetchone()[0]
        if application != APPLICATION_ID and new:
            # The first write to a new file marks it ours: a process opening it a moment later
            # (xdist workers, parallel runs) sees the id, never a nameless database.
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        elif application != APPLICATION_ID:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables - OWN_TABLES:
                raise NotOurs(f"{path} is another program's SQLite database (tables: {', '.join(sorted(tables))[:80]})")
            if not {"migrations", "cache"} <= tables:
                raise NotOurs(f"{path} is an SQLite database evalgate did not create")
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")  # a store made before the id existed
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.DatabaseError(f"cannot switch to WAL mode (got {mode})")
        connection.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable at each commit's checkpoint
        apply_migrations(connection, "BEGIN IMMEDIATE")
        connection.execute("SELECT COUNT(*) FROM cache").fetchone()
    except BaseException:
        connection.close()
        raise
    return connection


def _refusal(path: Path) -> str | None:
    """Why ``path`` must not be opened as a store (not a regular file, not SQLite), or None."""
    if not path.exists():
        return None
    if not path.is_file():
        return f"{path} is not a regular file, so it cannot be the result store"
    deadline = time.monotonic() + 0.5
    while True:
        try:
            with path.open("rb") as handle:
                header = handle.read(100)
        except OSError as err:
            return f"cannot read {path} ({err.strerror})"
        # A store another process is creating this moment can show zeros before its first page.
        if header.strip(b"\0") or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    if header.strip(b"\0") and not header.startswith(_SQLITE_MAGIC) and path.parent.name != ".evalgate":
        return f"{path} is not an evalgate result store (not an SQLite file): left as it is"
    return None


def _stays_empty(path: Path, wait: float = 0.5) -> bool:
    """True when ``path`` is an empty file and stays empty for ``wait`` seconds: a store another
    process is creating this moment (an xdist worker, a parallel run) gains its first page at
    once; an empty file that stays so is one nobody is writing, said when adopted."""
    deadline = time.monotonic() + wait
    while path.is_file() and path.stat().st_size == 0:
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.02)
    return False


def _ours(path: Path) -> bool:
    """True when the file says it is an evalgate store (its header's application id), or is
    the default store inside a ``.evalgate`` folder (stores made before the id existed)."""
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
    except OSError:
        return False
    if header.startswith(_SQLITE_MAGIC) and len(header) >= 72 and int.from_bytes(header[68:72], "big") == APPLICATION_ID:
        return True
    return path.parent.name == ".evalgate"


def _damaged(path: Path) -> bool:
    """True when SQLite's own check finds the file damaged."""
    try:
        connection = sqlite3.connect(path, timeout=1)
        try:
            rows = connection.execute("PRAGMA quick_check").fetchall()
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        return True
    return rows != [("ok",)]


def _move_aside(path: Path, err: Exception) -> str:
    """Move a damaged store aside (only one evalgate made); the message saying what happened."""
    if not _ours(path):
        return f"{path} is damaged ({err}) but evalgate did not create it: left as it is"
    aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    try:
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    except OSError as move_error:
        return f"{path} is damaged and cannot be moved aside ({move_error})"
    return f"{path} is not a usable cache ({err}); moved it to {aside.name} and started a new one"


def _is_locked(err: sqlite3.Error) -> bool:
    return "locked" in str(err) or "busy" in str(err)


def _is_read_only(err: sqlite3.Error) -> bool:
    return "readonly" in str(err).replace("-", "").replace(" ", "") or "unable to open" in str(err)
