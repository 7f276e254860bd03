"""The results store and cache: one SQLite file, safe for xdist workers and parallel runs.

Correctness first: a cached result is reused only when *everything* that determines it is
unchanged — the key is a hash of the model adapter's fingerprint (kind, model id,
generation parameters, code/file digests), the content of every declared component file,
the case content, the scorer (name, version, parameters), the repeat index when sampling is
not deterministic, and this module's schema version. The parts are stored beside the
key so a miss can be explained. Errors are never cached.

Durability: WAL mode, one short transaction per case, so a run killed mid-way keeps every
result it finished. Faults degrade, never crash: a corrupt file is moved aside, an
unwritable location or a failing write turns the cache off for the rest of the run, and
each case is still reported. What went wrong is collected in ``problems`` for the caller
to print.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from evalgate.redact import SECRETS
from evalgate.results import CaseResult, result_from_json, result_to_json
from evalgate.store import postgres
from evalgate.store.deps import DepMap
from evalgate.store.schema import apply_migrations
from evalgate.untrusted import one_line

Connection = sqlite3.Connection | postgres.PostgresConnection
"""Either backend's connection: the store's SQL runs on both (see evalgate.store.postgres)."""

SCHEMA_VERSION = 2
"""Part of every key: bump when the meaning of a cached result changes. (2: results are valid
only with their recorded dependency map.)"""
BUSY_TIMEOUT_MS = 30_000




F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    """Serialise a ResultStore method on the store's lock (one SQLite connection, many threads)."""

    @functools.wraps(method)
    def wrapper(self: ResultStore, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


def cache_key(parts: Mapping[str, Any]) -> str:
    """The key of a set of key parts (canonical JSON, SHA-256)."""
    encoded = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


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
    """One SQLite file: the cache (by key) and every run's results (by run id).

    Open it with :meth:`open`; when the file cannot be used, the store is *disabled*:
    lookups miss, writes are dropped, and ``problems`` says why.
    """

    def __init__(
        self, path: Path, connection: Connection | None, problems: list[str], url: str | None = None
    ) -> None:
        self.path = path
        self.url = url
        """The shared store's URL (PostgreSQL), or None for the SQLite file at ``path``."""
        self.location = postgres.display(url) if url else str(path)
        """Where the store is, as messages name it (never with a password)."""
        self.connection = connection
        self.problems = problems
        self.notices: list[str] = []
        """What happened that a run should say without warning of it (a spool sent)."""
        self.errors: tuple[type[Exception], ...] = (sqlite3.Error, *(postgres.database_errors() if url else ()))
        """What a failing database call raises here."""
        self.read_errors: tuple[type[Exception], ...] = (*self.errors, ValueError)
        """... and a read of a row that does not parse."""
        self.lock = threading.RLock()
        """One connection, used from pytest's thread and the engine's pool threads."""
        self.waiting: list[_Write] = []
        """Results handed to :meth:`store` and not yet committed (under ``waiting_lock``)."""
        self.waiting_lock = threading.Lock()
        self.deps_written: set[str] = set()
        """Ids of dependency maps this process stored: most calls share one map."""
        self.spool: Path | None = None
        """For a shared store: the local file a run goes on writing to when the server drops
        (its results reach the server at the next run that reaches it)."""
        self.run_rows: list[tuple[Any, ...]] = []
        """The ``runs`` rows this process started, to carry into a spool."""

    @property
    def enabled(self) -> bool:
        """False when the cache could not be opened or a write failed."""
        return self.connection is not None

    @classmethod
    def open(cls, path: Path) -> ResultStore:
        """Open (creating and migrating) the store; never raises for a bad file, and never
        touches a file evalgate did not create (``EVALGATE_CACHE`` pointing at a dataset,
        a device, another program's database): those are refused with one line."""
        refusal = _refusal(path)
        if refusal is not None:
            return cls(path, None, [f"{refusal}; running without the cache (point EVALGATE_CACHE or 'cache' at a new file)"])
        problems: list[str] = []
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            return cls(path, None, [f"cannot create {path.parent} ({err.strerror}); running without the cache"])
        for attempt in range(2):
            try:
                return cls(path, _connect(path), problems)
            except NotOurs as err:
                return cls(path, None, [f"{err}; left as it is, running without the cache (point EVALGATE_CACHE at a new file)"])
            except sqlite3.DatabaseError as err:
                if _is_read_only(err):
                    problems.append(f"{path} is not writable ({err}); running without the cache")
                    return cls(path, None, problems)
                if _is_locked(err) or attempt == 1 or not path.exists():
                    problems.append(f"cannot use the cache at {path} ({err}); running without it")
                    return cls(path, None, problems)
                moved = _move_aside(path, err)
                problems.append(moved)
                if "moved it" not in moved:
                    return cls(path, None, problems)
            except OSError as err:
                problems.append(f"cannot open {path} ({err}); running without the cache")
                return cls(path, None, problems)
        raise AssertionError("unreachable: the second attempt returns")

    @classmethod
    def open_url(cls, url: str) -> ResultStore:
        """Open the shared store at a ``postgresql://`` URL (creating its tables); when the
        server cannot be reached, the store is disabled with one line saying this run's
        results are not shared — the run goes on and reports everything."""
        where = postgres.display(url)
        if not url.startswith(("postgresql://", "postgres://")):
            return cls(Path(where), None, [
                f"the shared store must be a postgresql:// URL, not '{where}' (EVALGATE_STORE_URL or [store] url); "
                "running without the cache"], url)
        try:
            connection = postgres.connect(url)
        except ImportError:
            return cls(Path(where), None, [f"the store {where} needs psycopg: pip install 'evalgate[postgres]'; running without the cache"], url)
        except Exception as err:  # psycopg's OperationalError and kin: one line, never a traceback
            reason = SECRETS(one_line(str(err), limit=200))
            return cls(Path(where), None, [f"cannot reach the shared store {where} ({reason}); this run's results are not shared"], url)
        return cls(Path(where), connection, [], url)

    # --- cache ---------------------------------------------------------------------

    @_locked
    def lookup_many(self, keys: list[str]) -> dict[str, list[tuple[CaseResult, str | None]]]:
        """Cached results for the keys that have one, newest first: one per dependency map
        the key was produced under, each with that map's id (one query per 500 keys). A
        change and its revert are two maps, so going back to a state hits again."""
        found: dict[str, list[tuple[CaseResult, str | None]]] = {}
        if self.connection is None or not keys:
            return found
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self.connection.execute(
                    f"SELECT key, result, deps FROM cache WHERE key IN ({marks}) ORDER BY created_at DESC", chunk
                )
                for key, result, deps in rows:
                    found.setdefault(key, []).append((result_from_json(result), deps or None))
        except self.read_errors as err:
            self._read_failed(err)
            return {}
        return found

    def store(
        self, run_id: str, key: str, parts: Mapping[str, Any], result: CaseResult, deps: DepMap | None = None
    ) -> None:
        """Record a freshly computed result of a run and, unless it errored, cache it with
        the dependency map it was produced under — committed before this returns, so a killed
        run keeps it.

        Writes that arrive together share one transaction (group commit): the thread that
        gets the store's lock commits every write waiting by then, and the others find theirs
        done. At 64 calls in flight, a transaction per result kept 64 threads queueing on
        the lock, each handing the GIL away four times while it held it."""
        if self.connection is None:
            return
        write = _Write(run_id, key, json.dumps(parts, sort_keys=True, default=str), result, result_to_json(result), deps)
        with self.waiting_lock:
            self.waiting.append(write)
        with self.lock:
            if write.done:
                return
            with self.waiting_lock:
                batch, self.waiting = self.waiting, []
            self._commit(batch)

    def _commit(self, batch: list[_Write]) -> None:
        """One transaction for ``batch``; after a failure, the spool's (the same writes) or
        none. Every write is done when this returns (the store's lock is held)."""
        if self.connection is not None:
            now = time.time()
            written = set(self.deps_written)
            statements: list[tuple[str, tuple[Any, ...]]] = []
            for write in batch:
                statements += write.statements(now, written)
            try:
                with self._transaction() as connection:
                    for sql, params in statements:
                        connection.execute(sql, params)
            except self.errors as err:
                if self._disable(f"writing to the cache failed ({err})"):
                    self._commit(batch)  # the writes that found the server gone go to the spool
                    return
            else:
                self.deps_written = written
        for write in batch:
            write.done = True

    def touch(self, entries: list[tuple[str, str | None]]) -> None:
        """Mark entries (key, dependency map id) as used now, so pruning by age keeps what
        runs still use and lets the versions they no longer match go first."""
        if self.connection is None or not entries:
            return
        now = time.time()
        self._write_many("UPDATE cache SET used_at = ? WHERE key = ? AND deps = ?", [(now, key, deps or "") for key, deps in entries])

    @_locked
    def newest_entry(self, suite: str, case_id: str) -> tuple[dict[str, Any], float, str | None] | None:
        """The key parts, time and dependency map id of the newest cache entry of a case,
        for ``explain``."""
        if self.connection is None:
            return None
        try:
            row = self.connection.execute(
                "SELECT parts, created_at, deps FROM cache WHERE suite = ? AND case_id = ? ORDER BY created_at DESC LIMIT 1",
                (suite, case_id),
            ).fetchone()
        except self.errors as err:
            self._read_failed(err)
            return None
        return (json.loads(row[0]), row[1], row[2] or None) if row else None

    # --- judge verdicts -----------------------------------------------------------------

    @_locked
    def judgement(self, key: str) -> str | None:
        """A judge's stored verdict (JSON) for this judge, rubric and judged text, or None."""
        if self.connection is None:
            return None
        try:
            row = self.connection.execute("SELECT verdict FROM judgements WHERE key = ?", (key,)).fetchone()
        except self.errors as err:
            self._read_failed(err)
            return None
        return str(row[0]) if row else None

    def save_judgement(self, key: str, verdict: str) -> None:
        """Keep a judge's verdict (written at once, like a case result)."""
        self._write("INSERT OR IGNORE INTO judgements (key, verdict, created_at) VALUES (?, ?, ?)", (key, verdict, time.time()))

    # --- dependency maps ---------------------------------------------------------------

    @_locked
    def load_deps(self, ids: list[str]) -> dict[str, DepMap]:
        """The dependency maps with these ids."""
        found: dict[str, DepMap] = {}
        if self.connection is None or not ids:
            return found
        try:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for deps_id, text in self.connection.execute(f"SELECT id, map FROM deps WHERE id IN ({marks})", chunk):
                    found[deps_id] = DepMap.from_json(text)
        except self.read_errors as err:
            self._read_failed(err)
        return found

    def record_run_deps(self, run_id: str, seen: Mapping[str, set[str]]) -> None:
        """Note which dependency maps a run's results of each suite had (fresh or cached)."""
        rows = [(run_id, suite, deps_id) for suite, ids in seen.items() for deps_id in ids]
        if rows:
            self._write_many("INSERT OR IGNORE INTO run_deps (run_id, suite, deps) VALUES (?, ?, ?)", rows)

    def save_suite_maps(self, run_id: str, lock: str) -> dict[str, DepMap]:
        """Each suite's map for this run — the union of its results' maps — kept as the
        suite's latest map for plans; the maps saved. Each carries ``lock``, the lock files
        the run had: its results (fresh, or cached and checked) hold under them, so a lock
        file change that changed no installed version does not leave plans on rules alone."""
        if self.connection is None:
            return {}
        with self.lock:
            try:
                rows = self.connection.execute("SELECT suite, deps FROM run_deps WHERE run_id = ?", (run_id,)).fetchall()
            except self.errors as err:
                self._read_failed(err)
                return {}
        maps = self.load_deps(sorted({deps_id for _, deps_id in rows}))
        unions: dict[str, DepMap] = {}
        for suite, deps_id in rows:
            if deps_id in maps:
                unions[suite] = unions[suite].union(maps[deps_id]) if suite in unions else maps[deps_id]
        unions = {suite: DepMap(union.files, union.dists, lock) for suite, union in unions.items()}
        now = time.time()
        deps_rows = [(union.id, union.to_json(), now) for union in unions.values()]
        self._write_many("INSERT OR IGNORE INTO deps (id, map, created_at) VALUES (?, ?, ?)", deps_rows)
        self._write_many(
            "INSERT OR REPLACE INTO suite_maps (suite, run_id, recorded_at, deps) VALUES (?, ?, ?, ?)",
            [(suite, run_id, now, union.id) for suite, union in unions.items()],
        )
        return unions

    @_locked
    def latest_suite_maps(self) -> dict[str, tuple[DepMap, float, str]]:
        """Suite → (its newest map, when it was recorded, by which run)."""
        if self.connection is None:
            return {}
        try:
            rows = self.connection.execute(
                "SELECT suite, deps, recorded_at, run_id FROM suite_maps AS m WHERE recorded_at = "
                "(SELECT MAX(recorded_at) FROM suite_maps WHERE suite = m.suite)"
            ).fetchall()
        except self.errors as err:
            self._read_failed(err)
            return {}
        maps = self.load_deps([row[1] for row in rows])
        return {suite: (maps[deps_id], recorded, run) for suite, deps_id, recorded, run in rows if deps_id in maps}

    def maps_of(self, key: str) -> list[str | None]:
        """The dependency map ids ``key`` has a cached result under, newest first."""
        return [deps for _, deps in self.lookup_many([key]).get(key, [])]

    # --- runs and results ----------------------------------------------------------

    def start_run(self, run_id: str, label: str, commit: str | None = None, branch: str | None = None, group: str | None = None) -> None:
        """Record that a run began, at which commit of which branch (when known), in which
        run group (the shards of one CI run)."""
        row = (run_id, label, time.time(), commit, branch, group)
        self.run_rows.append(row)
        self._write(_INSERT_RUN, row)

    @_locked
    def group_results(self, group: str, suite: str, since: float) -> list[tuple[float, CaseResult]]:
        """``(created_at, result)`` of every result of ``suite`` that runs of ``group`` recorded
        at or after ``since``, oldest first: what shards read to stop early together."""
        if self.connection is None:
            return []
        try:
            rows = self.connection.execute(
                "SELECT results.created_at, results.result FROM results JOIN runs ON runs.run_id = results.run_id "
                "WHERE runs.run_group = ? AND results.suite = ? AND results.created_at >= ? ORDER BY results.created_at",
                (group, suite, since),
            ).fetchall()
        except self.errors as err:
            self._read_failed(err)
            return []
        return [(float(created), result_from_json(text)) for created, text in rows]

    def record_results(self, run_id: str, results: list[CaseResult]) -> None:
        """Keep results of a run that came from the cache (batched: losing them in a crash
        costs nothing, the cache still holds them)."""
        now = time.time()
        self._write_many(_INSERT_RESULT, [_result_row(run_id, result, now) for result in results])

    def finish_run(self, run_id: str, hits: int, misses: int) -> None:
        """Record a run's end and its cache hits and misses."""
        self._write(
            "UPDATE runs SET finished_at = ?, hits = ?, misses = ? WHERE run_id = ?", (time.time(), hits, misses, run_id)
        )

    @_locked
    def run_results(self, run_id: str, suite: str | None = None) -> list[CaseResult]:
        """Every result recorded for a run (of one suite, when given)."""
        if self.connection is None:
            return []
        if suite is None:
            rows = self.connection.execute("SELECT result FROM results WHERE run_id = ? ORDER BY created_at", (run_id,))
        else:
            rows = self.connection.execute(
                "SELECT result FROM results WHERE run_id = ? AND suite = ? ORDER BY created_at", (run_id, suite)
            )
        return [result_from_json(row[0]) for row in rows]

    def record_suites(self, run_id: str, suites: list[tuple[str, bool, bool, str]]) -> None:
        """Record, per suite, whether this run ran every case (``complete``), whether its
        cases were a selection (``selected``) and its verdict."""
        self._write_many(
            "INSERT OR REPLACE INTO run_suites (run_id, suite, complete, selected, verdict) VALUES (?, ?, ?, ?, ?)",
            [(run_id, suite, int(complete), int(selected), verdict) for suite, complete, selected, verdict in suites],
        )

    @_locked
    def newest_complete_run(
        self, suite: str, exclude: str | None = None, commit: str | None = None, branch: str | None = None
    ) -> str | None:
        """The id of the newest finished run other than ``exclude`` in which every case of
        ``suite`` ran — at ``commit`` and/or on ``branch`` when given — or None."""
        if self.connection is None:
            return None
        where, params = "", [suite, exclude or ""]
        if commit is not None:
            where += " AND runs.commit_sha = ?"
            params.append(commit)
        if branch is not None:
            where += " AND runs.branch = ?"
            params.append(branch)
        row = self.connection.execute(
            "SELECT runs.run_id FROM runs JOIN run_suites ON run_suites.run_id = runs.run_id "
            "WHERE run_suites.suite = ? AND run_suites.complete = 1 AND runs.finished_at IS NOT NULL AND runs.run_id != ?"
            f"{where} ORDER BY runs.finished_at DESC LIMIT 1",
            tuple(params),
        ).fetchone()
        return str(row[0]) if row else None

    # --- maintenance ---------------------------------------------------------------

    @_locked
    def stats(self) -> CacheStats:
        """Entries, file size, and the last finished run's hit rate."""
        entries = judgements = 0
        last = None
        if self.connection is not None:
            entries = self.connection.execute("SELECT COUNT(*) FROM cache").fetchone()[0]
            judgements = self.connection.execute("SELECT COUNT(*) FROM judgements").fetchone()[0]
            row = self.connection.execute(
                "SELECT run_id, label, started_at, finished_at, hits, misses FROM runs "
                "WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1"
            ).fetchone()
            if row:
                run_id, label, started, finished, hits, misses = row
                total = hits + misses
                last = {"run_id": run_id, "label": label, "started_at": started, "finished_at": finished,
                        "hits": hits, "misses": misses, "hit_rate": hits / total if total else None}
        return CacheStats(self.location, entries, self.size_bytes(), last, judgements)

    def size_bytes(self) -> int:
        """Bytes on disk, including the write-ahead log (the shared store: its tables)."""
        if self.url:
            if self.connection is None:
                return 0
            tables = " + ".join(f"pg_total_relation_size('{table}')" for table in _OWN_TABLES)
            return int(self.connection.execute(f"SELECT {tables}").fetchone()[0])
        return sum(Path(f"{self.path}{suffix}").stat().st_size
                   for suffix in ("", "-wal") if Path(f"{self.path}{suffix}").exists())

    @_locked
    def prune(self, older_than_seconds: float | None = None, max_bytes: int | None = None) -> int:
        """Delete entries unused for longer than ``older_than_seconds`` (and run results
        older than that) and then, oldest first, entries and run results until the file fits
        ``max_bytes``. Returns how many cache entries went."""
        if self.connection is None:
            return 0
        removed = 0
        with self._transaction() as connection:
            if older_than_seconds is not None:
                cutoff = time.time() - older_than_seconds
                removed += connection.execute("DELETE FROM cache WHERE used_at < ?", (cutoff,)).rowcount
                connection.execute("DELETE FROM results WHERE created_at < ?", (cutoff,))
                connection.execute("DELETE FROM runs WHERE started_at < ?", (cutoff,))
        self._compact()
        while max_bytes is not None and self.size_bytes() > max_bytes:
            # Oldest tenth of both tables per round: run history and least recently used entries.
            entries = self.connection.execute("SELECT COUNT(*) FROM cache").fetchone()[0]
            rows = self.connection.execute("SELECT COUNT(*) FROM results").fetchone()[0]
            if entries == 0 and rows == 0:
                break
            with self._transaction() as connection:
                removed += connection.execute(
                    "DELETE FROM cache WHERE rowid IN (SELECT rowid FROM cache ORDER BY used_at LIMIT ?)",
                    (max(1, entries // 10),),
                ).rowcount
                connection.execute(
                    "DELETE FROM results WHERE rowid IN (SELECT rowid FROM results ORDER BY created_at LIMIT ?)",
                    (max(1, rows // 10),),
                )
            self._compact()
        return removed

    @_locked
    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    # --- internals -----------------------------------------------------------------

    def _compact(self) -> None:
        assert self.connection is not None
        if self.url:
            self.connection.execute("VACUUM ANALYZE cache")  # autocommit: outside any transaction
            self.connection.execute("VACUUM ANALYZE results")
            return
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.connection.execute("VACUUM")

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        assert self.connection is not None
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        self._write_many(sql, [params])

    @_locked
    def _write_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if self.connection is None:
            return
        try:
            with self._transaction() as connection:
                connection.executemany(sql, rows)
        except self.errors as err:
            if self._disable(f"writing to the cache failed ({err})"):
                self._write_many(sql, rows)

    def _disable(self, why: str) -> bool:
        """Stop using the database after a failure: a shared store goes on in its local spool
        when it has one (True), else the run continues without the cache (False)."""
        if self.url and self.spool is not None and self._to_spool(why):
            return True
        shared = "; this run's later results are not shared (its reports have them all)" if self.url else ""
        self.problems.append(f"{self.location}: {SECRETS(why)}; the run continues without the cache{shared}")
        self.close()
        return False

    def _to_spool(self, why: str) -> bool:
        """Swap the dropped server for the local spool file, with this run's rows in it."""
        assert self.spool is not None
        try:
            self.spool.parent.mkdir(parents=True, exist_ok=True)
            spool = _connect(self.spool)
        except (sqlite3.Error, OSError, NotOurs):
            return False
        shared = self.location
        try:
            self.close()
        except Exception:  # noqa: BLE001 - the server is gone; its connection may not close cleanly
            self.connection = None
        self.connection, self.url, self.location = spool, None, str(self.spool)
        self.deps_written = set()
        self._write_many(_INSERT_RUN, self.run_rows)
        self.problems.append(
            f"{shared}: {SECRETS(why)}; the run goes on with a local spool ({self.spool}): its results reach the "
            f"shared store at the next run that reaches it"
        )
        return True

    def _read_failed(self, err: Exception) -> None:
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
            self.problems.append(f"{self.path}: reading the cache failed ({err}); the run continues without the cache")


_INSERT_RESULT = (
    "INSERT OR REPLACE INTO results (run_id, suite, case_id, repeat, cached, result, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


_INSERT_RUN = "INSERT OR IGNORE INTO runs (run_id, label, started_at, commit_sha, branch, run_group) VALUES (?, ?, ?, ?, ?, ?)"


@dataclass
class _Write:
    """A result waiting to be stored (:meth:`ResultStore.store`), its JSON encoded by the
    thread that made it."""

    run_id: str
    key: str
    parts: str
    result: CaseResult
    encoded: str
    deps: DepMap | None
    done: bool = False

    def statements(self, now: float, deps_written: set[str]) -> list[tuple[str, tuple[Any, ...]]]:
        """Its rows: the run's result, its dependency map unless ``deps_written`` has it
        (added to it), and, unless it errored (errors are never cached), its cache entry."""
        result, deps = self.result, self.deps
        statements: list[tuple[str, tuple[Any, ...]]] = [(_INSERT_RESULT, _result_row(self.run_id, result, now, self.encoded))]
        if deps is not None and deps.id not in deps_written:
            deps_written.add(deps.id)
            statements.append(("INSERT OR IGNORE INTO deps (id, map, created_at) VALUES (?, ?, ?)", (deps.id, deps.to_json(), now)))
        if not result.errored:
            statements.append((
                "INSERT OR REPLACE INTO cache (key, suite, case_id, repeat, parts, result, created_at, used_at, deps) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.key, result.suite, result.row_id, result.repeat, self.parts, self.encoded, now, now,
                 deps.id if deps is not None else ""),
            ))
        return statements


def _result_row(run_id: str, result: CaseResult, now: float, encoded: str | None = None) -> tuple[Any, ...]:
    """A ``results`` row; ``encoded``: the result's JSON when the caller has it already."""
    return (run_id, result.suite, result.row_id, result.repeat, int(result.cached), encoded or result_to_json(result), now)


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, one short transaction per write.
    connection = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.DatabaseError(f"cannot switch to WAL mode (got {mode})")
        connection.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable at each commit's checkpoint
        application = connection.execute("PRAGMA application_id").fetchone()[0]
        if application != APPLICATION_ID:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables - _OWN_TABLES:
                raise NotOurs(f"{path} is another program's SQLite database (tables: {', '.join(sorted(tables))[:80]})")
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        _migrate(connection)
        connection.execute("SELECT COUNT(*) FROM cache").fetchone()
    except BaseException:
        connection.close()
        raise
    return connection


def _migrate(connection: sqlite3.Connection) -> None:
    apply_migrations(connection, "BEGIN IMMEDIATE")


APPLICATION_ID = 0x45764C47
"""``PRAGMA application_id`` of every store evalgate creates ("EvLG"): how it knows a file is
its own before it ever moves one aside."""
_SQLITE_MAGIC = b"SQLite format 3\x00"
_OWN_TABLES = {"migrations", "cache", "runs", "results", "run_suites", "deps", "run_deps", "suite_maps", "judgements"}


class NotOurs(sqlite3.DatabaseError):
    """The file is an SQLite database of some other program."""


def _refusal(path: Path) -> str | None:
    """Why ``path`` must not be opened as a store (not a regular file, not SQLite), or None."""
    if not path.exists():
        return None
    if not path.is_file():
        return f"{path} is not a regular file, so it cannot be the result store"
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
    except OSError as err:
        return f"cannot read {path} ({err.strerror})"
    if header and not header.startswith(_SQLITE_MAGIC) and path.parent.name != ".evalgate":
        return f"{path} is not an evalgate result store (not an SQLite file): left as it is"
    return None


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
