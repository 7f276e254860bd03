"""What a verdict is about, and what it guarantees with the default config.

Each test reproduces one bullet of the statistics issue: the suite-vs-distribution question,
K suites spending K·α, the error budget that ate early stopping, the two confidently wrong
verdicts (a gap exactly at ``max_gap``, a selection inside a sample called exact), and the
control variate that cost more than the direct test.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

import pytest
from conftest import make_result, make_spec, write_project

from evalgate.verdict.distribution import MeanTest, mean_bounds
from evalgate.verdict.gate import Verdict, decide
from evalgate.verdict.monitor import Baseline, SuiteMonitor
from evalgate.verdict.outcomes import Outcome


def results(order: Sequence[str], outcomes: Sequence[Outcome]) -> list:  # type: ignore[type-arg]
    return [make_result(case, outcome == "pass", error="model" if outcome == "error" else None)
            for case, outcome in zip(order, outcomes, strict=True)]


# --- suite vs distribution ------------------------------------------------------------------


def fifteen_worse_six_better() -> tuple[list[str], Baseline, list[Outcome]]:
    """The issue's pull request: 300 cases, baseline 55 % (165), candidate 52 % (156): 15 cases
    got worse, 6 better."""
    order = [f"c{i:03d}" for i in range(300)]
    base: dict[str, Outcome] = {case: "pass" if i < 165 else "fail" for i, case in enumerate(order)}
    candidate: list[Outcome] = []
    for i in range(300):
        if i < 15:
            candidate.append("fail")  # baseline passed
        elif i < 165:
            candidate.append("pass")
        elif i < 171:
            candidate.append("pass")  # baseline failed
        else:
            candidate.append("fail")
    return order, Baseline(base, complete=True, random=True, source="main"), candidate


def test_the_same_drop_is_a_fact_about_the_suite_and_noise_about_the_distribution() -> None:
    """In the sampling orders a run reads (seeded shuffles), the suite question always FAILs —
    these 300 cases did get worse — while the distribution question blocks nothing: the drop
    cannot be told from noise (McNemar p = 0.078)."""
    order, base, candidate = fifteen_worse_six_better()
    assert candidate.count("pass") == 156
    blocked = 0
    for seed in range(40):
        shuffled = list(zip(order, candidate, strict=True))
        random.Random(seed).shuffle(shuffled)
        read = [case for case, _ in shuffled]
        outcomes = [outcome for _, outcome in shuffled]
        suite = decide(make_spec(read, min_pass_rate=0.5, baseline=base, regression_kind="suite"), results(read, outcomes))
        assert suite.verdict == Verdict.FAIL and suite.baseline is not None and suite.baseline.exact
        assert suite.baseline.mcnemar_p == pytest.approx(0.078, abs=0.001)
        distribution = decide(make_spec(read, min_pass_rate=0.5, baseline=base, regression_kind="distribution"),
                              results(read, outcomes))
        assert distribution.baseline is not None and not distribution.baseline.exact
        blocked += distribution.blocks_merge
        if seed == 0:
            low, high = distribution.baseline.interval
            assert low < -0.03 < high and low < 0 < high  # a drop the 300 cases cannot tell from none
            assert distribution.verdict == Verdict.UNDECIDED and "on the distribution" in distribution.reason
    assert blocked <= 4  # at most ~α of the orders settle a FAIL; policy 'warn' blocks nothing else


def test_a_distribution_verdict_is_never_exact() -> None:
    order = [f"c{i}" for i in range(200)]
    outcomes: list[Outcome] = ["pass"] * 170 + ["fail"] * 30
    suite = decide(make_spec(order, min_pass_rate=0.8, kind="suite"), results(order, outcomes))
    assert suite.exact and suite.verdict == Verdict.PASS and suite.interval == (0.85, 0.85)
    about = decide(make_spec(order, min_pass_rate=0.8, kind="distribution"), results(order, outcomes))
    assert not about.exact and about.interval[0] < 0.85 < about.interval[1]
    assert "distribution" in about.method and about.population_kind == "distribution"


def test_the_distribution_test_keeps_its_level_at_the_boundary() -> None:
    """Drawn i.i.d. at exactly τ, the test should settle either way at most α of the time."""
    rng = random.Random(7)
    wrong = 0
    runs = 400
    for _ in range(runs):
        test = MeanTest(400, 0.7, 0.7, 0.05, 0.05)
        for _ in range(400):
            if test.update(int(rng.random() < 0.7)) is not None:
                break
        wrong += test.decision is not None
    assert wrong / runs <= 0.10 + 3 * (0.1 * 0.9 / runs) ** 0.5  # PASS and FAIL sides, α each


def test_the_distribution_interval_covers() -> None:
    rng = random.Random(3)
    misses = 0
    for _ in range(200):
        values = [(x, x) for x in (int(rng.random() < 0.3) for _ in range(150))]
        low, high = mean_bounds(values, 0.05)
        misses += not low <= 0.3 <= high
    assert misses / 200 <= 0.10 + 3 * (0.1 * 0.9 / 200) ** 0.5


# --- one error level for the whole run ---------------------------------------------------------


def test_twenty_suites_at_their_boundary_wrongly_block_a_run_at_most_run_alpha() -> None:
    rng = random.Random(11)
    order = [f"c{i}" for i in range(100)]
    runs, blocked = 150, 0
    for _ in range(runs):
        any_fail = False
        for _ in range(20):
            outcomes: list[Outcome] = ["pass"] * 70 + ["fail"] * 30  # exactly at τ = 0.7: truly passing
            rng.shuffle(outcomes)
            monitor = SuiteMonitor(make_spec(order, min_pass_rate=0.7, alpha_fail_cap=0.05 / 20))
            for case, outcome in zip(order, outcomes, strict=True):
                if monitor.add(case, outcome) is not None:
                    break
            any_fail |= monitor.decision == "FAIL"
        blocked += any_fail
    assert blocked / runs <= 0.05 + 3 * (0.05 * 0.95 / runs) ** 0.5


def test_a_run_of_several_suites_splits_run_alpha_and_says_so(pytester: pytest.Pytester) -> None:
    from conftest import add_suite

    write_project(pytester.path, cases=40, correct=2, min_pass_rate=0.9, early_stop=True)
    for name in ("b", "c", "d"):
        add_suite(pytester.path, name, cases=40, min_pass_rate=0.9)
    result = pytester.runpytest("--eval-tier=full")
    result.stdout.fnmatch_lines(["qa: FAIL*α = 0.0125 (the run's α split over its suites and the suite's gates)*"])


# --- errors without losing early stopping ------------------------------------------------------


def test_an_all_pass_suite_settles_early_with_the_default_config() -> None:
    order = [f"c{i}" for i in range(300)]
    monitor = SuiteMonitor(make_spec(order, min_pass_rate=0.9))
    for case in order:
        if monitor.add(case, "pass") is not None:
            break
    assert monitor.decision == "PASS" and monitor.decided_at is not None and monitor.decided_at <= 60


def test_errors_are_never_evidence_and_an_outage_is_an_error() -> None:
    order = [f"c{i}" for i in range(300)]
    zero = SuiteMonitor(make_spec(order, min_pass_rate=0.0))
    for case in order[:5]:
        zero.add(case, "error")
    assert zero.decision != "PASS"  # τ = 0 and every case errored: never a pass
    monitor = SuiteMonitor(make_spec(order, min_pass_rate=0.5))
    for case in order[:12]:
        monitor.add(case, "error")
    assert monitor.decision == "ERROR" and "endpoint is failing" in monitor.error_reason()
    every = decide(make_spec(order[:6], min_pass_rate=0.0), results(order[:6], ["error"] * 6))
    assert every.verdict == Verdict.ERROR and every.blocks_merge


def test_errored_cases_that_decide_a_complete_run_make_it_an_error() -> None:
    order = [f"c{i}" for i in range(10)]
    undecidable = decide(make_spec(order, min_pass_rate=0.8), results(order, ["pass"] * 7 + ["error"] * 2 + ["fail"]))
    assert undecidable.verdict == Verdict.ERROR and "errored case(s) decide it" in undecidable.reason
    settled = decide(make_spec(order, min_pass_rate=0.8), results(order, ["pass"] * 8 + ["error"] * 2))
    assert settled.verdict == Verdict.PASS  # 8 of 10 pass whatever the errored two would have said


def test_early_stop_with_tau_zero_needs_a_scored_case(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=50, errors=tuple(range(50)), min_pass_rate=0.0, early_stop=True)
    result = pytester.runpytest("--eval-tier=full")
    result.stdout.fnmatch_lines(["qa*ERROR*"])
    assert result.ret == 1


# --- the two confidently wrong verdicts -------------------------------------------------------


@pytest.mark.parametrize(("best", "worst", "size", "gap"), [(8, 7, 10, 0.1), (7, 4, 10, 0.3), (9, 6, 20, 0.15), (3, 1, 10, 0.2)])
def test_a_gap_exactly_at_max_gap_passes(best: int, worst: int, size: int, gap: float) -> None:
    from fractions import Fraction

    from evalgate.config import SlicesConfig
    from evalgate.verdict.slices import plan_slices

    assert Fraction(best, size) - Fraction(worst, size) == Fraction(str(gap))  # the grid: each spread is exactly max_gap
    order = [f"c{i}" for i in range(2 * size)]
    cases = [(case, ["a" if i < size else "b"]) for i, case in enumerate(order)]
    outcomes: list[Outcome] = (["pass"] * best + ["fail"] * (size - best) + ["pass"] * worst + ["fail"] * (size - worst))
    slices = plan_slices(SlicesConfig(max_gap=gap, min_size=1), 0.0, cases)
    spec = dataclasses.replace(make_spec(order, min_pass_rate=0.0), slices=slices)
    verdict = decide(spec, results(order, outcomes))
    assert verdict.gap is not None and verdict.gap.exact and verdict.gap.decision == "PASS", verdict.reason


def test_a_selection_inside_a_capped_tier_is_never_exact(pytester: pytest.Pytester) -> None:
    rows = [{"id": f"case-{i:03d}", "input": f"q{i}", "expected": f"a{i}", "tags": ["sel"] if i % 5 == 0 else []}
            for i in range(300)]
    write_project(pytester.path, rows=rows, correct=300, min_pass_rate=0.9, tiers={"smoke": {"sample": 60, "early_stop": False}})
    result = pytester.runpytest("--eval-tier=smoke", "-k", "sel", "--eval-report=out")
    result.stdout.fnmatch_lines(["qa*distribution*"])
    import json

    suite = json.loads((pytester.path / "out" / "results.json").read_text())["suites"][0]
    assert suite["selected"] and not suite["exact"] and suite["interval"][0] < suite["interval"][1]


# --- power before spend -------------------------------------------------------------------------


def test_check_says_what_a_gate_can_settle_and_warns_when_it_never_can(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from evalgate.cli import main
    from evalgate.verdict.power import pass_rate_power, regression_power

    full = pass_rate_power("suite", 300, 300, 0.9, 0.05, 0.05)
    assert full.pass_from is not None and full.fail_below is not None and full.fail_below < 0.9 < full.pass_from
    about = pass_rate_power("distribution", 300, 300, 0.9, 0.05, 0.05)
    assert about.pass_from is not None and about.pass_from > full.pass_from  # a distribution needs a wider margin
    assert pass_rate_power("distribution", 50, 50, 0.99, 0.05, 0.05).pass_from is None
    distance = regression_power("distribution", 300, 300, 0.01, 0.05, 0.025)
    assert distance is not None and distance > 0.01  # a candidate equal to its baseline cannot settle at δ = 0.01
    write_project(tmp_path, cases=300, gate={"baseline": "base.json", "max_regression": 0.01})
    assert main(["check", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "power with all 300 cases at α = 0.05: PASS settles from" in captured.out
    assert ("max_regression 0.01 on 300 cases (distribution) cannot be settled for a candidate as good as its baseline"
            in captured.err)
