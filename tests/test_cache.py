"""The result cache with real SQLite files and real pytest runs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from conftest import add_suite, make_result, write_project

from evalgate.cli import main
from evalgate.results import CaseResult, result_to_json
from evalgate.store.keys import cache_key
from evalgate.store.sqlite import ResultStore

COUNTING_MODEL = '''
import os, time
from pathlib import Path

def answer(prompt, delay=0.0):
    with open(Path(__file__).parent / "calls.log", "a") as log:
        log.write(prompt + "\\n")
    time.sleep(delay)
    return "a" + prompt.removeprefix("q")
'''


def counting_project(root: Path, cases: int = 10, delay: float = 0.0, deterministic: bool = True) -> Path:
    """Two suites, `qa` (declares prompts/qa.txt) and `other` (declares nothing), both on a
    model that logs every call to calls.log."""
    model = {"kind": "python", "function": "toy_model:answer", "params": {"delay": delay}, "deterministic": deterministic}
    write_project(root, cases=cases, model=model, model_code=COUNTING_MODEL, suite_options={"components": ["prompts/*.txt"]})
    add_suite(root, "other", cases=cases)
    (root / "prompts").mkdir(exist_ok=True)
    (root / "prompts" / "qa.txt").write_text("Answer briefly.\n")
    return root


def calls(root: Path) -> list[str]:
    log = root / "calls.log"
    calls = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return calls


def test_second_run_makes_no_model_calls(pytester: pytest.Pytester) -> None:
    counting_project(pytester.path)
    first = pytester.runpytest("--eval-tier=full")
    assert len(calls(pytester.path)) == 20
    first.stdout.fnmatch_lines(["evalgate cache: 0 hit(s), 20 model call(s)*"])
    second = pytester.runpytest("--eval-tier=full", "--eval-report", "out")
    assert calls(pytester.path) == []
    second.stdout.fnmatch_lines(["qa*PASS*10/10*0 *cache 10*", "evalgate cache: 20 hit(s), 0 model call(s)*"])
    document = json.loads((pytester.path / "out" / "results.json").read_text())
    assert all(case["cached"] for case in document["cases"])
    assert {s["suite"]: s["cache_hits"] for s in document["suites"]} == {"qa": 10, "other": 10}


def test_a_component_change_reruns_exactly_the_suites_declaring_it(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    counting_project(pytester.path)
    pytester.runpytest("--eval-tier=full")
    calls(pytester.path)
    (pytester.path / "prompts" / "qa.txt").write_text("Answer in one word.\n")
    rerun = pytester.runpytest("--eval-tier=full")
    rerun.stdout.fnmatch_lines(["other*PASS*10/10*0 *cache 10*"])
    rerun.stdout.fnmatch_lines(["qa*PASS*10/10*0   *-*"])
    assert len(calls(pytester.path)) == 10
    # explain, with the component changed again since the last run
    (pytester.path / "prompts" / "qa.txt").write_text("Answer in two words.\n")
    assert main(["cache", "--project", str(pytester.path), "explain", "qa", "case-003"]) == 0
    out = capsys.readouterr().out
    assert "qa::case-003: miss" in out and "component prompts/qa.txt changed" in out
    assert main(["cache", "--project", str(pytester.path), "explain", "other", "case-003"]) == 0
    assert "cached — the key and every recorded dependency are unchanged" in capsys.readouterr().out


def test_model_parameters_and_scorer_are_part_of_the_key(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    counting_project(pytester.path)
    pytester.runpytest("--eval-tier=full")
    calls(pytester.path)
    counting_project(pytester.path, delay=0.001)
    pytester.runpytest("--eval-tier=full")
    assert len(calls(pytester.path)) == 20
    add_suite(pytester.path, "other", scorer={"kind": "exact", "case_sensitive": True})
    assert main(["cache", "--project", str(pytester.path), "explain", "other", "case-001"]) == 0
    assert "scorer params.case_sensitive changed (False → True)" in capsys.readouterr().out


def test_non_deterministic_models_cache_each_repeat(pytester: pytest.Pytester) -> None:
    counting_project(pytester.path, cases=4, deterministic=False)
    pytester.runpytest("--eval-tier=deep-dive")
    assert len(calls(pytester.path)) == 2 * 4 * 3
    pytester.runpytest("--eval-tier=deep-dive")
    assert calls(pytester.path) == []


def test_deterministic_models_are_not_repeated(pytester: pytest.Pytester) -> None:
    counting_project(pytester.path, cases=4)
    result = pytester.runpytest("--eval-tier=deep-dive")
    assert len(calls(pytester.path)) == 2 * 4  # once per case, not the tier's 3 repeats
    result.stdout.fnmatch_lines(["evalgate cache: 0 hit(s), 8 model call(s)*"])


def test_no_cache_and_refresh(pytester: pytest.Pytester) -> None:
    counting_project(pytester.path, cases=3)
    pytester.runpytest("--eval-tier=full", "--eval-no-cache")
    assert not (pytester.path / ".evalgate").exists() and len(calls(pytester.path)) == 6
    pytester.runpytest("--eval-tier=full")
    calls(pytester.path)
    pytester.runpytest("--eval-tier=full", "--eval-refresh")
    assert len(calls(pytester.path)) == 6
    pytester.runpytest("--eval-tier=full")
    assert calls(pytester.path) == []


def test_xdist_workers_share_the_cache(pytester: pytest.Pytester) -> None:
    counting_project(pytester.path, cases=30)
    first = pytester.runpytest_subprocess("--eval-tier=full", "-n", "2")
    assert first.ret == 0 and len(calls(pytester.path)) == 60
    second = pytester.runpytest_subprocess("--eval-tier=full", "-n", "2")
    second.stdout.fnmatch_lines(["evalgate cache: 60 hit(s), 0 model call(s)*"])
    assert calls(pytester.path) == []


def run_pytest(root: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=root, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_two_processes_writing_at_once(tmp_path: Path) -> None:
    root = counting_project(tmp_path / "proj", cases=40, delay=0.002)
    runs = [run_pytest(root, "--eval-tier=full"), run_pytest(root, "--eval-tier=full")]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert not any("cache warning" in output for output in outputs), outputs
    calls(root)
    again = run_pytest(root, "--eval-tier=full").communicate(timeout=300)[0]
    assert "evalgate cache: 80 hit(s), 0 model call(s)" in again
    assert calls(root) == []


def test_threads_storing_at_once_each_find_their_result_committed_when_store_returns(tmp_path: Path) -> None:
    """Results stored together share transactions (group commit), yet every store() returns
    only once its result is committed: another connection sees it at once, and none is lost."""
    import threading

    store = ResultStore.open(tmp_path / "cache.sqlite")
    missing: list[str] = []
    start = threading.Barrier(16)

    def writer(thread: int) -> None:
        start.wait()
        with closing(sqlite3.connect(tmp_path / "cache.sqlite", timeout=5)) as reader:
            for index in range(25):
                key = f"k-{thread}-{index}"
                store.cache.store("run", key, {"case": key}, make_result(key))
                if reader.execute("SELECT 1 FROM cache WHERE key = ?", (key,)).fetchone() is None:
                    missing.append(key)

    threads = [threading.Thread(target=writer, args=(thread,)) for thread in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    store.close()
    assert missing == [] and store.problems == []
    assert cached_count(tmp_path / "cache.sqlite") == 400


def cached_count(path: Path) -> int:
    try:
        with closing(sqlite3.connect(path, timeout=5)) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM cache").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_kill_9_mid_run_keeps_every_finished_case(tmp_path: Path) -> None:
    root = counting_project(tmp_path / "proj", cases=60, delay=0.05)
    database = root / ".evalgate" / "cache.sqlite"
    run = run_pytest(root, "--eval-tier=full")
    deadline = time.monotonic() + 120
    while cached_count(database) < 15 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(run.pid, signal.SIGKILL)
    run.communicate()
    finished = cached_count(database)
    assert 15 <= finished < 120
    calls(root)
    rerun = run_pytest(root, "--eval-tier=full").communicate(timeout=300)[0]
    assert f"evalgate cache: {finished} hit(s), {120 - finished} model call(s)" in rerun, rerun
    assert len(calls(root)) == 120 - finished


def test_corrupt_cache_is_moved_aside_and_the_run_continues(pytester: pytest.Pytester) -> None:
    counting_project(pytester.path, cases=3)
    database = pytester.path / ".evalgate" / "cache.sqlite"
    database.parent.mkdir()
    database.write_bytes(b"this is not a database" * 100)
    result = pytester.runpytest("--eval-tier=full")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["evalgate cache warning: *cache.sqlite is not a usable cache*moved it to cache.sqlite.corrupt-*"])
    assert list(database.parent.glob("cache.sqlite.corrupt-*"))
    again = pytester.runpytest("--eval-tier=full")
    again.stdout.fnmatch_lines(["evalgate cache: 6 hit(s), 0 model call(s)*"])


def test_truncated_cache_file(pytester: pytest.Pytester) -> None:
    counting_project(pytester.path, cases=20)
    pytester.runpytest("--eval-tier=full")
    database = pytester.path / ".evalgate" / "cache.sqlite"
    ResultStore.open(database).close()  # checkpoint the WAL into the main file
    data = database.read_bytes()
    database.write_bytes(data[: len(data) // 3])
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    result = pytester.runpytest("--eval-tier=full")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["evalgate cache warning: *cache.sqlite*"])


def test_unwritable_cache_location_warns_and_runs(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    counting_project(pytester.path, cases=3)
    monkeypatch.setenv("EVALGATE_CACHE", "/proc/evalgate-cannot-exist/cache.sqlite")
    result = pytester.runpytest("--eval-tier=full")
    assert result.ret == 0
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["evalgate cache warning: cannot create /proc/evalgate-cannot-exist*running without the cache"])


def result(case_id: str, error: bool = False) -> CaseResult:
    return make_result(case_id, error="timeout" if error else None)


def test_store_roundtrip_errors_never_cached_and_migrations_recorded(tmp_path: Path) -> None:
    store = ResultStore.open(tmp_path / "c.sqlite")
    store.history.start_run("r1", "full")
    store.cache.store("r1", "k1", {"case": 1}, result("a"))
    store.cache.store("r1", "k2", {"case": 2}, result("b", error=True))
    assert set(store.cache.lookup_many(["k1", "k2", "k3"])) == {"k1"}
    assert [r.case_id for r in store.history.run_results("r1")] == ["a", "b"]  # errors are still in the run's results
    store.history.finish_run("r1", hits=0, misses=2)
    assert store.stats().entries == 1 and store.stats().last_run["hit_rate"] == 0.0  # type: ignore[index]
    versions = store.db.query("SELECT version FROM migrations ORDER BY version")
    assert versions == [(v,) for v in range(1, 9)]
    assert store.db.query("PRAGMA journal_mode") == [("wal",)]
    store.close()
    (entry,) = ResultStore.open(tmp_path / "c.sqlite").cache.lookup_many(["k1"])["k1"]
    assert entry.result.output == "out" and entry.run_id == "r1"


def test_a_store_of_an_earlier_version_is_migrated_and_its_unattributed_entries_dropped(tmp_path: Path) -> None:
    """Entries written before every row carried its writer's ref: nothing says who wrote them,
    so the migration drops them (a cache refills); the run history stays."""
    from evalgate.store.schema import MIGRATIONS

    path = tmp_path / "c.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)")
    for version, name, script in MIGRATIONS[:7]:
        for statement in filter(str.strip, script.split(";")):
            connection.execute(statement)
        connection.execute("INSERT INTO migrations VALUES (?, ?, 0)", (version, name))
    connection.execute("INSERT INTO cache (key, deps, suite, case_id, repeat, parts, result, created_at, used_at) "
                       "VALUES ('k1', 'map1', 's', 'a', 0, '{}', ?, 1, 1)", (result_to_json(result("a")),))
    connection.execute("INSERT INTO runs (run_id, label, started_at) VALUES ('old', 'full', 1)")
    connection.commit()
    connection.close()
    store = ResultStore.open(path)
    assert store.enabled, store.problems
    assert store.cache.lookup_many(["k1"]) == {}
    assert store.db.query("SELECT run_id FROM runs") == [("old",)]
    store.cache.store("r", "k1", {}, result("a"))
    assert [entry.run_id for entry in store.cache.lookup_many(["k1"])["k1"]] == ["r"]


def test_a_full_disk_disables_the_cache_without_losing_the_result(tmp_path: Path) -> None:
    store = ResultStore.open(tmp_path / "c.sqlite")
    assert store.db.connection is not None
    pages = store.db.connection.execute("PRAGMA page_count").fetchone()[0]
    store.db.connection.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "disk full"
    big = CaseResult(suite="s", case_id="x", output="y" * 200_000, score=1.0, passed=True)
    store.cache.store("r", cache_key({"x": 1}), {"x": 1}, big)
    assert not store.enabled
    assert "full" in store.problems[0] and "continues without the cache" in store.problems[0]
    store.cache.store("r", "k", {}, big)  # further writes are dropped quietly
    assert store.cache.lookup_many(["k"]) == {}


def test_prune_by_age_and_size(tmp_path: Path) -> None:
    store = ResultStore.open(tmp_path / "c.sqlite")
    for index in range(200):
        store.cache.store("r", f"k{index}", {}, result(f"c{index}").replace(output="z" * 5000))
    assert store.db.connection is not None
    store.db.connection.execute("UPDATE cache SET used_at = used_at - 40 * 86400 WHERE key IN ('k0', 'k1')")
    assert store.prune(older_than_seconds=30 * 86400) == 2
    before = store.db.size_bytes()
    removed = store.prune(max_bytes=before // 2)
    assert removed > 0 and store.db.size_bytes() <= before // 2
    assert store.stats().entries == 198 - removed


def test_cache_cli_stats_and_prune(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    counting_project(pytester.path, cases=5)
    assert main(["cache", "--project", str(pytester.path), "stats"]) == 0
    assert "no cache yet" in capsys.readouterr().out
    pytester.runpytest("--eval-tier=full")
    pytester.runpytest("--eval-tier=full")
    assert main(["cache", "--project", str(pytester.path), "stats"]) == 0
    out = capsys.readouterr().out
    assert "entries: 10" in out and "last run: full: 10 hit(s), 0 model call(s), hit rate 100.0%" in out
    assert main(["cache", "--project", str(pytester.path), "prune", "--older-than", "30d"]) == 0
    assert "removed 0 entries" in capsys.readouterr().out
    assert main(["cache", "--project", str(pytester.path), "prune"]) == 2
    with pytest.raises(SystemExit):
        main(["cache", "--project", str(pytester.path), "prune", "--max-size", "lots"])


def test_a_trailing_double_star_component_means_every_file_below(tmp_path: Path) -> None:
    from evalgate.store.keys import component_digests

    (tmp_path / "app" / "web" / "__pycache__").mkdir(parents=True)
    (tmp_path / "app" / "a.py").write_text("A = 1\n")
    (tmp_path / "app" / "web" / "ui.py").write_text("B = 2\n")
    (tmp_path / "app" / "web" / "__pycache__" / "ui.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / ".evalgate").mkdir()
    (tmp_path / ".evalgate" / "cache.sqlite").write_bytes(b"\0")
    assert set(component_digests(tmp_path, ["app/**"])) == {"app/a.py", "app/web/ui.py"}
    assert set(component_digests(tmp_path, ["**"])) == {"app/a.py", "app/web/ui.py"}
    assert component_digests(tmp_path, ["prompts/**"]) == {"prompts/**": "missing"}
