"""Only trusted runs fill what others trust: every stored row carries the ref that wrote it, and
runs holding the store key sign what they write and serve only what verifies.

The reproductions of the issue, each failing before: a FAIL turned into a PASS by editing the
store, results computed against a mock endpoint served for the real one, a pull request's
rows served to main, a forged judge verdict, a forged baseline.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import make_result, write_project
from fake_openai import FakeOpenAI, answer, send
from gitrepo import GitRepo, committed_project

from evalgate.store.sqlite import ResultStore
from evalgate.store.trust import Trust

KEY = "k" * 32


def calls(result: pytest.RunResult) -> tuple[int, int]:
    line = next(line for line in result.outlines if line.startswith("evalgate cache: ") and "hit(s)" in line)
    hits, _, rest = line.removeprefix("evalgate cache: ").partition(" hit(s), ")
    return int(hits), int(rest.partition(" model call(s)")[0])


def test_refs_and_signatures() -> None:
    signer = Trust("main", ("main", "release/*"), KEY.encode())
    signature = signer.sign("cache", "main", ("k", "r", "out"))
    assert signer.accepts("cache", "main", signature, ("k", "r", "out"))
    assert not signer.accepts("cache", "main", signature, ("k", "r", "forged"))
    assert not signer.accepts("cache", "main", "", ("k", "r", "out"))
    assert signer.rejected == {"cache": 2} and "never served" in signer.report()[0]
    assert signer.may_read("release/1.2") and not signer.may_read("feature")
    reader = Trust("feature", ("main",))  # a fork's pull request: no key
    assert reader.accepts("cache", "main", signature, ("k", "r", "out")) and reader.accepts("cache", "feature", "", ("x",))
    assert not reader.accepts("cache", "other-pr", "", ("x",))
    assert KEY not in repr(signer) and reader.sign("cache", "feature", ("x",)) == ""


def test_a_row_altered_in_the_store_is_never_served(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    store = ResultStore.open(path, Trust("main", ("main",), KEY.encode()))
    failing = make_result("a", passed=False)
    store.cache.store("r1", "k1", {}, failing)
    store.judgements.put("j1", '{"pass": false, "score": 0.0, "reason": "wrong"}')
    store.close()
    with sqlite3.connect(path) as connection:  # someone with the store's URL
        connection.execute("UPDATE cache SET result = replace(result, '\"passed\":false', '\"passed\":true')")
        connection.execute("UPDATE judgements SET verdict = replace(verdict, 'false', 'true')")
    reader = ResultStore.open(path, Trust("main", ("main",), KEY.encode()))
    assert reader.cache.lookup_many(["k1"]) == {} and reader.judgements.get("j1") is None
    assert any("cache row(s)" in line and "never served" in line for line in reader.problems)


def test_rows_of_a_run_without_the_key_are_not_served_to_one_with_it(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    ResultStore.open(path, Trust("main", ("main",))).cache.store("r1", "k1", {}, make_result("a"))
    assert ResultStore.open(path, Trust("main", ("main",), KEY.encode())).cache.lookup_many(["k1"]) == {}
    assert len(ResultStore.open(path, Trust("main", ("main",))).cache.lookup_many(["k1"])["k1"]) == 1


def test_a_pull_requests_rows_are_never_served_to_another_ref(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    ResultStore.open(path, Trust("feature", ("main",))).cache.store("r1", "k1", {}, make_result("a"))
    ResultStore.open(path, Trust("main", ("main",))).cache.store("r2", "k2", {}, make_result("b"))
    on_main = ResultStore.open(path, Trust("main", ("main",)))
    assert set(on_main.cache.lookup_many(["k1", "k2"])) == {"k2"}
    other_pr = ResultStore.open(path, Trust("other", ("main",)))
    assert set(other_pr.cache.lookup_many(["k1", "k2"])) == {"k2"}  # main's, never the other PR's
    same_pr = ResultStore.open(path, Trust("feature", ("main",)))
    assert set(same_pr.cache.lookup_many(["k1", "k2"])) == {"k1", "k2"}


def test_a_forged_baseline_run_is_never_chosen(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    trusted = ResultStore.open(path, Trust("main", ("main",), KEY.encode()))
    trusted.history.start_run("good", "full", "c1", "main")
    trusted.history.record_suites("good", [("s", True, False, "PASS")])
    trusted.history.finish_run("good", 0, 1)
    intruder = ResultStore.open(path, Trust("main", ("main",)))  # labels itself main, has no key
    intruder.history.start_run("forged", "full", "c2", "main")
    intruder.history.record_suites("forged", [("s", True, False, "PASS")])
    intruder.history.finish_run("forged", 0, 1)
    assert ResultStore.open(path, Trust("pr", ("main",), KEY.encode())).history.newest_complete_run("s") == "good"


def test_an_edited_store_cannot_turn_a_failing_suite_into_a_pass(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's reproduction, end to end: a FAIL run, then ``UPDATE cache SET result =
    replace(…)`` so every cached result says it passed. With the store key, the next run
    ignores the altered rows, calls the model, FAILs, and says what it ignored."""
    monkeypatch.setenv("EVALGATE_STORE_KEY", KEY)
    write_project(pytester.path, cases=20, correct=5, min_pass_rate=0.8)
    assert pytester.runpytest("--eval-tier=full").ret == 1
    with sqlite3.connect(pytester.path / ".evalgate" / "cache.sqlite") as connection:
        connection.execute("UPDATE cache SET result = replace(replace(result, '\"passed\":false', '\"passed\":true'), "
                           "'\"score\":0.0', '\"score\":1.0')")
    again = pytester.runpytest("--eval-tier=full")
    assert again.ret == 1 and calls(again) == (5, 15)
    again.stdout.fnmatch_lines(["qa*FAIL*", "evalgate cache warning: ignored 15 cache row(s) of the store whose signature does not verify*"])


