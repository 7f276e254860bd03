"""Every JUnit reader agrees with the gate: red exactly when the run exits 1.

pytest's own ``--junitxml`` (what most CI set-ups read) and evalgate's gate report, on a
single run, an xdist run, two shards and their merge, read by the deciding rules of
EnricoMi's, dorny's and mikepenz's actions (:mod:`junit_consumers`)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import add_suite, write_project
from junit_consumers import verdicts

from evalgate.cli import main


def project(root: Path, failing: bool) -> None:
    """Two suites: ``qa`` (6 of 10 pass: FAIL at 0.8 when ``failing``, else PASS at 0.6) with an
    errored case, and ``easy`` (5 of 5). The errored case and the failed ones lie inside a
    passing suite when not ``failing``: they must not turn any reader red."""
    write_project(root, cases=10, correct=6, errors=(8,), min_pass_rate=0.8 if failing else 0.6)
    add_suite(root, "easy", cases=5, min_pass_rate=0.5)


def agree(path: Path, red: bool, blocking: str | None = None) -> None:
    for consumer, (conclusion, failed) in verdicts(path).items():
        assert conclusion == ("failure" if red else "success"), f"{consumer} reads {path.name} as {conclusion}: {failed}"
        if blocking is not None:
            assert failed == [blocking], f"{consumer}: {failed}"


@pytest.mark.parametrize("failing", [True, False], ids=["gate-fails", "gate-passes"])
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["single", "xdist"])
def test_pytest_junit_is_red_exactly_when_a_gate_blocks(pytester: pytest.Pytester, failing: bool, workers: list[str]) -> None:
    project(pytester.path, failing)
    result = pytester.runpytest_subprocess("--eval-tier=full", "--eval-no-cache", "--junitxml=pytest.xml",
                                           "--eval-report=reports", *workers)
    assert result.ret == (1 if failing else 0)
    agree(pytester.path / "pytest.xml", red=failing, blocking="gate[qa]" if failing else None)
    agree(pytester.path / "reports" / "junit.xml", red=failing)
    if failing:  # named after the blocking suite, the verdict's reason as its message
        root = ET.parse(pytester.path / "pytest.xml").getroot()
        gate = next(case for case in root.iter("testcase") if case.get("name") == "gate[qa]")
        failure = gate.find("failure")
        assert failure is not None and failure.get("message", "").startswith("FAIL: pass rate 60.0% < 80.0%")
    errored = next(case for case in ET.parse(pytester.path / "pytest.xml").getroot().iter("testcase")
                   if case.get("name") == "case-008")
    skipped = errored.find("skipped")
    assert skipped is not None and skipped.get("message", "").startswith("case error (data/qa.jsonl:9)")


def test_shards_are_partial_everywhere_and_the_merge_decides(pytester: pytest.Pytester) -> None:
    project(pytester.path, failing=True)
    for shard in (1, 2):
        part = pytester.runpytest_subprocess("--eval-tier=full", "--eval-no-cache", f"--eval-shard={shard}/2",
                                             f"--junitxml=pytest-{shard}.xml", f"--eval-report=s{shard}")
        assert part.ret == 0  # a shard never gates
        for path in (pytester.path / f"pytest-{shard}.xml", pytester.path / f"s{shard}" / "junit.xml"):
            agree(path, red=False)
            gates = [case for case in ET.parse(path).getroot().iter("testcase")
                     if case.get("name") in ("gate[qa]", "qa") and case.find("skipped") is not None]
            assert gates and "partial — decided by the merge" in (gates[0].find("skipped").get("message") or "")  # type: ignore[union-attr]
    merged = pytester.path / "merged"
    assert main(["report", "merge", str(pytester.path / "s1"), str(pytester.path / "s2"), "--out", str(merged)]) == 1
    agree(merged / "junit.xml", red=True, blocking="qa")


def test_collect_only_writes_no_report_and_exits_0(pytester: pytest.Pytester) -> None:
    """IDE test discovery runs ``--collect-only``: it must list the cases and nothing else."""
    project(pytester.path, failing=True)
    result = pytester.runpytest_subprocess("--eval-tier=full", "--collect-only", "-q", "--eval-report=reports")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["evals/qa.toml::case-000*"])
    assert not (pytester.path / "reports").exists() and not (pytester.path / ".evalgate").exists()


def test_the_eval_marker_selects_and_deselects_the_cases(pytester: pytest.Pytester) -> None:
    project(pytester.path, failing=False)
    pytester.makepyfile(test_unit="def test_unit():\n    assert True\n")
    only_unit = pytester.runpytest_subprocess("--eval-tier=full", "-m", "not eval", "--strict-markers", "test_unit.py", "evals")
    only_unit.assert_outcomes(passed=1)
    assert only_unit.ret == 0  # the suites are SKIPPED (deselected), not failed
    only_evals = pytester.runpytest_subprocess("--eval-tier=full", "-m", "eval", "test_unit.py", "evals")
    assert only_evals.ret == 0 and "1 deselected" in only_evals.stdout.str()


def test_paths_that_hold_no_suite_collect_no_eval_case(pytester: pytest.Pytester) -> None:
    project(pytester.path, failing=True)
    pytester.makepyfile(test_unit="def test_unit():\n    assert True\n")
    result = pytester.runpytest_subprocess("--eval-tier=smoke", "test_unit.py")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["evalgate: the paths given hold none of the tier's suites*"])


def test_loadgroup_keeps_a_suite_on_one_worker(pytester: pytest.Pytester) -> None:
    project(pytester.path, failing=True)
    result = pytester.runpytest_subprocess("--eval-tier=full", "-n", "2", "--dist", "loadgroup", "-v")
    assert result.ret == 1  # the same verdicts as ever: qa FAILs
    result.stdout.fnmatch_lines(["qa: FAIL — pass rate 60.0% < 80.0%*"])
    workers = {line.split("]")[0] for line in result.stdout.lines if "evals/qa.toml::" in line and line.startswith("[gw")}
    assert len(workers) == 1, workers
