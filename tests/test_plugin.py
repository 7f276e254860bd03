"""End-to-end runs of the pytest plugin through pytester: real pytest sessions."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from conftest import add_suite, write_project


def test_without_a_tier_ordinary_runs_are_unaffected(pytester: pytest.Pytester) -> None:
    write_project(pytester.path)
    pytester.makepyfile(test_unit="def test_one():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*evalgate verdicts*")


def test_passing_gate_exits_zero_and_prints_the_table(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=10, correct=9, min_pass_rate=0.8)
    result = pytester.runpytest("--eval-tier=full", "-v")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*evals/qa.toml::case-000 PASSED*"])
    result.stdout.fnmatch_lines(["*evals/qa.toml::case-009 CASE FAILED*"])
    result.stdout.fnmatch_lines(
        [
            "*evalgate verdicts (tier: full)*",
            "suite*verdict*pass rate*interval*gate*cases*errors*time*",
            "qa*PASS*90.0%*exact: every case ran*≥ 80.0%*10/10*0 *",
            "qa: PASS — pass rate 90.0% ≥ 80.0% (all 10 cases; 9 pass, 8 needed)",
            "all 1 gate(s) passed",
            "*9 passed, 1 case failed*",
        ]
    )


def test_failing_gate_exits_one(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=10, correct=5, min_pass_rate=0.8)
    result = pytester.runpytest("--eval-tier=full")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["qa*FAIL*50.0%*", "1 of 1 gate(s) block the merge: qa"])


def test_errors_within_budget_do_not_fail_the_build(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=10, correct=10, errors=(3,), min_pass_rate=0.8, max_errors=1)
    result = pytester.runpytest("--eval-tier=full", "--junitxml=pytest.xml")
    result.assert_outcomes(passed=9)  # the errored case is skipped with its error: the gate counts it
    result.stdout.fnmatch_lines(["*9 passed, 1 case error*"])
    junit = (pytester.path / "pytest.xml").read_text()
    assert 'message="case error (data/qa.jsonl:4): model (exception): toy_model:answer raised RuntimeError: model crashed on q3' in junit
    assert "failures=\"0\"" in junit and "errors=\"0\"" in junit  # the gate passes: no failure anywhere
    result.stdout.fnmatch_lines(["qa*PASS*1/1*"])
    result.stdout.fnmatch_lines(["evalgate: 1 case error(s), counted by their gates; the first:",
                                 "  qa::case-003: model (exception): toy_model:answer raised RuntimeError: model crashed on q3"])
    assert result.ret == 0


def test_errors_over_budget_fail_the_gate(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=10, correct=10, errors=(3, 4), max_errors=1)
    result = pytester.runpytest("--eval-tier=full")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["qa: ERROR — 2 errored case(s) exceed the error budget of 1*"])


def test_an_ordinary_failing_test_still_fails_the_build(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=5, correct=5)
    pytester.makepyfile(test_unit="def test_broken():\n    assert False\n")
    result = pytester.runpytest("--eval-tier=full", ".")
    result.assert_outcomes(passed=5, failed=1)
    assert result.ret == 1


def test_suites_are_collected_when_testpaths_point_elsewhere(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=4, correct=4, min_pass_rate=0.5)
    pytester.mkdir("tests")
    pytester.path.joinpath("tests", "test_unit.py").write_text("def test_ok():\n    pass\n")
    write_project(pytester.path, cases=4, correct=4, min_pass_rate=0.5, ini={"testpaths": ["tests"]})
    result = pytester.runpytest("--eval-tier=full")
    result.assert_outcomes(passed=5)
    assert result.ret == 0


def test_smoke_tier_samples_and_says_so(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=50, correct=50, min_pass_rate=0.9)
    result = pytester.runpytest("--eval-tier=smoke")
    result.assert_outcomes(passed=20)
    result.stdout.fnmatch_lines(["qa*UNDECIDED*100.0%*anytime-valid 90% CS*20/50*"])
    result.stdout.fnmatch_lines([
        "*a sample of 20 of 50 cases cannot settle pass rate ≥ 90.0% at α = 0.05 (estimate 100.0%); "
        "a settled PASS needs at least * more case(s), all passing; policy 'warn' does not block"
    ])
    assert result.ret == 0


def test_tier_selects_suites_by_concern(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=3, correct=3, concerns=("safety",))
    add_suite(pytester.path, "general", cases=4)
    (pytester.path / "tiers").mkdir(exist_ok=True)
    pytester.path.joinpath("tiers", "safety.toml").write_text('concerns = ["safety"]\n')
    result = pytester.runpytest("--eval-tier=safety")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["general*SKIPPED*", "general: SKIPPED — not selected by this tier"])
    assert result.ret == 0


def test_repeats_run_each_case_several_times(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=2, correct=2, min_pass_rate=1.0, model_options={"deterministic": False})
    result = pytester.runpytest("--eval-tier=deep-dive", "-v")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*case-000[[]r1[]] PASSED*", "*case-000[[]r3[]] PASSED*"])
    result.stdout.fnmatch_lines(["qa*PASS*2/2*"])


def test_a_deterministic_model_runs_each_case_once_and_says_so(pytester: pytest.Pytester) -> None:
    """Repeats carry information only when answers can differ: a deterministic model's deep
    dive makes no repeated calls, and the header says why."""
    write_project(pytester.path, cases=3, correct=3, min_pass_rate=1.0)  # the toy model is deterministic
    result = pytester.runpytest("--eval-tier=deep-dive", "--eval-no-cache")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([
        "evalgate: qa: its model is deterministic, so each case runs once (the deep-dive tier's 3 repeats would repeat the same answer)",
    ])


def test_k_selects_cases_and_the_verdict_is_about_the_selection(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=10, correct=5, min_pass_rate=0.8)
    result = pytester.runpytest("--eval-tier=full", "-k", "case-000 or case-001")
    result.assert_outcomes(passed=2, deselected=8)
    result.stdout.fnmatch_lines(["qa: PASS — pass rate 100.0% ≥ 80.0% (the 2 selected cases; 2 pass, 2 needed)"])
    assert result.ret == 0
    failing = pytester.runpytest("--eval-tier=full", "-k", "case-008 or case-009 or case-000")
    failing.stdout.fnmatch_lines(["qa: FAIL — pass rate 33.3% < 80.0% (the 3 selected cases; 1 pass, 3 needed)"])


def test_exitfirst_stops_at_an_ordinary_failure_and_leaves_the_gate_incomplete(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=10, correct=10)
    pytester.makepyfile(test_unit="def test_broken():\n    assert False\n")
    result = pytester.runpytest("--eval-tier=full", "-x", "test_unit.py", "evals")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["qa: INCOMPLETE — only 0 of 10 planned cases ran*"])
    assert result.ret == 1


def test_exitfirst_on_an_errored_case_leaves_the_gate_incomplete(pytester: pytest.Pytester) -> None:
    """An errored case is a skip in pytest's terms, yet ``-x`` stops at it: whoever asked to
    stop at the first problem means it."""
    write_project(pytester.path, cases=10, correct=10, errors=(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), max_errors=10)
    result = pytester.runpytest("--eval-tier=full", "-x")
    result.stdout.fnmatch_lines(["qa: INCOMPLETE — only 1 of 10 planned cases ran*"])
    result.stdout.fnmatch_lines(["*stopping after 1 case error(s)*", "*= 1 case error in *"])
    assert result.ret == 1


def test_xdist_gives_the_same_verdicts_computed_once(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=30, correct=20, min_pass_rate=0.8)
    result = pytester.runpytest_subprocess("--eval-tier=full", "-n", "2", "--eval-report", "out")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["qa*FAIL*66.7%*30/30*"])
    assert result.stdout.str().count("evalgate verdicts") == 1
    document = json.loads((pytester.path / "out" / "results.json").read_text())
    assert len(document["cases"]) == 30
    assert document["suites"][0]["verdict"] == "FAIL"


def test_reports_are_written_and_parse(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=10, correct=6, min_pass_rate=0.8)
    add_suite(pytester.path, "easy", cases=5, min_pass_rate=0.5)
    result = pytester.runpytest("--eval-tier=full", "--eval-report", "reports", "--junitxml", "pytest.xml")
    assert result.ret == 1
    gates = ET.parse(pytester.path / "reports" / "junit.xml").getroot()
    testcases = {case.get("name"): case for case in gates.iter("testcase")}
    assert set(testcases) == {"easy", "qa"}
    assert testcases["easy"].find("failure") is None
    failure = testcases["qa"].find("failure")
    assert failure is not None and "FAIL: pass rate 60.0% < 80.0%" in failure.get("message", "")
    summary = (pytester.path / "reports" / "summary.md").read_text()
    assert "| `qa` | ❌ FAIL | 60.0% |" in summary
    document = json.loads((pytester.path / "reports" / "results.json").read_text())
    by_id = {case["case_id"]: case for case in document["cases"] if case["suite"] == "qa"}
    assert by_id["case-007"]["passed"] is False and by_id["case-007"]["output"] == "wrong"
    assert by_id["case-001"]["passed"] is True and by_id["case-001"]["latency"] >= 0
    # pytest's own JUnit: a case failing its scorer is not a failure there — the blocking gate
    # is, as a test case of its own; under pytest's default family (xunit2) a case carries no
    # properties, which that schema does not allow (junit_family = xunit1 adds them:
    # tests/test_ci_reports.py).
    own = ET.parse(pytester.path / "pytest.xml").getroot()
    failed = [(case.get("name"), case.find("failure")) for case in own.iter("testcase") if case.find("failure") is not None]
    assert [name for name, _ in failed] == ["gate[qa]"]
    assert failed[0][1].get("message", "").startswith("FAIL: pass rate 60.0% < 80.0%")
    assert next(c for c in own.iter("testcase") if c.get("name") == "gate[easy]").find("failure") is None
    case7 = next(c for c in own.iter("testcase") if c.get("name") == "case-007" and "qa" in c.get("classname", ""))
    assert case7.find("properties") is None


def test_malformed_tier_file_is_one_line_naming_file_key_and_fix(pytester: pytest.Pytester) -> None:
    write_project(pytester.path)
    (pytester.path / "tiers").mkdir(exist_ok=True)
    pytester.path.joinpath("tiers", "smoke.toml").write_text("sampel = 5\n")
    result = pytester.runpytest("--eval-tier=smoke")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: *tiers/smoke.toml:1: unknown key 'sampel'; remove it or fix its name (did you mean 'sample'?)"]
    )
    assert "Traceback" not in result.stderr.str()


def test_malformed_dataset_row_names_file_and_line(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=3)
    data = pytester.path / "data" / "qa.jsonl"
    data.write_text(data.read_text() + '{"id": "broken", "input": "q9"\n')
    result = pytester.runpytest("--eval-tier=full")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *data/qa.jsonl:4: invalid JSON*; each line must be one JSON object"])


def test_unknown_tier_lists_the_known_ones(pytester: pytest.Pytester) -> None:
    write_project(pytester.path)
    result = pytester.runpytest("--eval-tier=smok")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: unknown tier 'smok'; known tiers: complete, deep-dive, full, smoke*"])


def test_missing_config_says_how_to_add_one(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--eval-tier=smoke")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: no evalgate config in *: add a [[]tool.evalgate[]] table*"])


def test_ini_option_sets_the_tier(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=3, correct=3, ini={"eval_tier": "full"})
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*evalgate verdicts (tier: full)*"])


def test_early_stop_skips_the_rest_with_the_reason(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=200, correct=200, min_pass_rate=0.5, early_stop=True, gate={"max_error_rate": 0.1})
    result = pytester.runpytest("--eval-tier=full", "-rs", "--eval-report=out")
    assert result.ret == 0
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] < 60 and outcomes["passed"] + outcomes["skipped"] == 200
    result.stdout.fnmatch_lines(["SKIPPED [[]*[]] *verdict settled: qa PASS after * of 200 cases (anytime-valid test, α = 0.05)"])
    suite = json.loads((pytester.path / "out" / "results.json").read_text())["suites"][0]
    assert suite["calls_saved"]["early_stop"] == 200 - suite["cases_run"] == outcomes["skipped"]


def test_early_stop_under_xdist(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=300, correct=0, min_pass_rate=0.5, early_stop=True)
    result = pytester.runpytest_subprocess("--eval-tier=full", "-n", "2", "--eval-report=out")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["qa: FAIL — pass rate < 50.0%: settled after * of 300 cases*"])
    suite = json.loads((pytester.path / "out" / "results.json").read_text())["suites"][0]
    assert suite["verdict"] == "FAIL" and suite["cases_run"] < 150  # the workers stopped too
