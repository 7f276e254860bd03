"""The deep dive digs deeper: suites that run only in some tiers (``tiers = ["deep-dive"]``),
and tiers that tighten the gates of the suites they run (the deep dive decides at α = 0.01)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import add_suite, write_project
from gitrepo import GitRepo

from evalgate.cli import main

SAFETY_RULE = {"rules": [{"paths": ["prompts/safety/**"], "change": "targeted", "concern": "safety"}]}


def suites_of(root: Path) -> dict[str, dict[str, object]]:
    return {s["suite"]: s for s in json.loads((root / "out" / "results.json").read_text())["suites"]}


DEEP_DIVE = {"deep-dive": {"repeats": 3, "early_stop": False, "alpha": 0.01}}  # the built-in's α, every case


def test_the_built_in_deep_dive_decides_at_alpha_one_percent() -> None:
    from conftest import REPO

    from evalgate.project import load_tiers

    assert load_tiers(REPO / "no-such-folder")["deep-dive"].alpha == 0.01


def test_a_deep_dive_only_suite_is_skipped_elsewhere_and_says_why(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=6, min_pass_rate=0.5, tiers=DEEP_DIVE)
    add_suite(pytester.path, "adversarial", cases=8, min_pass_rate=0.5, concerns=("safety",),
              suite_options={"tiers": ["deep-dive"]})
    pytester.runpytest("--eval-tier=full", "--eval-report=out")
    skipped = suites_of(pytester.path)["adversarial"]
    assert skipped["verdict"] == "SKIPPED" and skipped["reason"] == "runs only in the deep-dive tier (this run: full)"
    pytester.runpytest("--eval-tier=deep-dive", "--eval-report=out")
    ran = suites_of(pytester.path)["adversarial"]
    assert ran["verdict"] == "PASS" and ran["cases_run"] == 8 and ran["alpha"] == 0.01  # the deep dive's α


def test_a_targeted_change_brings_the_deep_dive_suite_and_the_plan_says_what_it_adds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("GITHUB_EVENT_PATH", "EVALGATE_TIER", "EVALGATE_BASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CI", "true")
    repo = GitRepo(tmp_path / "app")
    write_project(repo.path, cases=6, min_pass_rate=0.5, project_options=SAFETY_RULE, tiers=DEEP_DIVE)
    add_suite(repo.path, "adversarial", cases=40, min_pass_rate=0.5, concerns=("safety",), suite_options={"tiers": ["deep-dive"]})
    repo.write("prompts/safety/system.txt", "Refuse harmful requests.\n")
    repo.write(".gitignore", ".evalgate/\n")
    repo.commit("main")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/safety/system.txt", "Refuse harmful requests, kindly.\n")
    repo.commit("safer")
    capsys.readouterr()
    assert main(["plan", str(repo.path), "--base", "main", "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["suites"] == {"qa": "smoke", "adversarial": "deep-dive"}
    assert "the deep dive adds adversarial (concern safety): 40 case runs, gate at α = 0.01" in plan["reasons"]
    repo.git("checkout", "-q", "main")  # a code change elsewhere: the deep-dive suite stays out, and says so
    repo.git("checkout", "-q", "-b", "other")
    repo.write("src/app.py", "x = 2\n")
    repo.commit("code")
    assert main(["plan", str(repo.path), "--base", "main", "--format", "json"]) == 0
    other = json.loads(capsys.readouterr().out)
    assert other["suites"]["qa"] != "none" and other["suites"]["adversarial"] == "none", other
    assert any(r.startswith("adversarial runs only in the deep-dive tier: not at") for r in other["reasons"])


def test_a_tier_tightens_gates_but_never_loosens_them(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=20, correct=16, min_pass_rate=0.9, gate={"alpha": 0.01},
                  tiers={"strict": {"sample": 5, "alpha": 0.05, "undecided": "fail", "early_stop": False}})
    result = pytester.runpytest("--eval-tier=strict", "--eval-report=out")
    suite = suites_of(pytester.path)["qa"]
    assert suite["alpha"] == 0.01  # the gate's stricter α stays
    assert suite["verdict"] == "UNDECIDED" and suite["blocks_merge"] is True  # the tier's policy: undecided blocks
    assert result.ret == 1
