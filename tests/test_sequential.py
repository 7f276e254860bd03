"""The anytime-valid test: hand-computed values, properties, and its error rate in simulation."""

from __future__ import annotations

import random

import pytest
from conftest import make_case
from hypothesis import given, settings
from hypothesis import strategies as st

from evalgate.cases import Case
from evalgate.config import TierConfig
from evalgate.run.sampling import cases_for_tier, sampling_order
from evalgate.verdict.exact import required_passes
from evalgate.verdict.monitor import pass_rate_test
from evalgate.verdict.sequential import BettingTest, confidence_bounds
from evalgate.verdict.stats import wilson_interval


def test_first_bet_by_hand() -> None:
    # N = 10, τ = 0.5: k* = 5. The PASS side tests "at most 4 pass": the first case passes
    # with probability μ1 = 4/10 under it; the FAIL side tests "at least 5": μ1 = 5/10.
    # Mixture, up: each fraction f bets λ = f/μ, so a pass multiplies by 1 + f·(1/0.4)·0.6
    # = 1 + 1.5f; the fractions (0.05 … 0.5) average 0.24, so 1.36. Kelly, up: the smoothed
    # estimate 0.5 gives λ = (0.5 − 0.4)/(0.4·0.6) = 0.4167 (under the cap 0.75/0.4):
    # 1 + 0.4167·0.6 = 1.25. Down: a pass loses, 1 − f for the mixture (0.76); Kelly bets
    # nothing (the estimate equals μ).
    for strategy, up, down in (("mixture", 1.36, 0.76), ("kelly", 1.25, 1.0), ("hedged", 1.305, 0.88)):
        test = pass_rate_test(10, 0.5, strategy=strategy)
        test.update(1)
        assert test.capital("up") == pytest.approx(up) and test.capital("down") == pytest.approx(down)


def test_counting_settles_what_no_sample_could_change() -> None:
    strict = 1e-9  # no bet can reach 1/α in ten cases: only counting decides
    counted = pass_rate_test(10, 0.5, alpha=strict, alpha_fail=strict)
    for _ in range(5):
        counted.update(1)
    assert (counted.decision, counted.decided_at) == ("PASS", 5)  # k* = 5 passes are in
    failing = pass_rate_test(10, 0.5, alpha=strict, alpha_fail=strict)
    for _ in range(6):
        failing.update(0)
    assert (failing.decision, failing.decided_at) == ("FAIL", 6)  # 0 passes + 4 left < 5
    assert pass_rate_test(10, 0.0).decision == "PASS"  # k* = 0: nothing to show
    # At α = 0.05 the bets settle one case sooner, and rightly: if at most 4 of the 10
    # passed, four passes first would have had probability 1 / C(10, 4) = 1/210 < α.
    hedged = pass_rate_test(10, 0.5)
    for _ in range(4):
        hedged.update(1)
    assert (hedged.decision, hedged.decided_at) == ("PASS", 4)


def test_every_case_seen_is_exact() -> None:
    test = pass_rate_test(4, 0.75)
    for outcome in (1, 0, 1, 1):
        test.update(outcome)
    assert (test.decision, test.decided_at) == ("PASS", 4)
    assert confidence_bounds([(1, 1), (0, 0), (1, 1), (1, 1)], 4, 0.05) == (0.75, 0.75)


def test_errors_settle_neither_side() -> None:
    """An errored case is low for the PASS side and high for the FAIL side: a run of
    errors is evidence of nothing, however long."""
    test = pass_rate_test(200, 0.5)
    for _ in range(150):
        test.update(0, 1)
    assert test.decision is None
    assert test.capital("up") <= 1.0 and test.capital("down") <= 1.0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        BettingTest(0, 1, 2)
    with pytest.raises(ValueError):
        BettingTest(10, 4, 5, alpha_pass=1.5)
    with pytest.raises(ValueError):
        pass_rate_test(10, 0.5).update(2)
    with pytest.raises(ValueError):
        pass_rate_test(10, 0.5).update(1, 0)


