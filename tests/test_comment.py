"""The sticky pull-request comment against a loopback GitHub API: created once, updated in
place on the next push, a fork's 403 noted and never failing the job, the token nowhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_project
from fake_github import FakeGitHub

from evalgate.cli import main
from evalgate.report.comment import MARKER

TOKEN = "ghs_fakeTokenValue1234567890"


def pull_request_env(tmp_path: Path, api: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    summary = tmp_path / "summary.md"
    for name, value in {
        "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event), "GITHUB_REPOSITORY": "acme/app",
        "GITHUB_API_URL": api, "GITHUB_TOKEN": TOKEN, "GITHUB_RUN_ID": "42", "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_STEP_SUMMARY": str(summary),
    }.items():
        monkeypatch.setenv(name, value)
    return summary


def test_one_comment_created_then_updated_in_place(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(pytester.path, cases=10, correct=9, min_pass_rate=0.8)
    assert pytester.runpytest("--eval-tier=full", "--eval-no-cache", "--eval-report=base").ret == 0
    write_project(pytester.path, cases=10, correct=6, min_pass_rate=0.5,
                  gate={"baseline": "base/results.json", "max_regression": 0.1, "regression_population": "suite"})
    pytester.runpytest("--eval-tier=full", "--eval-no-cache", "--eval-report=out")
    with FakeGitHub() as github:
        github.comments += [{"id": 1, "body": "LGTM"}, {"id": 2, "body": "nit"}, {"id": 3, "body": "another"}]
        pull_request_env(tmp_path, github.url, monkeypatch)
        assert main(["report", "comment", str(pytester.path / "out")]) == 0
        assert main(["report", "comment", str(pytester.path / "out")]) == 0  # the next push
        ours = [c for c in github.comments if MARKER in c["body"]]
        assert len(ours) == 1 and len(github.comments) == 4  # created once, then updated
        assert [call[0] for call in github.calls].count("PATCH") == 1
        assert all(call[2]["Authorization"] == f"Bearer {TOKEN}" for call in github.calls)
    body = ours[0]["body"]
    assert "block the merge" in body and "| `qa` | ❌ FAIL |" in body and "| not reported |" in body  # a python model reports no usage
    flipped = next(line for line in body.splitlines() if line.startswith("- `qa` now failing: "))
    cases, _, against = flipped.removeprefix("- `qa` now failing: ").partition(" (vs ")
    assert sorted(cases.split(", ")) == ["`case-006`", "`case-007`", "`case-008`"] and "base/results.json" in against
    assert "[The run, its reports artifact and every case](https://github.example/acme/app/actions/runs/42)" in body
    assert TOKEN not in capsys.readouterr().out


def test_a_forks_read_only_token_is_noted_and_the_job_goes_on(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(pytester.path, cases=4, min_pass_rate=0.5)
    pytester.runpytest("--eval-tier=full", "--eval-no-cache", "--eval-report=out")
    with FakeGitHub() as github:
        github.refuse = True
        summary = pull_request_env(tmp_path, github.url, monkeypatch)
        assert main(["report", "comment", str(pytester.path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "no pull request comment: GitHub answered 403" in printed
    assert "Resource not accessible by integration" in summary.read_text()  # GitHub's own words, no guess
    assert TOKEN not in printed + summary.read_text()


def test_someone_elses_comment_with_the_marker_is_never_edited(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(pytester.path, cases=4, min_pass_rate=0.5)
    pytester.runpytest("--eval-tier=full", "--eval-no-cache", "--eval-report=out")
    with FakeGitHub() as github:
        github.comments.append({"id": 5, "body": f"{MARKER} copied by hand", "user": {"login": "mallory"}})
        pull_request_env(tmp_path, github.url, monkeypatch)
        assert main(["report", "comment", str(pytester.path / "out")]) == 0
        assert github.comments[0]["body"] == f"{MARKER} copied by hand"  # untouched
        assert [call[0] for call in github.calls if call[1] != "/graphql"] == ["GET", "POST"]
        assert main(["report", "comment", str(pytester.path / "out")]) == 0  # the next push edits its own
        assert [call[0] for call in github.calls if call[1] != "/graphql"][-1] == "PATCH"
        github.viewer = None  # GitHub will not say who the token is: write anew, edit nothing
        assert main(["report", "comment", str(pytester.path / "out")]) == 0
        assert [call[0] for call in github.calls if call[1] != "/graphql"][-1] == "POST"
        assert github.comments[0]["body"] == f"{MARKER} copied by hand"


def test_off_pull_requests_the_comment_is_printed_not_posted(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(pytester.path, cases=4, min_pass_rate=0.5)
    pytester.runpytest("--eval-tier=full", "--eval-no-cache", "--eval-report=out")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    capsys.readouterr()
    assert main(["report", "comment", str(pytester.path / "out")]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(MARKER) and "not a pull_request event" in captured.err
