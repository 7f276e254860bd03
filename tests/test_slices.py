"""Slice gates: every tag gets its own verdict with the suite gate's guarantees, the FAIL side's
α is shared by every gate, and a gap gate bounds the spread between the best and worst slice."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from conftest import write_project

from evalgate.config import SlicesConfig
from evalgate.verdict.slices import SliceTracker, plan_slices

# 40 German, 40 French, 40 English and 6 Latin cases; the model fails every other French one.
ROWS = [{"id": f"{lang}-{i:02d}", "input": f"q{n}", "expected": f"a{n}", "tags": [lang]}
        for n, (lang, i) in enumerate([(lang, i) for lang, size in (("de", 40), ("fr", 40), ("en", 40), ("la", 6)) for i in range(size)])]
WEAK_ON_FRENCH = """
def answer(prompt, **_):
    n = int(prompt[1:])
    return "wrong" if 40 <= n < 80 and n % 2 else f"a{n}"
"""


def project(pytester: pytest.Pytester, slices: dict[str, Any], early_stop: bool = False, **gate: Any) -> None:
    write_project(pytester.path, rows=ROWS, min_pass_rate=0.8, early_stop=early_stop,
                  model={"kind": "python", "function": "toy_model:answer"}, model_code=WEAK_ON_FRENCH,
                  gate={"slices": slices, **gate})


def report(pytester: pytest.Pytester, folder: str = "out") -> dict[str, Any]:
    suite: dict[str, Any] = json.loads((pytester.path / folder / "results.json").read_text())["suites"][0]
    return suite


def test_a_suite_that_passes_overall_fails_on_the_slice_it_is_bad_at(pytester: pytest.Pytester) -> None:
    project(pytester, {"min_pass_rate": 0.8})
    result = pytester.runpytest("--eval-tier=full", "--eval-report=out")
    suite = report(pytester)
    assert suite["pass_rate"] == pytest.approx(106 / 126)  # above 80 % overall
    assert suite["verdict"] == "FAIL" and suite["blocks_merge"] and result.ret == 1
    assert suite["reason"].startswith("slice fr: pass rate 50.0% < 80.0% (20 of 40 pass, 32 needed)")
    verdicts = {s["tag"]: s["verdict"] for s in suite["slices"]}
    assert verdicts == {"fr": "FAIL", "de": "PASS", "en": "PASS", "la": "not gated"}  # la: 6 < min_size 20
    assert [s["tag"] for s in suite["slices"]][0] == "fr"  # failing first
    result.stdout.fnmatch_lines(["qa slices:", "*slice*verdict*pass rate*", "*fr*FAIL*50.0%*exact*", "*la*not gated*"])
    junit = ET.parse(pytester.path / "out" / "junit.xml").getroot()
    failed = [case.get("name") for case in junit.iter("testcase") if case.find("failure") is not None]
    assert failed == ["qa", "qa[fr]"]
    assert "Slices of" in (pytester.path / "out" / "summary.md").read_text()
    assert '<table class="slices">' in (pytester.path / "out" / "report.html").read_text()


def test_named_tags_and_a_gap_gate(pytester: pytest.Pytester) -> None:
    project(pytester, {"tags": ["de", "en"], "max_gap": 0.05, "min_pass_rate": 0.5})
    pytester.runpytest("--eval-tier=full", "--eval-report=out")
    suite = report(pytester)
    assert [s["tag"] for s in suite["slices"]] == ["de", "en"] and suite["verdict"] == "PASS"
    assert suite["gap"]["verdict"] == "PASS" and suite["gap"]["interval"] == [0.0, 0.0]
    project(pytester, {"tags": ["de", "fr"], "max_gap": 0.05, "min_pass_rate": 0.4})
    pytester.runpytest("--eval-tier=full", "--eval-report=out")
    suite = report(pytester)
    gap = suite["gap"]
    assert gap["verdict"] == "FAIL" and (gap["best"], gap["worst"]) == ("de", "fr") and gap["interval"] == [0.5, 0.5]
    assert suite["verdict"] == "FAIL" and "gap de − fr 50.0% beyond max_gap 5.0%" in suite["reason"]


def test_early_stopping_waits_for_every_slice_and_settles_the_failing_one(pytester: pytest.Pytester) -> None:
    project(pytester, {"min_pass_rate": 0.8}, early_stop=True, max_error_rate=0.2)
    pytester.runpytest("--eval-tier=full", "--eval-report=out")
    suite = report(pytester)
    fr = next(s for s in suite["slices"] if s["tag"] == "fr")
    assert suite["verdict"] == "FAIL" and fr["verdict"] == "FAIL"
    assert suite["decided_at"] is not None and suite["counted"] < 126  # settled before the end


def test_merged_shards_give_the_slice_verdicts_of_one_run(pytester: pytest.Pytester) -> None:
    project(pytester, {"min_pass_rate": 0.8, "max_gap": 0.2})
    pytester.runpytest("--eval-tier=full", "--eval-report=whole")
    for shard in ("1/2", "2/2"):
        pytester.runpytest("--eval-tier=full", f"--eval-shard={shard}", f"--eval-report=s{shard[0]}")
    from evalgate.run.merge import merge_reports

    (merged,), _, _, _ = merge_reports([pytester.path / "s1", pytester.path / "s2"])
    whole = report(pytester, "whole")
    assert {s.tag: s.verdict for s in merged.slices} == {s["tag"]: s["verdict"] for s in whole["slices"]}
    assert merged.gap is not None and merged.gap.decision == whole["gap"]["verdict"] == "FAIL"


@pytest.mark.parametrize("rates", [(0.8, 0.8, 0.8), (0.8, 0.81, 0.95)])
def test_slice_verdicts_are_wrong_at_most_alpha_family_wise(rates: tuple[float, ...]) -> None:
    """Three slices of 60 with pass rates exactly at (or above) the threshold: the truth is PASS
    for each; over 300 random orders, a wrong FAIL of *any* slice happens at most α of the time."""
    rng = random.Random(11)
    cases = [(f"{tag}-{i}", (tag,)) for tag in ("a", "b", "c") for i in range(60)]
    plan = plan_slices(SlicesConfig(min_pass_rate=0.8), 0.8, cases)
    wrong = 0
    for _ in range(300):
        outcomes = {}
        for tag, rate in zip(("a", "b", "c"), rates, strict=True):
            passing = set(rng.sample(range(60), round(rate * 60)))
            outcomes.update({f"{tag}-{i}": "pass" if i in passing else "fail" for i in range(60)})
        order = [case for case, _ in cases]
        rng.shuffle(order)
        tracker = SliceTracker(plan, 0.1, 0.1 / 3)
        for case in order:
            tracker.add(case, outcomes[case])  # type: ignore[arg-type]
            if tracker.decision is not None:
                break
        wrong += tracker.decision == "FAIL"
    assert wrong <= 0.1 * 300, wrong


def test_the_slices_example_blocks_on_the_failing_slice_and_names_it(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    from conftest import REPO

    env = {**os.environ, "EVALGATE_CACHE": str(tmp_path / "cache.sqlite")}
    for tier in ("full", "all-cases"):
        run = subprocess.run([sys.executable, "-m", "evalgate", "run", str(REPO / "examples" / "slices"), "--tier", tier,
                              "--report", str(tmp_path / tier)], capture_output=True, text=True, env=env, timeout=300)
        assert run.returncode == 1, run.stdout + run.stderr
        suite = json.loads((tmp_path / tier / "results.json").read_text())["suites"][0]
        assert suite["verdict"] == "FAIL" and suite["reason"].startswith("slice steps-5-or-more: pass rate")
        assert suite["slices"][0]["tag"] == "steps-5-or-more" and suite["slices"][0]["verdict"] == "FAIL"
    assert suite["pass_rate"] == pytest.approx(170 / 300)  # all-cases: the suite alone would pass
    assert {s["tag"]: s["passed"] for s in suite["slices"]} == {"steps-5-or-more": 17, "steps-3-4": 69, "steps-1-2": 84}
    assert suite["gap"]["verdict"] == "FAIL" and suite["gap"]["interval"][0] == pytest.approx(84 / 116 - 17 / 50)


def test_a_capped_tier_takes_a_prefix_long_enough_for_every_slice(pytester: pytest.Pytester) -> None:
    """smoke (20 cases here) cannot settle three slices of 40 at τ = 0.5: the sample becomes the
    shortest prefix holding what each needs, and the header says so."""
    project(pytester, {"min_pass_rate": 0.5})
    result = pytester.runpytest("--eval-tier=smoke", "--eval-report=out")
    result.stdout.fnmatch_lines(["evalgate: qa: its slices need at least de *, fr *, en * case(s) each to be able to settle*"])
    suite = report(pytester)
    read = {s["tag"]: s["read"] for s in suite["slices"]}
    assert suite["cases_planned"] > 20 and min(read["de"], read["fr"], read["en"]) >= 8
    assert {s["tag"]: s["verdict"] for s in suite["slices"]}["de"] == "PASS"


def test_a_change_that_hurts_one_slice_against_the_baseline_is_blocked_and_named(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, rows=ROWS, correct=len(ROWS), min_pass_rate=0.5)  # main: every case right
    assert pytester.runpytest("--eval-tier=complete", "--eval-report=base").ret == 0
    project(pytester, {"min_pass_rate": 0.4, "max_regression": 0.1}, baseline="base/results.json", max_regression=0.2,
            regression_population="suite")
    result = pytester.runpytest("--eval-tier=full", "--eval-report=out")
    suite = report(pytester)
    assert suite["baseline"]["decision"] == "PASS"  # overall: 15.9 points lower, within the suite's 20
    fr = suite["slices"][0]
    assert (fr["tag"], fr["verdict"], fr["regression"], fr["delta"]) == ("fr", "FAIL", "FAIL", -0.5)
    assert suite["verdict"] == "FAIL" and result.ret == 1
    assert suite["reason"].startswith("slice fr: regression vs baseline larger than 10.0% (Δ = -50.0% over its paired cases; exact)")
    assert {s["tag"]: s["verdict"] for s in suite["slices"]} == {"fr": "FAIL", "de": "PASS", "en": "PASS", "la": "not gated"}
