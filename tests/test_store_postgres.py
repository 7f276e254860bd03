"""The shared store on a real PostgreSQL server (a throwaway cluster started by
scripts/postgres.sh): runs share results through it, many writers lose nothing, a server
that drops mid-run or cannot be reached never stops a run and is said, and no password is
ever printed. Set EVALGATE_REQUIRE_POSTGRES=1 (CI does) to fail instead of skip without the
server binaries."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, write_project

from evalgate.cli import main
from evalgate.results import CaseResult
from evalgate.store.postgres import display, translate
from evalgate.store.sqlite import ResultStore

SCRIPT = REPO / "scripts" / "postgres.sh"


def has_server_binaries() -> bool:
    return bool(shutil.which("pg_ctl")) or any(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a fresh cluster's ``evalgate`` database."""
    pytest.importorskip("psycopg")
    if not has_server_binaries():
        message = "no PostgreSQL server binaries (initdb, pg_ctl); PostgreSQL 15 is on the CI image"
        if os.environ.get("EVALGATE_REQUIRE_POSTGRES"):
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("postgres")
    started = subprocess.run(["bash", str(SCRIPT), "start", str(folder)], capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    yield started.stdout.strip()
    subprocess.run(["bash", str(SCRIPT), "remove", str(folder)], capture_output=True, timeout=120)


@pytest.fixture
def database(server: str) -> str:
    """A new, empty database on the server, for one test."""
    import psycopg

    name = f"t{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + f"/{name}"


def test_sqlite_statements_become_postgres_ones() -> None:
    assert translate("INSERT OR IGNORE INTO deps (id, map, created_at) VALUES (?, ?, ?)") == (
        "INSERT INTO deps (id, map, created_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"
    )
    assert translate("INSERT OR REPLACE INTO run_suites (run_id, suite, complete, selected, verdict) VALUES (?, ?, ?, ?, ?)") == (
        "INSERT INTO run_suites (run_id, suite, complete, selected, verdict) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (run_id, suite) DO UPDATE SET complete = EXCLUDED.complete, selected = EXCLUDED.selected, "
        "verdict = EXCLUDED.verdict"
    )
    assert translate("CREATE TABLE t (at REAL NOT NULL)") == "CREATE TABLE t (at DOUBLE PRECISION NOT NULL)"
    assert display("postgresql://me:s3cret@db:5432/x") == "postgresql://me:***@db:5432/x"


def test_runs_share_results_through_the_store(pytester: pytest.Pytester, database: str, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EVALGATE_STORE_URL", database)
    write_project(pytester.path, cases=12, correct=12, min_pass_rate=0.5)
    first = pytester.runpytest("--eval-tier=full")
    first.stdout.fnmatch_lines(["*evalgate cache: 0 hit(s), 12 model call(s) (postgresql://*)"])
    other = pytester.path / "elsewhere"  # another checkout, another machine: same store
    write_project(other, cases=12, correct=12, min_pass_rate=0.5)
    second = pytester.runpytest("--eval-tier=full", f"--rootdir={other}", f"--eval-config={other / 'pyproject.toml'}", str(other))
    second.stdout.fnmatch_lines(["*evalgate cache: 12 hit(s), 0 model call(s)*"])
    assert not (pytester.path / ".evalgate" / "cache.sqlite").exists()  # nothing went to a file
    capsys.readouterr()
    assert main(["cache", "--project", str(pytester.path), "stats"]) == 0
    stats = capsys.readouterr().out
    assert "cache: postgresql://evalgate@127.0.0.1" in stats and "entries: 12" in stats, stats
    assert main(["cache", "--project", str(pytester.path), "prune", "--older-than", "0s"]) == 0


WRITER = """
import sys
from evalgate.results import CaseResult
from evalgate.store.sqlite import ResultStore
url, worker = sys.argv[1], int(sys.argv[2])
store = ResultStore.open_url(url)
assert store.enabled, store.problems
for i in range(300):
    result = CaseResult(suite="s", case_id=f"w{worker}-{i}", output="a", score=1.0, passed=True)
    store.cache.store(f"run{worker}", f"key-{worker}-{i}", {"n": i}, result)
assert store.enabled, store.problems
store.close()
"""


def test_many_writers_at_once_lose_nothing(database: str) -> None:
    """Four processes start on a new database together (one migrates, the others wait on the
    advisory lock) and write 300 results each."""
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, database, str(worker)], stderr=subprocess.PIPE, text=True)
               for worker in range(4)]
    for writer in writers:
        _, errors = writer.communicate(timeout=120)
        assert writer.returncode == 0, errors
    store = ResultStore.open_url(database)
    assert store.stats().entries == 1200 and len(store.cache.lookup_many([f"key-3-{i}" for i in range(300)])) == 300
    store.history.start_run("run2", "full")
    assert len(store.history.run_results("run2")) == 300
    store.close()


