"""The change's base on CI systems other than GitHub, each on a real git checkout built the
way that CI builds it (detached head, depth 1, only the change's own ref fetched): the plan
must find the right base, class the change right, and say where the base came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import add_suite, write_project
from gitrepo import GitRepo, run_git

from evalgate.cli import main

SAFETY_RULE = {"rules": [{"paths": ["prompts/safety/**"], "change": "targeted", "concern": "safety"}]}
CI_PREFIXES = ("GITHUB_", "GITLAB_", "CI_", "JENKINS_", "CHANGE_", "GIT_PREVIOUS", "BUILDKITE", "EVALGATE_")


@pytest.fixture
def origin(tmp_path: Path) -> GitRepo:
    """main with two suites, and a branch `feature` that edits the safety prompt only."""
    repo = GitRepo(tmp_path / "origin")
    deep_dive = {"deep-dive": {"repeats": 3, "early_stop": False, "alpha": 0.01}}  # the built-in's α
    write_project(repo.path, cases=6, min_pass_rate=0.5, project_options=SAFETY_RULE, tiers=deep_dive)
    add_suite(repo.path, "safety", cases=6, concerns=("safety",), min_pass_rate=0.5)
    repo.write("prompts/safety/system.txt", "Refuse harmful requests.\n")
    repo.write(".gitignore", ".evalgate/\n__pycache__/\n")
    repo.commit("main")
    for n in range(3):  # some history, so depth 1 really lacks the base
        repo.write("README.md", f"docs {n}\n")
        repo.commit(f"docs {n}")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/safety/system.txt", "Refuse harmful requests, kindly.\n")
    repo.commit("safer prompt")
    repo.git("checkout", "-q", "main")
    return repo


def ci_checkout(origin: GitRepo, ref: str, where: Path) -> Path:
    """A CI-style clone: only ``ref``, depth 1, detached."""
    where.mkdir()
    run_git(where, "init", "-q")
    run_git(where, "remote", "add", "origin", f"file://{origin.path}")
    run_git(where, "fetch", "-q", "--depth", "1", "origin", ref)
    run_git(where, "checkout", "-q", "--detach", "FETCH_HEAD")
    return where


def plan(checkout: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    import os

    for name in list(os.environ):
        if name.startswith(CI_PREFIXES) or name == "CI":
            monkeypatch.delenv(name)
    for name, value in {"CI": "true", **env}.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert main(["plan", str(checkout), "--format", "json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


TARGETED = ("targeted", {"qa": "smoke", "safety": "deep-dive"}, True)
"""What every CI's checkout of `feature` must plan: the safety edit targets the safety suite,
and the plan names where its base came from."""


def outcome(result: dict[str, object], source: str) -> tuple[object, object, bool]:
    """``(change, suites, whether the base source is named)`` of a plan, to compare with TARGETED."""
    reasons = [str(reason) for reason in result["reasons"]]  # type: ignore[attr-defined]
    named = source in str(result["base_source"]) and any(r.startswith("base: ") and source in r for r in reasons)
    return result["change"], result["suites"], named


def test_gitlab_merge_request_diff_base(origin: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    checkout = ci_checkout(origin, "feature", tmp_path / "mr")
    main_sha = origin.git("rev-parse", "main")
    env = {"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "7", "CI_MERGE_REQUEST_DIFF_BASE_SHA": main_sha,
           "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}
    result = plan(checkout, env, monkeypatch, capsys)
    assert outcome(result, f"GitLab MR diff base {main_sha[:12]}") == TARGETED
    assert result["base"] == main_sha


def test_gitlab_merge_request_target_branch_is_fetched_when_missing(
    origin: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = ci_checkout(origin, "feature", tmp_path / "mr")
    env = {"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "7", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
           "CI_MERGE_REQUEST_LABELS": "bug,eval-tier:full"}
    result = plan(checkout, env, monkeypatch, capsys)
    assert result["base"] == origin.git("rev-parse", "main") and result["change"] == "targeted"
    assert "GitLab MR target branch main" in str(result["base_source"])
    # A label cannot lower the tier the change needs (deep-dive for safety), and says so.
    assert result["tier"] == "deep-dive" and "merge request label 'eval-tier:full'" in str(result["override_note"])


@pytest.mark.parametrize(("kind", "named"), [("merged_result", "GitLab merged-results pipeline"), ("merge_train", "GitLab merge train")])
def test_gitlab_merged_results_and_merge_train_pipelines(
    origin: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], kind: str, named: str
) -> None:
    origin.git("checkout", "-q", "-b", "merge-result", "main")  # GitLab's merge of the MR into its target
    origin.git("merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    origin.git("checkout", "-q", "main")
    checkout = ci_checkout(origin, "merge-result", tmp_path / "merged")
    env = {"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "7", "CI_MERGE_REQUEST_EVENT_TYPE": kind,
           "CI_MERGE_REQUEST_TARGET_BRANCH_SHA": origin.git("rev-parse", "main")}
    assert outcome(plan(checkout, env, monkeypatch, capsys), f"{named} target") == TARGETED


def test_gitlab_branch_pipeline_and_its_all_zero_before(
    origin: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = ci_checkout(origin, "feature", tmp_path / "push")
    main_sha = origin.git("rev-parse", "main")
    assert outcome(plan(checkout, {"GITLAB_CI": "true", "CI_COMMIT_BEFORE_SHA": main_sha}, monkeypatch, capsys), "GitLab push before") == TARGETED
    unsure = plan(checkout, {"GITLAB_CI": "true", "CI_COMMIT_BEFORE_SHA": "0" * 40}, monkeypatch, capsys)
    assert unsure["change"] == "major" and unsure["fallback"] is True
    assert "all-zero 'before'" in " ".join(map(str, unsure["reasons"])) # type: ignore[call-overload]


def test_jenkins_change_request_and_last_successful_build(
    origin: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = ci_checkout(origin, "feature", tmp_path / "jenkins")
    env = {"JENKINS_URL": "http://jenkins.invalid/", "CHANGE_TARGET": "main"}
    assert outcome(plan(checkout, env, monkeypatch, capsys), "Jenkins change target main") == TARGETED
    env = {"JENKINS_URL": "http://jenkins.invalid/", "GIT_PREVIOUS_SUCCESSFUL_COMMIT": origin.git("rev-parse", "main")}
    assert outcome(plan(checkout, env, monkeypatch, capsys), "Jenkins last successful build") == TARGETED


def test_buildkite_pull_request_and_a_generic_base(
    origin: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = ci_checkout(origin, "feature", tmp_path / "buildkite")
    env = {"BUILDKITE": "true", "BUILDKITE_PULL_REQUEST": "12", "BUILDKITE_PULL_REQUEST_BASE_BRANCH": "main"}
    assert outcome(plan(checkout, env, monkeypatch, capsys), "Buildkite pull request base main") == TARGETED
    main_sha = origin.git("rev-parse", "main")
    generic = plan(checkout, {"EVALGATE_BASE": main_sha, "JENKINS_URL": "x", "CHANGE_TARGET": "nope"}, monkeypatch, capsys)
    assert outcome(generic, f"EVALGATE_BASE {main_sha}") == TARGETED  # the generic variable wins over the CI's


def test_gitlab_format_writes_a_dotenv_report(origin: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    checkout = ci_checkout(origin, "feature", tmp_path / "mr")
    plan(checkout, {"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "7", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"},
         monkeypatch, capsys)
    assert main(["plan", str(checkout), "--format", "gitlab"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "EVALGATE_PLANNED_TIER=deep-dive\nEVALGATE_PLANNED_CHANGE=targeted\n" and "GitLab MR target branch" in captured.err
    # Later jobs get these as variables: none of them may be one evalgate reads (EVALGATE_TIER would
    # hijack every later pytest run).
    from conftest import REPO

    source = "".join(path.read_text() for path in (REPO / "evalgate").rglob("*.py") if path.name != "output.py")
    for line in captured.out.splitlines():
        name = line.split("=", 1)[0]
        assert f'"{name}"' not in source, f"{name} is read by evalgate: a dotenv report must not set it"
    assert '"EVALGATE_TIER"' in source  # what the check looks for: evalgate's own override, read by name


def test_the_gitlab_and_jenkins_examples_gate_and_report_where_those_tools_look() -> None:
    import yaml
    from conftest import REPO

    config = yaml.safe_load((REPO / "examples" / "gitlab" / ".gitlab-ci.yml").read_text())
    job = config["evalgate"]
    assert {"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'} in config["workflow"]["rules"]
    assert "pytest --eval-tier=auto --eval-report=evalgate-reports" in job["script"]
    assert "evalgate plan . --format gitlab > plan.env" in job["script"]
    assert job["artifacts"]["reports"] == {"junit": "evalgate-reports/junit.xml", "dotenv": "plan.env"}
    assert job["artifacts"]["when"] == "always" and ".evalgate/cache.sqlite" in job["cache"]["paths"]
    jenkinsfile = (REPO / "examples" / "jenkins" / "Jenkinsfile").read_text()
    assert "--eval-tier=auto --eval-report=evalgate-reports" in jenkinsfile
    assert "junit allowEmptyResults: true, testResults: 'evalgate-reports/junit.xml'" in jenkinsfile
