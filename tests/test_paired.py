"""Baseline gates: exact McNemar values, the paired comparison, and end-to-end runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import make_spec, write_project

from evalgate.verdict.monitor import Baseline, SuiteMonitor
from evalgate.verdict.paired import comparison
from evalgate.verdict.stats import binomial_tail, mcnemar_exact


def test_exact_binomial_and_mcnemar_values() -> None:
    assert binomial_tail(3, 5) == pytest.approx(16 / 32)  # C(5,3)+C(5,4)+C(5,5) = 16
    assert binomial_tail(0, 5) == 1.0 and binomial_tail(6, 5) == 0.0
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)
    assert mcnemar_exact(3, 3) == 1.0 and mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(1, 9) == pytest.approx(2 * (10 + 1) / 1024)
    assert mcnemar_exact(600, 600) == 1.0 and 0 < mcnemar_exact(520, 680) < 1e-5  # thousands of pairs, no overflow


def paired_monitor(candidate: list[str], baseline: list[str], **gate: object) -> SuiteMonitor:
    order = [f"c{i}" for i in range(len(candidate))]
    base = Baseline(dict(zip(order, baseline, strict=True)), complete=True, random=True, source="base")  # type: ignore[arg-type]
    monitor = SuiteMonitor(make_spec(order, min_pass_rate=0.0, baseline=base, **gate))
    for case_id, outcome in zip(order, candidate, strict=True):
        monitor.add(case_id, outcome)  # type: ignore[arg-type]
    return monitor


def test_the_comparison_counts_discordant_pairs_and_settles() -> None:
    monitor = paired_monitor(["pass", "fail", "pass", "error", "pass", "fail"], ["pass"] * 6, max_regression=0.0, max_errors=1)
    result = comparison(monitor)
    assert (result.pairs, result.worse, result.better) == (6, 2, 0)  # an errored candidate case is not "worse"
    assert result.difference == pytest.approx(-3 / 6) and monitor.decision == "FAIL"
    assert result.interval[0] <= result.difference <= result.interval[1]


def test_a_large_clear_regression_is_found_early() -> None:
    candidate = ["fail" if index % 3 == 0 else "pass" for index in range(1000)]  # a third regress
    monitor = paired_monitor(candidate, ["pass"] * 1000, max_regression=0.05)
    assert monitor.paired is not None and monitor.paired.decision == "FAIL"
    assert monitor.decided_at is not None and monitor.decided_at < 100


def test_errors_on_either_side_are_never_evidence() -> None:
    monitor = paired_monitor(["error"] * 300, ["pass"] * 300, max_regression=0.0, max_errors=300)
    assert monitor.paired is not None and monitor.paired.decision is None
    monitor = paired_monitor(["fail"] * 300, ["error"] * 300, max_regression=0.0)
    assert monitor.paired is not None and monitor.paired.decision is None
    # Errors count against the side they could help; a candidate passing every case has
    # not regressed whatever the baseline's errors hid: that is settled.
    monitor = paired_monitor(["pass"] * 300, ["error"] * 300, max_regression=0.0)
    assert monitor.paired is not None and monitor.paired.decision == "PASS"


def baseline_run(pytester: pytest.Pytester, **project: Any) -> Path:
    """Run the project written with ``project`` options once; its results.json, saved."""
    write_project(pytester.path, **project)
    pytester.runpytest("--eval-tier=full", "--eval-no-cache", "--eval-report", "base")
    saved = pytester.path / "baseline.json"
    shutil.copy(pytester.path / "base" / "results.json", saved)
    return saved


def test_a_regression_against_a_baseline_fails_the_gate(pytester: pytest.Pytester) -> None:
    baseline_run(pytester, cases=10, correct=10, min_pass_rate=0.5)
    write_project(pytester.path, cases=10, correct=7, min_pass_rate=0.5, gate={"regression_population": "suite"})
    result = pytester.runpytest("--eval-tier=full", "--eval-no-cache", "--eval-baseline=baseline.json", "--eval-report=out")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["qa: FAIL — regression vs baseline larger than 0.0%: Δ = -30.0% over 10 paired cases"])
    suite = json.loads((pytester.path / "out" / "results.json").read_text())["suites"][0]
    assert suite["baseline"]["worse"] == 3 and suite["baseline"]["baseline_rate"] == 1.0
    assert suite["baseline"]["candidate_rate"] == 0.7 and suite["baseline"]["mcnemar_p"] == pytest.approx(0.25)


def test_no_regression_passes_and_says_so(pytester: pytest.Pytester) -> None:
    baseline_run(pytester, cases=10, correct=8, min_pass_rate=0.5)
    write_project(pytester.path, cases=10, correct=9, min_pass_rate=0.5, gate={"baseline": "baseline.json", "max_regression": 0.02,
                                                                                          "regression_population": "suite"})
    result = pytester.runpytest("--eval-tier=full", "--eval-no-cache")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["qa: PASS — pass rate 90.0% ≥ 50.0% (all 10 cases; 9 pass, 5 needed); no regression vs baseline larger than 2.0% (Δ = +10.0% over 10 paired cases)"])


def test_baseline_from_the_result_store(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=10, correct=10, min_pass_rate=0.5)
    pytester.runpytest("--eval-tier=full")
    write_project(pytester.path, cases=10, correct=8, min_pass_rate=0.5, gate={"regression_population": "suite"})
    result = pytester.runpytest("--eval-tier=full", "--eval-baseline=store")
    result.stdout.fnmatch_lines(["qa: FAIL — regression vs baseline*Δ = -20.0% over 10 paired cases"])


def test_missing_or_broken_baseline_is_one_line(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=3)
    missing = pytester.runpytest("--eval-tier=full", "--eval-baseline=nope.json")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(["ERROR: *nope.json: baseline results not found; point 'baseline' at a results.json*"])
    (pytester.path / "bad.json").write_text('{"cases": 3}')
    broken = pytester.runpytest("--eval-tier=full", "--eval-baseline=bad.json")
    broken.stderr.fnmatch_lines(["ERROR: *bad.json: not an evalgate results.json*"])


def test_merged_shards_compare_with_the_baseline_again(pytester: pytest.Pytester) -> None:
    from evalgate.run.merge import merge_reports

    baseline = baseline_run(pytester, cases=12, correct=12, min_pass_rate=0.5)
    write_project(pytester.path, cases=12, correct=6, min_pass_rate=0.5, gate={"baseline": "baseline.json", "regression_population": "suite"})
    for shard in (1, 2):
        pytester.runpytest("--eval-tier=full", "--eval-no-cache", f"--eval-shard={shard}/2", f"--eval-report=s{shard}")
    shards = [pytester.path / "s1", pytester.path / "s2"]
    (verdict,), _, _, _ = merge_reports(shards, baseline)
    assert verdict.verdict == "FAIL" and verdict.baseline is not None and verdict.baseline.worse == 6
    (without,), _, _, _ = merge_reports(shards)
    assert without.baseline is None