def test_results_from_another_endpoint_are_never_served(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run pointed by ``base_url_env`` at a mock that answers correctly stores PASS results;
    the next run against the real endpoint (which answers wrong) must call it, and FAIL."""
    with FakeOpenAI() as mock, FakeOpenAI() as real:
        real.respond = lambda handler, body: send(handler, 200, json.dumps(answer(handler.path, "wrong")))
        write_project(pytester.path, cases=10, min_pass_rate=0.8, model={
            "kind": "openai", "model": "m", "base_url": real.url, "base_url_env": "EVALGATE_TEST_URL", "api_key_env": ""})
        monkeypatch.setenv("EVALGATE_TEST_URL", mock.url)
        assert pytester.runpytest("--eval-tier=full").ret == 0
        monkeypatch.delenv("EVALGATE_TEST_URL")
        real_run = pytester.runpytest("--eval-tier=full")
        assert real_run.ret == 1 and calls(real_run) == (0, 10)


def test_a_branchs_results_stay_on_that_branch(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run on a feature branch fills the cache for that branch; main's run does not reuse
    them (it runs the cases itself); the feature branch reuses main's."""
    write_project(pytester.path, cases=6)
    repo = committed_project(pytester.path, monkeypatch)
    repo.git("checkout", "-q", "-b", "feature")
    assert calls(pytester.runpytest("--eval-tier=full")) == (0, 6)
    repo.git("checkout", "-q", "main")
    assert calls(pytester.runpytest("--eval-tier=full")) == (0, 6)
    repo.git("checkout", "-q", "-b", "another")
    assert calls(pytester.runpytest("--eval-tier=full")) == (6, 0)  # main's results: trusted


def test_a_short_store_key_is_refused(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALGATE_STORE_KEY", "short")
    write_project(pytester.path, cases=3)
    result = pytester.runpytest("--eval-tier=full")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*store key in $EVALGATE_STORE_KEY is too short*"])


def test_a_runs_ref_is_its_branch_its_detached_commit_or_local(tmp_path: Path) -> None:
    """The ref every stored row is signed under, from a real checkout in each state."""
    from evalgate.checkout import checkout_identity, run_ref

    outside = tmp_path / "outside"
    outside.mkdir()
    assert checkout_identity(outside, env={}) == (None, None)
    assert run_ref(outside, env={}) == "local"
    repo = GitRepo(tmp_path / "repo")
    assert checkout_identity(repo.path, env={}) == (None, None)  # no commit yet
    commit = repo.commit("first")
    repo.git("checkout", "-q", "-b", "feature/x")
    assert checkout_identity(repo.path, env={}) == (commit, "feature/x")
    assert run_ref(repo.path, env={"GITHUB_HEAD_REF": "pr-branch"}) == "pr-branch"  # CI's name first
    repo.git("checkout", "-q", "--detach")
    assert checkout_identity(repo.path, env={}) == (commit, None)
    assert run_ref(repo.path, env={}) == f"detached@{commit[:12]}"
