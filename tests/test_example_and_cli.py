"""The shipped examples, run end to end, and the evalgate command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import REPO, add_suite, write_project
from gitrepo import GitRepo

import evalgate
from evalgate.cli import build_parser, main

EXAMPLE = REPO / "examples" / "gsm8k"


def recorded_accuracy(variant: str) -> float:
    rows = [json.loads(line) for line in (EXAMPLE / "data" / "gsm8k.jsonl").read_text().splitlines()]
    return sum(row[variant]["is_correct"] for row in rows) / len(rows)


def test_assistant_example_plans_from_what_its_suites_use(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk-through in examples/assistant/README.md, in a repository of its own."""
    monkeypatch.setenv("CI", "true")
    for name in ("GITHUB_EVENT_PATH", "GITHUB_EVENT_NAME", "EVALGATE_TIER"):
        monkeypatch.delenv(name, raising=False)
    shutil.copytree(REPO / "examples" / "assistant", pytester.path, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".evalgate", "__pycache__"))
    repo = GitRepo(pytester.path)
    repo.write(".gitignore", ".evalgate/\n__pycache__/\n")
    repo.commit("initial")
    first = pytester.runpytest("--eval-tier=full")
    first.stdout.fnmatch_lines(["rag*PASS*91.7%*", "safety*PASS*100.0%*", "tools*PASS*100.0%*", "all 3 gate(s) passed"])
    capsys.readouterr()
    assert main(["deps", "safety", "--project", str(pytester.path), "--format", "json"]) == 0
    recorded = json.loads(capsys.readouterr().out)["safety"]
    assert set(recorded["files"]) == {"prompts/safety/blocked.txt", "prompts/safety/refusal.txt"}
    assert set(recorded["code"]) == {"app/__init__.py", "app/safety/__init__.py", "app/safety/guard.py", "app/text.py"}
    repo.git("checkout", "-q", "-b", "tune")
    repo.write("app/rag/retrieval.py", (pytester.path / "app/rag/retrieval.py").read_text() + "# prefer longer passages on ties\n")
    repo.write("app/web/ui.py", (pytester.path / "app/web/ui.py").read_text() + "THEME['accent'] = '#223377'\n")
    repo.commit("tune")
    assert main(["plan", str(pytester.path), "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["change"] == "targeted" and plan["suites"] == {"rag": "full", "safety": "smoke", "tools": "smoke"}
    assert {entry["path"]: (entry["class"], entry["suites"], entry["by"]) for entry in plan["files"]} == {
        "app/rag/retrieval.py": ("targeted", ["rag"], "the recorded dependencies"),
        "app/web/ui.py": ("minor", [], "the recorded dependencies: no suite uses app/web/ui.py"),
    }
    auto = pytester.runpytest("--eval-tier=auto")
    auto.stdout.fnmatch_lines([
        "*app/rag/retrieval.py (M) +1 -0: targeted (rag) by the recorded dependencies",
        "all 3 gate(s) passed",
        "evalgate cache: * hit(s), 23 model call(s)*",  # rag at full settles after 23 cases; a deep dive (5 variants each) took 138
        "evalgate cache: 23 cached result(s) not reused: app/rag/retrieval.py: its module-level code changed (a recorded dependency of suite rag)",
    ])


def test_gsm8k_example_gates_follow_the_recorded_outputs(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    command = [sys.executable, "-m", "evalgate", "run", str(EXAMPLE), "--tier", "full", "--report", str(reports)]
    env = {**os.environ, "EVALGATE_CACHE": str(tmp_path / "cache.sqlite")}
    run = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env)
    assert run.returncode == 1, run.stdout + run.stderr
    document = json.loads((reports / "results.json").read_text())
    suites = {suite["suite"]: suite for suite in document["suites"]}
    strong, weak = suites["gsm8k-175b-verification"], suites["gsm8k-6b-finetuning"]
    # The full tier stops each suite as soon as its verdict is settled, and says what that saved.
    assert (strong["verdict"], weak["verdict"]) == ("PASS", "FAIL")
    assert strong["decided_at"] < 300 and weak["decided_at"] < 300
    assert strong["calls_saved"]["early_stop"] == 300 - strong["cases_run"] > 0
    assert "settled after" in strong["reason"] and "by an anytime-valid test at α = 0.05" in strong["reason"]
    calls = strong["cases_run"] + weak["cases_run"]
    assert f"evalgate cache: 0 hit(s), {calls} model call(s)" in run.stdout
    again = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env)
    assert again.returncode == 1 and f"evalgate cache: {calls} hit(s), 0 model call(s)" in again.stdout
    # Without early stopping every case runs, and the numeric scorer agrees with OpenAI's own
    # is_correct labels on every row.
    full = subprocess.run(
        [sys.executable, "-m", "evalgate", "run", str(EXAMPLE), "--tier", "all-cases", "--report", str(reports)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env,
    )
    assert full.returncode == 1, full.stdout + full.stderr
    document = json.loads((reports / "results.json").read_text())
    suites = {suite["suite"]: suite for suite in document["suites"]}
    assert suites["gsm8k-175b-verification"]["pass_rate"] == pytest.approx(recorded_accuracy("175b_verification"))
    assert suites["gsm8k-6b-finetuning"]["pass_rate"] == pytest.approx(recorded_accuracy("6b_finetuning"))
    assert suites["gsm8k-175b-verification"]["cases_run"] == 300
    gates = {case.get("name"): case for case in ET.parse(reports / "junit.xml").getroot().iter("testcase")}
    assert gates["gsm8k-175b-verification"].find("failure") is None
    assert gates["gsm8k-6b-finetuning"].find("failure") is not None
    assert "❌ FAIL" in (reports / "summary.md").read_text()


def test_check_lists_suites_and_tiers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "gsm8k-175b-verification: 300 cases, model recorded, scorer numeric, gate ≥ 45.0%" in out
    assert "smoke: 2 suite(s), 120 case(s) × 1" in out


def test_check_reports_config_errors_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path)
    add_suite(project, "qa", model="toyy")
    assert main(["check", str(project)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "model 'toyy' is not defined; add [tool.evalgate.models.toyy]" in err and "(known: toy)" in err


def test_run_passes_pytest_arguments_through(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path, cases=5, correct=5)
    assert main(["run", str(project), "--tier", "full", "--", "-k", "case-001", "-q"]) == 0
    assert "1 passed, 4 deselected" in capsys.readouterr().out


def test_every_command_has_help_with_an_example() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(commands) == {"run", "check", "plan", "cache", "report", "init", "deps", "judge-check"}
    for name, command in commands.items():
        assert command.description, name
        assert "example: evalgate " + name in (command.epilog or ""), name


def test_public_api_is_exactly_all() -> None:
    for name in evalgate.__all__:  # every exported name resolves (they are imported lazily)
        assert getattr(evalgate, name) is not None, name
    public = {name for name in vars(evalgate) if not name.startswith("_")} - {"annotations"}
    modules = {name for name in public if type(getattr(evalgate, name)).__name__ == "module"}
    assert sorted(evalgate.__all__) == evalgate.__all__
    assert public - modules == set(evalgate.__all__) - {"__version__"}


def test_init_writes_a_project_that_runs(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    (pytester.path / ".gitignore").write_text("venv/")  # the user's, without a final newline
    assert main(["init", str(pytester.path)]) == 0
    assert "wrote evalgate.toml" in capsys.readouterr().out
    assert (pytester.path / ".gitignore").read_text().splitlines() == ["venv/", "# evalgate: the result store and reports", ".evalgate/", "reports/"]
    assert {p.name for p in (pytester.path / "tiers").glob("*.toml")} == {"smoke.toml", "full.toml", "deep-dive.toml", "complete.toml"}
    result = pytester.runpytest("--eval-tier=smoke")
    result.stdout.fnmatch_lines(["example*PASS*100.0%*", "all 1 gate(s) passed"])
    assert result.ret == 0
    assert main(["init", str(pytester.path)]) == 2
    assert "already has an evalgate config" in capsys.readouterr().err
