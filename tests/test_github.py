"""GitHub Actions: the composite action's steps run locally on real repos and payloads;
annotations, outputs, sharding and report merging."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from action_runner import ACTION, load_action, run_action
from conftest import REPO, add_suite, make_spec, write_project
from fake_github import FakeGitHub
from gitrepo import GitRepo

from evalgate.document import SuiteReport
from evalgate.report import RunReport, write_reports
from evalgate.report.github import LIMIT, escape_data, outcome, workflow_commands
from evalgate.results import CaseResult
from evalgate.run.merge import merge_reports
from evalgate.verdict.gate import Verdict, decide

WORKFLOWS = [ACTION, *sorted((REPO / ".github" / "workflows").glob("*.yml")), *sorted((REPO / "examples" / "github").glob("*.yml"))]

SAFETY_RULE = {"rules": [{"paths": ["prompts/safety/**"], "change": "targeted", "concern": "safety"}]}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_third_party_actions_are_pinned_and_run_scripts_take_no_expressions(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    steps = document["runs"]["steps"] if "runs" in document else [s for job in document["jobs"].values() for s in job["steps"]]
    for step in steps:
        uses = step.get("uses", "")
        if uses and not uses.startswith(("./", "OWNER/")):
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), uses
        assert "${{" not in step.get("run", ""), f"{path.name}: expressions belong in env:, not run: ({step.get('name')})"
    if "jobs" in document:
        assert document.get("permissions") == {}


def test_example_workflow_has_the_triggers_and_history_it_needs() -> None:
    workflow = yaml.safe_load((REPO / "examples" / "github" / "evalgate.yml").read_text())
    triggers = workflow[True]  # YAML reads the key `on` as a boolean
    assert set(triggers) == {"pull_request", "push", "merge_group"} and triggers["push"]["branches"] == ["main"]
    checkout = workflow["jobs"]["evalgate"]["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0
    # No path filters (the check always reports); `labeled` so an eval-tier label acts at once.
    assert triggers["pull_request"] == {"types": ["opened", "synchronize", "reopened", "labeled"]} and not triggers["merge_group"]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    for name in ("GITHUB_EVENT_PATH", "EVALGATE_TIER", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "project"
    write_project(
        root, cases=40, correct=40, min_pass_rate=0.5, early_stop=True,
        project_options=SAFETY_RULE,
    )
    add_suite(root, "safety", cases=30, concerns=("safety",), min_pass_rate=0.5)
    repo = GitRepo(root)
    repo.write("prompts/safety/system.txt", "Refuse harmful requests.\n")
    repo.write(".gitignore", ".evalgate/\nevalgate-reports/\n__pycache__/\n.pytest_cache/\n")
    repo.commit("initial")
    return repo


def event(tmp_path: Path, name: str, payload: dict[str, object]) -> dict[str, str]:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(payload))
    return {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": str(path), "GITHUB_EVENT_NAME": name}


def test_pull_request_targeted_change(repo: GitRepo, tmp_path: Path) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/safety/system.txt", "Refuse harmful requests, kindly.\n")
    head = repo.commit("safer prompt")
    env = event(tmp_path, "pull_request", {"pull_request": {"number": 3, "base": {"sha": base}, "head": {"sha": head}, "labels": []}})
    with FakeGitHub() as github:
        env |= {"GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "9"}
        runs, outputs, summary = run_action(repo.path, {"cache": "false", "github-token": "t0ken-value"}, env)
    assert [run.returncode for run in runs] == [0] * len(runs), "\n".join(run.stdout for run in runs)
    (comment,) = github.comments  # the sticky comment names the change and why
    assert "**Change:** targeted → tier `deep-dive`" in comment["body"] and "prompts/safety/system.txt" in comment["body"]
    assert outputs["tier"] == "deep-dive" and outputs["change"] == "targeted" and outputs["verdict"] == "pass"
    assert int(outputs["calls-saved"]) > 0
    assert "## evalgate: all 2 gate(s) passed" in summary and "| `safety` | ✅ PASS |" in summary
    assert (repo.path / "evalgate-reports" / "junit.xml").exists()


def test_the_action_caches_the_configured_store_file_and_reports_its_outputs(repo: GitRepo, tmp_path: Path) -> None:
    """``cache =`` / ``EVALGATE_CACHE`` are honoured: the cache steps save and restore the file
    the project really uses (``evalgate cache path``), not a hard-coded one."""
    repo.write("src/app.py", "x = 2\n")
    head = repo.commit("app")
    env = event(tmp_path, "push", {"before": repo.git("rev-parse", "HEAD~1"), "after": head})
    env["EVALGATE_CACHE"] = str(tmp_path / "elsewhere" / "results.sqlite")
    runs, outputs, _ = run_action(repo.path, {"comment": "false"}, env)
    located = next(run for run in runs if run.name == "Locate the evalgate cache")
    assert located.outputs["path"] == str(tmp_path / "elsewhere" / "results.sqlite")
    steps = load_action()["runs"]["steps"]
    for name in ("Restore the evalgate cache", "Save the evalgate cache"):
        step = next(step for step in steps if step.get("name") == name)
        assert step["with"]["path"] == "${{ steps.cache-path.outputs.path }}"
    assert outputs["verdict"] == "pass" and outputs["blocking"] == "" and outputs["report-dir"] == "evalgate-reports"


def test_the_actions_spend_cap_reaches_the_run(repo: GitRepo, tmp_path: Path) -> None:
    """``max-cost`` becomes ``--eval-max-cost``: here over a model that reports no usage, which a
    cap cannot count — the run stops before any call and says why."""
    repo.write("src/app.py", "x = 3\n")
    head = repo.commit("app")
    env = event(tmp_path, "push", {"before": repo.git("rev-parse", "HEAD~1"), "after": head})
    runs, outputs, _ = run_action(repo.path, {"comment": "false", "cache": "false", "max-cost": "0.5"}, env)
    gates = next(run for run in runs if run.name == "Run the eval gates")
    assert gates.outputs["exit-code"] == "4" and "reports no token usage" in gates.stdout


def test_push_with_an_all_zero_before_falls_back_and_warns(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("src/app.py", "x = 1\n")
    head = repo.commit()
    env = event(tmp_path, "push", {"before": "0" * 40, "after": head})
    runs, outputs, _ = run_action(repo.path, {"cache": "false"}, env)
    plan = next(run for run in runs if run.name == "Plan the tier from the change")
    assert "::warning title=evalgate plan::unsure, so the full tier: the push event has an all-zero 'before'" in plan.stdout
    assert outputs["tier"] == "full" and outputs["change"] == "major" and outputs["verdict"] == "pass"


def test_merge_group_with_a_failing_gate_reports_and_fails(repo: GitRepo, tmp_path: Path) -> None:
    base = repo.git("rev-parse", "HEAD")
    write_project(repo.path, cases=40, correct=5, min_pass_rate=0.5, early_stop=True, project_options=SAFETY_RULE)
    head = repo.commit("a worse model")
    env = event(tmp_path, "merge_group", {"merge_group": {"base_sha": base, "head_sha": head}})
    runs, outputs, summary = run_action(repo.path, {"cache": "false", "tier": ""}, env)
    assert outputs["change"] == "major" and outputs["verdict"] == "fail"
    report = next(run for run in runs if run.name == "Report to GitHub")
    assert re.search(r"^::error file=evals/qa.toml,line=\d+,title=evalgate gate qa::FAIL: pass rate < 50.0%", report.stdout, re.M), report.stdout
    assert runs[-1].name == "Gate" and runs[-1].returncode == 1
    assert "block the merge" in summary


def test_pytest_args_are_split_by_shell_quoting_rules(repo: GitRepo, tmp_path: Path) -> None:
    """`-k "a or b"` stays one argument (word splitting made it three: "file or directory
    not found: or"); nothing in it is expanded by a shell."""
    repo.write("README.md", "docs\n")
    head = repo.commit()
    env = event(tmp_path, "push", {"before": repo.git("rev-parse", "HEAD~1"), "after": head})
    args = '-k "case-001 or case-002" -p no:cacheprovider -o "console_output_style=classic" $HOME'
    runs, outputs, _ = run_action(repo.path, {"cache": "false", "tier": "full", "pytest-args": args.replace(" $HOME", "")}, env)
    run = next(run for run in runs if run.name == "Run the eval gates")
    assert "file or directory not found" not in run.stdout and outputs["verdict"] == "pass", run.stdout
    document = json.loads((repo.path / "evalgate-reports" / "results.json").read_text())
    ran = {case["case_id"] for case in document["cases"]}
    assert ran and ran <= {"case-001", "case-002"}  # the selection, one argument (it may settle after one case)
    runs, _, _ = run_action(repo.path, {"cache": "false", "tier": "full", "pytest-args": args}, env)
    run = next(run for run in runs if run.name == "Run the eval gates")
    assert "file or directory not found: $HOME" in run.stdout  # taken literally, not expanded


def test_every_matrix_leg_uploads_its_own_artifact() -> None:
    upload = next(step for step in load_action()["runs"]["steps"] if step.get("name") == "Upload the reports")
    assert "steps.report.outputs.artifact-suffix" in upload["with"]["name"] and "inputs.artifact-name" in upload["with"]["name"]


def test_tier_input_overrides_the_plan(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("README.md", "docs only\n")
    head = repo.commit()
    env = event(tmp_path, "push", {"before": repo.git("rev-parse", "HEAD~1"), "after": head})
    _, outputs, _ = run_action(repo.path, {"cache": "false", "tier": "smoke"}, env)
    assert outputs["tier"] == "smoke" and outputs["change"] == "none"


def test_annotations_stay_within_github_limits() -> None:
    fail = decide(make_spec(["c0"], min_pass_rate=0.9), [])
    suites = [replace(SuiteReport.of(fail), suite=f"s{i}", verdict=Verdict.FAIL, reason="bad\nworse", blocks_merge=True) for i in range(25)]
    suites += [replace(SuiteReport.of(fail), suite="u", verdict=Verdict.UNDECIDED, reason="maybe", blocks_merge=False)]
    lines = workflow_commands(suites, ["fallback: no base"])
    errors = [line for line in lines if line.startswith("::error")]
    warnings = [line for line in lines if line.startswith("::warning")]
    assert len(errors) == LIMIT and errors[-1] == "::error title=evalgate::16 more; see the step summary"
    assert errors[0] == "::error title=evalgate gate s0::FAIL: bad%0Aworse"
    assert len(warnings) == 2
    assert escape_data("100% done\r\n") == "100%25 done%0D%0A"
    blocking = ",".join(f"s{i}" for i in range(25))
    assert outcome(suites) == {"verdict": "fail", "blocking": blocking, "calls-saved": "0", "artifact-suffix": ""}
    assert outcome(suites, "2/4") == {"verdict": "partial", "blocking": "", "calls-saved": "0", "artifact-suffix": "-shard-2-of-4"}
    partial = workflow_commands(suites, shard="2/4")
    assert not [line for line in partial if line.startswith("::error")]  # a shard never blocks
    assert "(shard 2/4, partial: the merged report decides)" in partial[0]


def test_summary_stays_under_a_mebibyte_for_ten_thousand_cases(tmp_path: Path) -> None:
    results = [CaseResult(suite="big", case_id=f"c{i:05d}", output="x" * 200, score=0.0, passed=False,
                          explanation="expected 'a', got 'b' " * 5) for i in range(10_000)]
    verdict = decide(make_spec([r.case_id for r in results], name="big", min_pass_rate=0.5), results)
    write_reports(tmp_path, RunReport([verdict], results, "full"))
    size = (tmp_path / "summary.md").stat().st_size
    assert size < 1024 * 1024 and "… and 9980 more" in (tmp_path / "summary.md").read_text()


def test_an_outage_of_250_suites_stays_within_a_mebibyte_failing_first(tmp_path: Path) -> None:
    """Every suite errors (an outage), each with many long errors: the summary is cut short
    of GitHub's limit with a note, blocking suites come first, the heading names a few."""
    from evalgate.results import CaseError

    verdicts, results = [], []
    for index in range(250):
        name = f"suite-{index:03d}"
        suite_results = [
            CaseResult(suite=name, case_id=f"c{i:03d}", output=None, score=None, passed=None,
                       error=CaseError(kind="http", message="HTTP 503 from the endpoint: " + "overloaded " * 40, status=503))
            for i in range(60)
        ]
        verdicts.append(decide(make_spec([r.case_id for r in suite_results], name=name), suite_results))
        results += suite_results
    passing = [CaseResult(suite="fine", case_id=f"c{i}", output="a", score=1.0, passed=True) for i in range(5)]
    verdicts.insert(0, decide(make_spec([r.case_id for r in passing], name="fine", min_pass_rate=0.5), passing))
    write_reports(tmp_path, RunReport(verdicts, [*passing, *results], "full"))
    text = (tmp_path / "summary.md").read_text()
    assert len(text.encode()) < 1024 * 1024 and "**Summary cut at" in text
    heading = text.splitlines()[0]
    assert "250 of 251 gate(s) block the merge" in heading and heading.endswith("and 245 more")
    assert text.index("`suite-000`") < text.index("`fine`")  # blocking suites first
    assert text.count("<details>") == text.count("</details>")


def test_four_merged_shards_equal_one_unsharded_run(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=120, correct=80, min_pass_rate=0.5, early_stop=True)
    add_suite(pytester.path, "exact", cases=12, min_pass_rate=0.5)
    (pytester.path / "tiers" / "full.toml").unlink(missing_ok=True)
    whole = pytester.runpytest("--eval-tier=full", "--eval-no-cache", "--eval-report=whole")
    for shard in range(1, 5):
        part = pytester.runpytest("--eval-tier=full", "--eval-no-cache", f"--eval-shard={shard}/4", f"--eval-report=shard{shard}")
        part.stdout.fnmatch_lines([f"*evalgate shard {shard}/4: partial verdicts, not gated*"])
        assert part.ret == 0
    merged, _, _, _ = merge_reports([pytester.path / f"shard{k}" for k in range(1, 5)])
    single = {s["suite"]: s for s in json.loads((pytester.path / "whole" / "results.json").read_text())["suites"]}
    assert whole.ret in (0, 1)
    for verdict in merged:
        expected = single[verdict.suite]
        # The same verdict. The shards ran every case, so the merged one is exact, and its
        # rate lies inside the interval of the (possibly early-stopped) single run.
        assert str(verdict.verdict) == expected["verdict"] and verdict.exact
        low, high = expected["interval"]
        assert low - 1e-9 <= verdict.interval[0] <= verdict.interval[1] <= high + 1e-9


def test_report_merge_command_writes_reports_and_gates(pytester: pytest.Pytester) -> None:
    from evalgate.cli import main

    write_project(pytester.path, cases=20, correct=4, min_pass_rate=0.5)
    for shard in (1, 2):
        pytester.runpytest("--eval-tier=full", "--eval-no-cache", f"--eval-shard={shard}/2", f"--eval-report=s{shard}")
    status = main(["report", "merge", str(pytester.path / "s1"), str(pytester.path / "s2"), "--out", str(pytester.path / "merged")])
    assert status == 1
    document = json.loads((pytester.path / "merged" / "results.json").read_text())
    assert document["suites"][0]["verdict"] == "FAIL" and len(document["cases"]) == 20
    assert main(["report", "merge", str(pytester.path / "s1"), "--out", str(pytester.path / "half")]) == 1  # INCOMPLETE
    half = json.loads((pytester.path / "half" / "results.json").read_text())
    assert half["suites"][0]["verdict"] in ("INCOMPLETE", "FAIL")


def test_action_declares_its_interface() -> None:
    action = load_action()
    assert {"python-version", "tier", "config", "pytest-args", "cache", "report-dir", "undecided", "comment", "github-token"} <= set(action["inputs"])
    assert set(action["outputs"]) == {"tier", "change", "verdict", "blocking", "report-dir", "calls-saved"}
    assert action["branding"] == {"icon": "check-circle", "color": "green"}


def test_results_json_is_validated_on_read(tmp_path: Path) -> None:
    from evalgate.document import read_document
    from evalgate.errors import ConfigError

    bad = tmp_path / "results.json"
    bad.write_text('{"schema_version": 2, "suites": [{"suite": "x"}], "cases": []}')
    with pytest.raises(ConfigError, match=r"results.json: not an evalgate results.json: 'evalgate_version': Field required \(and \d+ more problem"):
        read_document(tmp_path)
    bad.write_text('{"schema_version": 1, "evalgate_version": "0.0.1"}')
    with pytest.raises(ConfigError, match="schema 1 \\(written by evalgate 0.0.1\\); this evalgate reads schema 2"):
        read_document(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="not an evalgate results.json \\(no schema_version\\)"):
        read_document(bad)


def test_a_results_json_of_the_previous_release_reads_and_writes_back_the_same() -> None:
    """results.json is now the verdict's own types: a file the previous release wrote (the
    slices example: failing slice, undecided gap) reads, and writing it again gives every key
    it had with the same value (plus the fields the old report dropped)."""
    from evalgate.document import ResultsDocument, read_document

    path = REPO / "tests" / "data" / "results-before-one-model.json"
    old = json.loads(path.read_text())
    document = read_document(path)
    suite = document.suites[0]
    assert {s.tag: s.verdict for s in suite.slices} == {s["tag"]: s["verdict"] for s in old["suites"][0]["slices"]}
    assert suite.slices[0].decision == "FAIL" and suite.gap is not None and suite.gap.decision is None
    again = json.loads(document.model_dump_json())

    def same(before: Any, after: Any, where: str) -> None:
        if isinstance(before, dict):
            for key, value in before.items():
                assert key in after, f"{where}.{key} is gone"
                same(value, after[key], f"{where}.{key}")
        elif isinstance(before, list):
            assert len(before) == len(after), where
            for index, (one, other) in enumerate(zip(before, after, strict=True)):
                same(one, other, f"{where}[{index}]")
        else:
            assert before == after, f"{where}: {before!r} became {after!r}"

    same({k: v for k, v in old.items() if k != "evalgate_version"}, again, "results")
    assert ResultsDocument.model_validate_json(document.model_dump_json()) == document


def test_published_schema_matches_the_models() -> None:
    from evalgate.document import json_schema

    published = json.loads((REPO / "docs" / "results.schema.json").read_text())
    assert published == json_schema(), "regenerate it: python -m evalgate.document > docs/results.schema.json"


def test_zizmor_finds_nothing_above_low_but_the_pin_a_user_fills_in() -> None:
    """zizmor (offline audits) on the action and every workflow: the only finding above
    "low" is the placeholder `OWNER/evalgate@SHA` the README tells users to pin."""
    import shutil
    import subprocess

    zizmor = shutil.which("zizmor")
    assert zizmor, "zizmor is a test dependency: pip install -e '.[test]'"
    run = subprocess.run([zizmor, "--offline", "--format", "json", *map(str, WORKFLOWS)], capture_output=True, text=True, cwd=REPO)
    findings = json.loads(run.stdout)
    serious = [f for f in findings if f["determinations"]["severity"] not in ("Unknown", "Informational", "Low")]
    assert all(
        f["ident"] == "unpinned-uses" and "OWNER/evalgate@SHA" in f["locations"][0]["concrete"]["feature"] for f in serious
    ), [(f["ident"], f["locations"][0]["concrete"]["feature"][:80]) for f in serious]