DROPPING_MODEL = """
import psycopg

def answer(prompt, **params):
    if prompt == "q5":  # the server drops every other connection: evalgate's too
        with psycopg.connect({url!r}, autocommit=True) as connection:
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE pid <> pg_backend_pid() AND datname = current_database()")
    return "a" + prompt[1:]
"""


def test_a_server_that_drops_mid_run_stops_nothing_and_is_said(pytester: pytest.Pytester, database: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALGATE_STORE_URL", database)
    write_project(pytester.path, cases=10, correct=10, min_pass_rate=0.5, model_code=DROPPING_MODEL.format(url=database))
    result = pytester.runpytest("--eval-tier=full", "--eval-report=out", "-p", "no:randomly")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*the run goes on with a local spool (*spool.sqlite): its results reach the shared store at the next run*"])
    document = (pytester.path / "out" / "results.json").read_text()
    assert document.count('"case_id"') == 10  # every case reported, shared or not
    spool = pytester.path / ".evalgate" / "spool.sqlite"
    assert spool.exists()
    again = pytester.runpytest("--eval-tier=full")  # every answer is cached now: the model never drops the server
    again.stdout.fnmatch_lines(["*evalgate cache: 10 hit(s), 0 model call(s)*",  # every result reached the server
                                "evalgate cache: sent 6 result(s) an earlier run kept in *spool.sqlite while the shared store was unreachable*"])
    assert "cache warning" not in again.stdout.str()  # good news is not a warning
    assert not spool.exists()


def test_the_documented_roles_let_fork_pull_requests_read_mains_rows_and_forge_none(
    pytester: pytest.Pytester, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """scripts/postgres-roles.sql, applied as docs/security.md says: main's CI (with the key) fills
    the store; a fork's pull request (no key, its own role) reuses main's results, writes its
    own, and can neither write rows as main nor alter main's rows."""
    import psycopg

    suffix = uuid.uuid4().hex[:8]
    ci, pr = f"evalgate_ci_{suffix}", f"evalgate_pr_{suffix}"
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {ci} LOGIN")
        connection.execute(f"CREATE ROLE {pr} LOGIN")
    for name in ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "GITHUB_REF", "CI_COMMIT_BRANCH", "EVALGATE_STORE_KEY"):
        monkeypatch.delenv(name, raising=False)
    write_project(pytester.path, cases=10, correct=10, min_pass_rate=0.5)
    monkeypatch.setenv("EVALGATE_STORE_URL", database)  # the owner: the first run creates the tables
    monkeypatch.setenv("GITHUB_HEAD_REF", "setup")
    assert pytester.runpytest("--eval-tier=full").ret == 0
    applied = subprocess.run(["psql", database, "-v", "ON_ERROR_STOP=1", "-v", f"ci_role={ci}", "-v", f"pr_role={pr}",
                              "-v", "trusted='main'", "-q", "-f", str(REPO / "scripts" / "postgres-roles.sql")],
                             capture_output=True, text=True, timeout=60)
    assert applied.returncode == 0, applied.stderr
    as_role = lambda role: database.replace("://evalgate@", f"://{role}@", 1)  # noqa: E731
    monkeypatch.setenv("GITHUB_HEAD_REF", "main")
    monkeypatch.setenv("EVALGATE_STORE_URL", as_role(ci))
    monkeypatch.setenv("EVALGATE_STORE_KEY", "k" * 32)
    main_run = pytester.runpytest("--eval-tier=full")
    main_run.stdout.fnmatch_lines(["*evalgate cache: 0 hit(s), 10 model call(s)*"])
    monkeypatch.delenv("EVALGATE_STORE_KEY")
    monkeypatch.setenv("EVALGATE_STORE_URL", as_role(pr))
    monkeypatch.setenv("GITHUB_HEAD_REF", "feature")
    fork = pytester.runpytest("--eval-tier=full")
    fork.stdout.fnmatch_lines(["*evalgate cache: 10 hit(s), 0 model call(s)*"])  # main's rows, read
    assert "cache warning" not in fork.stdout.str()  # its own rows were written
    with psycopg.connect(as_role(pr), autocommit=True) as connection:
        altered = connection.execute("UPDATE cache SET result = 'forged' WHERE ref = 'main'").rowcount
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute("INSERT INTO cache (key, run_id, ref, suite, case_id, repeat, parts, result, deps, created_at, "
                               "used_at, sig) VALUES ('k', 'r', 'main', 's', 'c', 0, '{}', 'forged', '', 0, 0, '')")
    assert altered == 0
    monkeypatch.setenv("GITHUB_HEAD_REF", "main")  # a fork claiming to be main: refused by the database
    claiming = pytester.runpytest("--eval-tier=full", "--eval-refresh")
    claiming.stdout.fnmatch_lines(["*evalgate cache warning:*row-level security*"])
    with psycopg.connect(database) as connection:
        forged = connection.execute("SELECT COUNT(*) FROM cache WHERE result = 'forged'").fetchone()
    assert forged == (0,)


def test_a_row_the_server_refuses_never_strands_the_spool(pytester: pytest.Pytester, database: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A spool holding a row PostgreSQL cannot store (a NUL byte in its case id): that row is
    quarantined beside the spool and named, every other row reaches the server."""
    from evalgate.store.trust import Trust

    write_project(pytester.path, cases=3)
    spool_path = pytester.path / ".evalgate" / "spool.sqlite"
    spool = ResultStore.open(spool_path, Trust("local", ("local",)))
    spool.history.start_run("r1", "full")
    for case_id in ("good-1", "bad\x00id", "good-2"):
        spool.cache.store("r1", f"key-{case_id}", {}, CaseResult(suite="qa", case_id=case_id, output="a", score=1.0, passed=True))
    spool.close()
    monkeypatch.setenv("EVALGATE_STORE_URL", database)
    result = pytester.runpytest("--eval-tier=full")
    result.stdout.fnmatch_lines(["*the shared store refused * row(s) of the spool (*'bad\\x00id'*); kept in *quarantine*, the rest was sent*"])
    assert not spool_path.exists() and list(spool_path.parent.glob("spool.quarantine-*.jsonl"))
    import psycopg

    with psycopg.connect(database) as connection:
        sent = {row[0] for row in connection.execute("SELECT case_id FROM results WHERE run_id = 'r1'")}
    assert sent == {"good-1", "good-2"}


def test_a_server_that_is_gone_without_a_spool_says_results_are_not_shared(
    pytester: pytest.Pytester, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``evalgate cache`` commands open the store without a spool: a drop there is one line."""
    from evalgate.store.sqlite import ResultStore

    store = ResultStore.open_url(database)
    assert store.enabled and store.db.spool is None
    store.db.disable("the server went away")  # what a failed write does
    assert not store.enabled and "this run's later results are not shared" in store.problems[-1]


def test_an_unreachable_store_is_one_line_and_never_shows_the_password(pytester: pytest.Pytester,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("EVALGATE_STORE_URL", f"postgresql://team:hunter2secret@127.0.0.1:{port}/evalgate")
    write_project(pytester.path, cases=4, min_pass_rate=0.5)
    result = pytester.runpytest("--eval-tier=full", "--eval-report=out")
    assert result.ret == 0
    output = result.stdout.str() + result.stderr.str()
    assert "cannot reach the shared store postgresql://team:***@127.0.0.1" in output and "results are not shared" in output
    reports = "".join(path.read_text() for path in (pytester.path / "out").iterdir())
    assert "hunter2secret" not in output + reports


def test_a_cache_result_round_trips_with_its_dependency_map(database: str) -> None:
    from evalgate.store.deps import DepMap

    store = ResultStore.open_url(database)
    deps = DepMap({"app/model.py": "abc"}, {"requests": "2.32"}, "lock1")
    result = CaseResult(suite="s", case_id="c", output="a", score=1.0, passed=True, usage={"prompt_tokens": 3})
    store.cache.store("run", "key", {"model": "m"}, result, deps, deps)
    store.cache.store("run", "key", {"model": "m"}, result, deps)  # an upsert, not a duplicate
    (entry,) = store.cache.lookup_many(["key"])["key"]
    assert entry.result == result and store.maps.load([entry.deps])[entry.deps] == deps
    assert store.maps.unions({("run", result.suite)}) == {("run", result.suite): deps}
    store.history.record_suites("run", [("s", True, False, "PASS")])
    store.history.finish_run("run", 0, 1)
    assert store.history.newest_complete_run("s") is None  # the run was never started
    store.history.start_run("run2", "full")
    store.history.record_suites("run2", [("s", True, False, "PASS")])
    store.history.finish_run("run2", 0, 1)
    assert store.history.newest_complete_run("s") == "run2"
    store.close()


def test_push_and_pull_move_a_laptops_results_and_ci_s_both_ways(
    pytester: pytest.Pytester, database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("EVALGATE_STORE_URL", raising=False)
    write_project(pytester.path, cases=8, correct=8, min_pass_rate=0.5)
    pytester.runpytest("--eval-tier=full").stdout.fnmatch_lines(["*0 hit(s), 8 model call(s)*"])
    for _ in range(2):  # twice: nothing is copied twice
        assert main(["cache", "--project", str(pytester.path), "push", "--store", database]) == 0
    pushed = capsys.readouterr().out
    # 8 entries and the maps they are valid under (the calls' own, the run's union)
    first, second = re.findall(r": (\d+) new entries, (\d+) new dependency map", pushed)
    assert first[0] == "8" and int(first[1]) >= 1 and second == ("0", "0")
    monkeypatch.setenv("EVALGATE_STORE_URL", database)
    pytester.runpytest("--eval-tier=full").stdout.fnmatch_lines(["*8 hit(s), 0 model call(s) (postgresql://*"])
    monkeypatch.delenv("EVALGATE_STORE_URL")
    monkeypatch.setenv("EVALGATE_CACHE", str(pytester.path / "fresh.sqlite"))  # a new laptop
    assert main(["cache", "--project", str(pytester.path), "pull", "--store", database]) == 0
    assert ": 8 new entries" in capsys.readouterr().out
    pytester.runpytest("--eval-tier=full").stdout.fnmatch_lines(["*8 hit(s), 0 model call(s)*fresh.sqlite*"])
    assert main(["cache", "--project", str(pytester.path), "push"]) == 2  # no shared store named anywhere


def test_a_store_url_that_is_not_postgresql_is_one_clear_line() -> None:
    store = ResultStore.open_url("mysql://team:s3cret@db/evalgate")
    assert not store.enabled
    assert store.problems == ["the shared store must be a postgresql:// URL, not 'mysql://team:***@db/evalgate' "
                              "(EVALGATE_STORE_URL or [store] url); running without the cache"]


def test_shards_on_two_machines_stop_early_together_through_the_server(
    pytester: pytest.Pytester, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two checkouts (two CI runners) of one run group: the second shard settles on the first's
    results, read from the server, and skips the rest."""
    monkeypatch.setenv("EVALGATE_STORE_URL", database)
    monkeypatch.setenv("EVALGATE_RUN_GROUP", "pipeline-42")
    rows = [{"id": f"case-{i:03d}", "input": f"q{i}", "expected": f"a{i}"} for i in range(300)]
    other = pytester.path / "runner-2"
    for root in (pytester.path, other):
        write_project(root, rows=rows, correct=300, min_pass_rate=0.5, early_stop=True, gate={"max_error_rate": 0.2})
    first = pytester.runpytest("--eval-tier=full", "--eval-shard=1/2")
    assert first.ret == 0 and "settled across shards" not in first.stdout.str()
    second = pytester.runpytest("--eval-tier=full", "--eval-shard=2/2", f"--rootdir={other}",
                                f"--eval-config={other / 'pyproject.toml'}", str(other), "-rs")
    second.stdout.fnmatch_lines(["*verdict settled across shards: qa PASS after * of 300 cases*"])
