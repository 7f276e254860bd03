"""Early stopping across shards: shards of one run group that share a store read each other's
results, stop as soon as the unsharded run would, and merge to its verdict."""

from __future__ import annotations

import json

import pytest
from conftest import write_project

from evalgate.cli import main

ROWS = [{"id": f"case-{i:03d}", "input": f"q{i}", "expected": f"a{i}"} for i in range(400)]


def project(pytester: pytest.Pytester) -> None:
    # Every case passes; a budget of errors lets the early PASS settle well before the end.
    write_project(pytester.path, rows=ROWS, correct=400, min_pass_rate=0.5, early_stop=True, gate={"max_error_rate": 0.2})


def suite(path: str, pytester: pytest.Pytester) -> dict[str, object]:
    found: dict[str, object] = json.loads((pytester.path / path / "results.json").read_text())["suites"][0]
    return found


def test_the_second_shard_stops_on_the_groups_prefix_and_the_merge_agrees(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(pytester)
    for name in ("GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILDKITE_BUILD_ID", "BUILD_TAG"):
        monkeypatch.delenv(name, raising=False)
    whole = pytester.runpytest("--eval-tier=full", "--eval-report=whole", "--eval-no-cache")
    assert whole.ret == 0
    unsharded = suite("whole", pytester)
    decided_at = unsharded["decided_at"]
    assert isinstance(decided_at, int) and decided_at < 200
    monkeypatch.setenv("EVALGATE_RUN_GROUP", "ci-run-17")
    # Shard 1 alone never sees a complete prefix (shard 2's cases are missing): it runs all its cases.
    first = pytester.runpytest("--eval-tier=full", "--eval-shard=1/2", "--eval-report=s1", "--eval-refresh")
    assert first.ret == 0 and "settled across shards" not in first.stdout.str()
    one = suite("s1", pytester)
    # Shard 2 reads shard 1's results from the store: the prefix settles, and it stops.
    second = pytester.runpytest("--eval-tier=full", "--eval-shard=2/2", "--eval-report=s2", "--eval-refresh", "-rs")
    second.stdout.fnmatch_lines(["*verdict settled across shards: qa PASS after * of 400 cases*"])
    two = suite("s2", pytester)
    assert isinstance(one["cases_run"], int) and isinstance(two["cases_run"], int)
    assert one["cases_run"] + two["cases_run"] < 400  # shard 2 skipped what the group's prefix made useless
    capsys.readouterr()
    assert main(["report", "merge", str(pytester.path / "s1"), str(pytester.path / "s2"), "--out", str(pytester.path / "merged")]) == 0
    merged = suite("merged", pytester)
    assert merged["verdict"] == unsharded["verdict"] == "PASS" and merged["decided_at"] == decided_at


def test_without_a_group_shards_never_stop_early(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    project(pytester)
    for name in ("EVALGATE_RUN_GROUP", "GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILDKITE_BUILD_ID", "BUILD_TAG"):
        monkeypatch.delenv(name, raising=False)
    runs = 0
    for shard in ("1/2", "2/2"):
        pytester.runpytest("--eval-tier=full", f"--eval-shard={shard}", f"--eval-report=s{shard[0]}")
        runs += int(suite(f"s{shard[0]}", pytester)["cases_run"])  # type: ignore[call-overload]
    assert runs == 400


def test_a_ci_run_is_a_group_and_different_plans_never_share_one(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from pathlib import Path

    from evalgate.project import discover_project
    from evalgate.run.group import run_group
    from evalgate.run.session import EvalSession

    root = Path(str(tmp_path))
    write_project(root, rows=ROWS[:20], correct=20)
    loaded = discover_project(root)
    shard = EvalSession.for_tier(loaded, "full", (1, 2))
    env = {"GITHUB_RUN_ID": "99", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_REPOSITORY": "acme/app"}
    group = run_group(None, env, shard)
    assert group is not None and group.startswith("acme/app:99:1|full|2|")
    assert run_group(None, {**env, "GITHUB_RUN_ATTEMPT": "2"}, shard) != group  # a re-run starts afresh
    assert run_group(None, env, EvalSession.for_tier(loaded, "smoke", (1, 2))) != group  # another plan
    assert run_group(None, env, EvalSession.for_tier(loaded, "full")) is None  # not a shard
    assert run_group("mine", {}, shard) is not None and run_group(None, {}, shard) is None
