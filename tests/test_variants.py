"""Robustness variants: seeded perturbations run as items and cached calls, the suite's
consistency measured and gated (``min_consistency``) with the pass rate's guarantees."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import add_suite, make_case, write_project
from gitrepo import GitRepo

from evalgate.errors import ConfigError
from evalgate.variants import BUILTIN, load_variants

# Case i asks "question <i>": the only word a typo can touch is "question".
ROWS = [{"id": f"case-{i:03d}", "input": f"question {i}", "expected": f"a{i}"} for i in range(40)]

MODELS_PY = '''
import re

def robust(text, **_):
    """Reads the number, whatever surrounds it."""
    return "a" + re.search(r"\\d+", text).group()

def fragile(text, **_):
    """Right only while the word 'question' is spelled right (any case, any spacing)."""
    if "question" not in text.lower():
        return "I do not understand"
    return "a" + re.search(r"\\d+", text).group()

def flaky_typo(text, rng):
    """A custom perturbation: one more word in front."""
    return "Kindly: " + text
'''


def variant_project(root: Path, function: str, variants: list[str], gate: dict[str, Any] | None = None, **tier: Any) -> None:
    write_project(
        root, rows=ROWS, min_pass_rate=0.9, gate={"min_consistency": 0.9, **(gate or {})},
        model={"kind": "python", "function": f"toy_model:{function}"}, model_code=MODELS_PY,
        tiers={"robust": {"variants": variants, "early_stop": False, **tier}},
    )


def suite_report(root: Path) -> dict[str, Any]:
    suite: dict[str, Any] = json.loads((root / "out" / "results.json").read_text())["suites"][0]
    return suite


# --- the perturbations ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_built_in_perturbation_changes_the_text_reproducibly_and_keeps_its_numbers(name: str) -> None:
    text = "Natalia sold clips to 48 of her friends in April, and then she sold half as many in May."
    perturb = BUILTIN[name]
    first, again = perturb(text, random.Random("0:q1:" + name)), perturb(text, random.Random("0:q1:" + name))
    assert first == again and first != text
    assert re.findall(r"\d+", first) == ["48"]  # digits are never touched


def test_a_variant_perturbs_the_last_user_message_of_a_chat() -> None:
    chat = make_case("c1", messages=(("system", "Be brief."), ("user", "What is the capital of France?"), ("assistant", "ok")))
    (typo,) = load_variants(["typo"], Path.cwd(), "tier 't'")
    varied = typo.apply(chat, seed=0)
    assert varied.variant == "typo" and varied.id == "c1" and varied.expected == chat.expected
    assert varied.messages is not None and varied.messages[0] == ("system", "Be brief.") and varied.messages[2] == ("assistant", "ok")
    assert varied.messages[1][1] != "What is the capital of France?"
    assert typo.apply(chat, seed=1) != varied or typo.apply(chat, seed=0) == varied  # seeded: the same seed, the same text


def test_an_unknown_variant_names_the_tier_and_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"tier 'deep-dive': unknown variant 'typos'; use one of case, whitespace, typo"):
        load_variants(["typos"], Path.cwd(), "tier 'deep-dive'")


# --- items, cache and the consistency gate ------------------------------------------------


def test_a_model_whose_answers_flip_under_a_typo_fails_its_consistency_gate(pytester: pytest.Pytester) -> None:
    variant_project(pytester.path, "fragile", ["case", "typo"])
    result = pytester.runpytest("--eval-tier=robust", "--eval-report=out", "-v")
    result.stdout.fnmatch_lines(["*case-000 PASSED*", "*case-000[[]case[]] PASSED*", "*case-000[[]typo[]] *"])
    suite = suite_report(pytester.path)
    assert suite["verdict"] == "FAIL" and suite["blocks_merge"] and result.ret == 1
    assert suite["pass_rate"] == 1.0  # every case as written passes: only the variants show the problem
    consistency = suite["consistency"]
    assert consistency["variants"] == ["case", "typo"] and consistency["exact"] and consistency["decision"] == "FAIL"
    assert consistency["consistent"] == 0 and consistency["flips_by_variant"] == {"case": 0, "typo": 40}
    assert suite["reason"].startswith("consistency < 90.0% under variants case, typo (all 40 cases; 0 consistent, 36 needed)")
    assert re.search(r"; flipped: (case-\d{3} \(typo\), ){4}case-\d{3} \(typo\) and 35 more; pass rate 100.0%", suite["reason"])
    assert suite["cases_run"] == 40  # the variants are not cases of their own
    assert "flipped by its variant" in (pytester.path / "out" / "report.html").read_text()


def test_a_robust_model_passes_and_its_variants_are_cached_calls(pytester: pytest.Pytester) -> None:
    variant_project(pytester.path, "robust", ["case", "whitespace", "typo", "distractor", "injection"])
    first = pytester.runpytest("--eval-tier=robust", "--eval-report=out")
    first.stdout.fnmatch_lines(["evalgate cache: 0 hit(s), 240 model call(s)*"])
    suite = suite_report(pytester.path)
    assert suite["verdict"] == "PASS" and first.ret == 0
    assert suite["consistency"]["consistent"] == 40 and suite["consistency"]["decision"] == "PASS"
    again = pytester.runpytest("--eval-tier=robust", "--eval-report=out")
    again.stdout.fnmatch_lines(["evalgate cache: 240 hit(s), 0 model call(s)*"])


def test_a_tier_without_variants_does_not_measure_consistency(pytester: pytest.Pytester) -> None:
    variant_project(pytester.path, "fragile", ["typo"])
    result = pytester.runpytest("--eval-tier=full", "--eval-report=out")
    suite = suite_report(pytester.path)
    assert suite["verdict"] == "PASS" and suite["consistency"] is None and "consistency" not in suite["reason"]
    assert result.ret == 0


def test_the_consistency_gate_stops_early_with_an_anytime_valid_test(pytester: pytest.Pytester) -> None:
    rows = [{"id": f"case-{i:03d}", "input": f"question {i}", "expected": f"a{i}"} for i in range(400)]
    write_project(
        pytester.path, rows=rows, min_pass_rate=0.5, gate={"min_consistency": 0.9},
        model={"kind": "python", "function": "toy_model:fragile"}, model_code=MODELS_PY,
        tiers={"robust": {"variants": ["typo"], "early_stop": True}},
    )
    result = pytester.runpytest("--eval-tier=robust", "--eval-report=out")
    suite = suite_report(pytester.path)
    consistency = suite["consistency"]
    assert suite["verdict"] == "FAIL" and consistency["decision"] == "FAIL" and not consistency["exact"]
    assert consistency["decided_at"] < 100 and suite["cases_run"] < 400  # settled long before the end
    assert "by an anytime-valid test at α = 0.025 (α = 0.05 split over the suite's gates)" in suite["reason"]
    assert consistency["interval"][1] < 0.9 and result.ret == 1


def test_a_custom_perturbation_is_a_module_function(pytester: pytest.Pytester) -> None:
    variant_project(pytester.path, "fragile", ["toy_model:flaky_typo"])
    result = pytester.runpytest("--eval-tier=robust", "--eval-report=out", "-v")
    result.stdout.fnmatch_lines(["*case-001[[]flaky_typo[]] PASSED*"])
    suite = suite_report(pytester.path)
    assert suite["verdict"] == "PASS" and suite["consistency"]["variants"] == ["flaky_typo"]


def test_merged_shards_decide_consistency_as_one_run_does(pytester: pytest.Pytester) -> None:
    variant_project(pytester.path, "fragile", ["typo"], gate={"min_consistency": 0.5})
    pytester.runpytest("--eval-tier=robust", "--eval-report=out")
    whole = suite_report(pytester.path)
    for shard in ("1/2", "2/2"):
        pytester.runpytest("--eval-tier=robust", f"--eval-shard={shard}", f"--eval-report=shard{shard[0]}")
    from evalgate.run.merge import merge_reports

    verdicts, results, _, _ = merge_reports([pytester.path / "shard1", pytester.path / "shard2"])
    (merged,) = verdicts
    assert merged.verdict.value == whole["verdict"] == "FAIL" and len(results) == 80
    assert merged.consistency is not None and merged.consistency.consistent == whole["consistency"]["consistent"] == 0


def test_a_targeted_safety_change_runs_the_deep_dive_suite_with_its_variants(pytester: pytest.Pytester) -> None:
    repo = GitRepo(pytester.path)
    write_project(
        pytester.path, rows=ROWS[:10], min_pass_rate=0.5, model={"kind": "python", "function": "toy_model:robust"},
        model_code=MODELS_PY, project_options={"rules": [{"paths": ["prompts/safety/**"], "change": "targeted", "concern": "safety"}]},
        tiers={"deep-dive": {"repeats": 3, "early_stop": False, "alpha": 0.01, "variants": ["typo", "injection"]}},
    )
    add_suite(pytester.path, "adversarial", rows=ROWS[:12], min_pass_rate=0.5, concerns=("safety",),
              suite_options={"tiers": ["deep-dive"]}, gate={"min_consistency": 0.9})
    repo.write("prompts/safety/system.txt", "Refuse harmful requests.\n")
    repo.write(".gitignore", ".evalgate/\nout/\n__pycache__/\n")
    repo.commit("main")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/safety/system.txt", "Refuse harmful requests, kindly.\n")
    repo.commit("safer")
    result = pytester.runpytest("--eval-tier=auto", "--eval-base=main", "--eval-report=out", "-v")
    result.stdout.fnmatch_lines([
        "*the deep dive adds adversarial (concern safety): 36 case runs with variants typo, injection, gate at α = 0.01",
        "*adversarial.toml::case-011[[]injection[]] PASSED*",
    ])
    suites = {s["suite"]: s for s in json.loads((pytester.path / "out" / "results.json").read_text())["suites"]}
    adversarial = suites["adversarial"]
    assert adversarial["verdict"] == "PASS" and adversarial["consistency"]["consistent"] == 12
    assert suites["qa"]["consistency"] is None  # smoke for the rest: no variants
    full = pytester.runpytest("--eval-tier=full", "--eval-report=out")
    skipped = {s["suite"]: s for s in json.loads((pytester.path / "out" / "results.json").read_text())["suites"]}["adversarial"]
    assert skipped["verdict"] == "SKIPPED" and skipped["reason"] == "runs only in the deep-dive tier (this run: full)"
    assert full.ret == 0


def test_a_tier_file_with_an_unknown_variant_names_the_file_the_key_and_the_fix(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=3, tiers={"deep": {"variants": ["typos"]}})
    result = pytester.runpytest("--eval-tier=deep")
    result.stderr.fnmatch_lines(["*tiers/deep.toml:1: key 'variants': unknown variant 'typos'; use one of case, whitespace, typo*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