def test_clear_evidence_stops_early() -> None:
    test = pass_rate_test(2000, 0.5)
    rng = random.Random(7)
    while test.decision is None:
        test.update(int(rng.random() < 0.8))
    assert test.decision == "PASS" and test.decided_at is not None and test.decided_at < 100


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=60), st.floats(0.05, 0.95), st.floats(0.0, 0.3))
def test_a_lower_bar_never_fails_what_a_higher_bar_passed(outcomes: list[bool], tau: float, gap: float) -> None:
    population = 80
    high, low = pass_rate_test(population, tau), pass_rate_test(population, max(0.01, tau - gap))
    for outcome in outcomes:
        high.update(int(outcome))
        low.update(int(outcome))
    if high.decision == "PASS":
        assert low.decision != "FAIL"
    if low.decision == "FAIL":
        assert high.decision != "PASS"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=50))
def test_interval_respects_what_counting_proves(outcomes: list[bool]) -> None:
    population = 60
    low, high = confidence_bounds([(int(o), int(o)) for o in outcomes], population, 0.05)
    passed, remaining = sum(outcomes), population - len(outcomes)
    assert 0.0 <= low <= high <= 1.0
    assert low <= (passed + remaining) / population and high >= passed / population


def simulate(population: int, passes: int, tau: float, runs: int, seed: int) -> float:
    """Share of random orders of a fixed suite on which the test says PASS."""
    rng = random.Random(seed)
    suite = [1] * passes + [0] * (population - passes)
    passed = 0
    for _ in range(runs):
        rng.shuffle(suite)
        test = pass_rate_test(population, tau)
        for outcome in suite:
            if test.update(outcome) is not None:
                break
        passed += test.decision == "PASS"
    return passed / runs


@pytest.mark.parametrize(("population", "tau"), [(200, 0.5), (300, 0.8), (150, 0.3)])
def test_false_pass_rate_just_below_the_threshold_stays_under_alpha(population: int, tau: float) -> None:
    passes = required_passes(tau, population) - 1  # the suite truly fails, by one case
    assert simulate(population, passes, tau, runs=400, seed=population) <= 0.05


def test_rechecking_a_wilson_interval_after_every_case_does_not() -> None:
    # The contrast the design rests on: peeking at a fixed-sample interval after each case.
    rng = random.Random(3)
    population, tau, runs, false_passes = 200, 0.5, 300, 0
    suite = [True] * (population // 2 - 1) + [False] * (population // 2 + 1)
    for _ in range(runs):
        rng.shuffle(suite)
        passed = 0
        for seen, outcome in enumerate(suite, start=1):
            passed += outcome
            if seen >= 10 and wilson_interval(passed, seen)[0] >= tau:
                false_passes += 1
                break
    assert false_passes / runs > 0.05


def tagged(n_a: int, n_b: int) -> list[Case]:
    return [make_case(f"a{i}", tags=("a",)) for i in range(n_a)] + [
        make_case(f"b{i}", tags=("b",)) for i in range(n_b)
    ]


def test_stratified_order_interleaves_in_proportion() -> None:
    ordered = sampling_order(tagged(90, 10), seed=0, stratify=True)
    for prefix in (10, 20, 50):
        small = sum(case.tags == ("b",) for case in ordered[:prefix])
        assert abs(small - prefix * 0.1) <= 1
    assert sorted(c.id for c in ordered) == sorted(c.id for c in tagged(90, 10))


def test_stratified_samples_are_proportional_on_average_without_a_floor() -> None:
    sizes = [sum(case.tags == ("b",) for case in cases_for_tier(tagged(98, 2), TierConfig(sample=10), seed=s, stratify=True)) for s in range(400)]
    assert abs(sum(sizes) / len(sizes) - 10 * 2 / 100) < 0.05  # 0.2 per sample on average: no floor of one
    sample = cases_for_tier(tagged(50, 50), TierConfig(sample=10), seed=0, stratify=True)
    assert sum(case.tags == ("b",) for case in sample) == 5
