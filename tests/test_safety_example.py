"""examples/safety, recorded: SmolLM2's answers and judgements replayed, so it runs anywhere.

The live variant (``live.toml``, the real model as assistant and judge) is tested in
test_local_llm.py; here the recording shows the gates' behaviour: a judge people disagree with
cannot gate, a safety-prompt edit brings the deep dive of the safety suites only (with the
jailbreak suite and the robustness variants), and the judge's calls are counted and kept.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import REPO
from gitrepo import GitRepo

SAFETY = REPO / "examples" / "safety"


def run(where: Path, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("EVALGATE_", "GITHUB_"))}
    env["EVALGATE_CACHE"] = str(tmp_path / "cache.sqlite")
    report = tmp_path / "reports"
    done = subprocess.run([sys.executable, "-m", "pytest", f"--eval-report={report}", "-p", "no:randomly", *args],
                          cwd=where, env=env, capture_output=True, text=True, timeout=600)
    return done, json.loads((report / "results.json").read_text())


def suites(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {suite["suite"]: suite for suite in document["suites"]}


def test_the_recorded_example_runs_its_suites_and_distrusts_its_weak_judge(tmp_path: Path) -> None:
    done, document = run(SAFETY, tmp_path, "--eval-tier=full")
    found = suites(document)
    assert found["jailbreaks"]["verdict"] == "SKIPPED" and "runs only in the deep-dive / record tiers" in found["jailbreaks"]["reason"]
    refusals = found["refusals"]
    # A 135M judge agrees with people no better than chance: its verdicts cannot gate.
    assert refusals["verdict"] == "ERROR" and "the judge agrees with people on 24 labelled output(s)" in refusals["reason"]
    judged = [case for case in document["cases"] if case["suite"] == "refusals"]
    assert judged and all(case["explanation"].startswith("judge: ") for case in judged)  # each case judged, none errored
    assert found["general"]["verdict"] in ("PASS", "FAIL") and done.returncode == 1
    again, _ = run(SAFETY, tmp_path, "--eval-tier=full")
    assert ", 0 model call(s)" in again.stdout  # answers and judgements both kept
    stats = subprocess.run([sys.executable, "-m", "evalgate", "cache", "--project", str(SAFETY), "stats"], capture_output=True,
                           text=True, env={**os.environ, "EVALGATE_CACHE": str(tmp_path / "cache.sqlite")}, timeout=60)
    kept = int(stats.stdout.split("judge verdicts: ")[1].split()[0])
    assert kept == len(judged) + 24  # each judged case, and each labelled output the judge was checked on


def test_a_safety_prompt_edit_brings_the_deep_dive_of_the_safety_suites_only(tmp_path: Path) -> None:
    copy = tmp_path / "safety"
    shutil.copytree(SAFETY, copy, ignore=shutil.ignore_patterns(".evalgate", "__pycache__", ".server.log"))
    repo = GitRepo(copy)
    repo.write(".gitignore", ".evalgate/\n__pycache__/\n")
    repo.commit("main")
    repo.git("checkout", "-q", "-b", "kinder")
    prompt = copy / "prompts" / "safety" / "system.txt"
    prompt.write_text(prompt.read_text().replace("one short, polite sentence", "one short, kind sentence"))
    repo.commit("kinder refusals")
    done, document = run(copy, tmp_path, "--eval-tier=auto", "--eval-base=main", "-v")
    assert "change=targeted tier=deep-dive" in done.stdout
    assert "the deep dive adds jailbreaks (concern safety): 72 case runs with variants case, whitespace, typo, distractor, injection" in done.stdout
    found = suites(document)
    assert found["general"]["verdict"] != "SKIPPED" and found["general"]["consistency"] is None  # smoke: no variants
    for name in ("refusals", "jailbreaks"):
        assert found[name]["consistency"] is not None and found[name]["consistency"]["variants"] == [
            "case", "whitespace", "typo", "distractor", "injection"]
    assert "jailbreaks.toml::jail-01[injection]" in done.stdout


def test_the_readme_quotes_what_judge_check_prints(tmp_path: Path) -> None:
    """examples/safety/README.md quotes ``evalgate judge-check``'s output: it must be the output."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("EVALGATE_", "GITHUB_"))}
    env["EVALGATE_CACHE"] = str(tmp_path / "cache.sqlite")
    done = subprocess.run([sys.executable, "-m", "evalgate", "judge-check", "refusals", "--labels", "data/judge_labels.jsonl"],
                          cwd=SAFETY, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1  # this judge cannot gate
    readme = (SAFETY / "README.md").read_text()
    quoted = readme.split("```text\n", 1)[1].split("```", 1)[0]
    assert [line.strip() for line in quoted.splitlines() if line.strip()] == [line.strip() for line in done.stdout.splitlines()]
