"""The anytime-valid test: hand-computed values, properties, and its error rate in simulation."""

from __future__ import annotations

import random

import pytest
from conftest import make_case
from hypothesis import given, settings
from hypothesis import strategies as st

from evalgate.cases import Case
from evalgate.config import TierConfig
from evalgate.run.sampling import allocate, cases_for_tier, sampling_order
from evalgate.verdict.sequential import SequentialTest, confidence_interval
from evalgate.verdict.stats import wilson_interval


def test_first_bet_by_hand() -> None:
    # N = 10, τ = 0.5: the first case passes with probability μ1 = 5/10 under the null.
    # Mixture: each fraction f bets λ = f/μ, so up grows by 1 + f·2·(1 − 0.5) = 1 + f;
    # the mean over (0.05, 0.1, 0.2, 0.35, 0.5) is 1.24. The plug-in Kelly bet is 0 (the
    # smoothed estimate 0.5/1 equals μ), so hedged = (1 + 1.24) / 2.
    for strategy, up, down in (("mixture", 1.24, 0.76), ("kelly", 1.0, 1.0), ("hedged", 1.12, 0.88)):
        test = SequentialTest(10, 0.5, 0.05, strategy)
        test.update(True)
        assert test.capital("up") == pytest.approx(up) and test.capital("down") == pytest.approx(down)


def test_counting_settles_what_no_sample_could_change() -> None:
    passing = SequentialTest(10, 0.5)
    for _ in range(5):
        passing.update(True)
    assert (passing.decision, passing.decided_at) == ("PASS", 5)
    failing = SequentialTest(10, 0.5)
    for _ in range(6):
        failing.update(False)
    assert (failing.decision, failing.decided_at) == ("FAIL", 6)  # 0 passes + 4 left < 5


def test_every_case_seen_is_exact() -> None:
    test = SequentialTest(4, 0.75)
    for outcome in (True, False, True, True):
        test.update(outcome)
    assert (test.decision, test.decided_at) == ("PASS", 4)
    assert confidence_interval([True, False, True, True], 4) == (0.75, 0.75)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        SequentialTest(0, 0.5)
    with pytest.raises(ValueError):
        SequentialTest(10, 0.5, alpha=1.5)
    with pytest.raises(ValueError):
        SequentialTest(10, 0.5).update(1.5)


def test_clear_evidence_stops_early() -> None:
    test = SequentialTest(2000, 0.5)
    rng = random.Random(7)
    while test.decision is None:
        test.update(rng.random() < 0.8)
    assert test.decision == "PASS" and test.decided_at is not None and test.decided_at < 100


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=60), st.floats(0.05, 0.95), st.floats(0.0, 0.3))
def test_a_lower_bar_never_fails_what_a_higher_bar_passed(outcomes: list[bool], tau: float, gap: float) -> None:
    population = 80
    high, low = SequentialTest(population, tau), SequentialTest(population, max(0.01, tau - gap))
    for outcome in outcomes:
        high.update(outcome)
        low.update(outcome)
    if high.decision == "PASS":
        assert low.decision != "FAIL"
    if low.decision == "FAIL":
        assert high.decision != "PASS"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=50))
def test_interval_respects_what_counting_proves(outcomes: list[bool]) -> None:
    population = 60
    low, high = confidence_interval(outcomes, population, 0.05, grid=50)
    passed, remaining = sum(outcomes), population - len(outcomes)
    assert 0.0 <= low <= high <= 1.0
    assert low <= (passed + remaining) / population + 1 / 50 and high >= passed / population - 1 / 50


def simulate(population: int, passes: int, tau: float, runs: int, seed: int) -> float:
    """Share of random orders of a fixed suite on which the test says PASS."""
    rng = random.Random(seed)
    suite = [True] * passes + [False] * (population - passes)
    passed = 0
    for _ in range(runs):
        rng.shuffle(suite)
        test = SequentialTest(population, tau, 0.05)
        for outcome in suite:
            if test.update(outcome) is not None:
                break
        passed += test.decision == "PASS"
    return passed / runs


@pytest.mark.parametrize(("population", "tau"), [(200, 0.5), (300, 0.8), (150, 0.3)])
def test_false_pass_rate_just_below_the_threshold_stays_under_alpha(population: int, tau: float) -> None:
    passes = round(population * tau) - 1  # the suite truly fails, by one case
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


def test_stratified_sample_represents_every_stratum() -> None:
    sample = cases_for_tier(tagged(98, 2), TierConfig(sample=5), seed=0, stratify=True)
    assert len(sample) == 5 and sum(case.tags == ("b",) for case in sample) == 1
    assert allocate(5, {"a": 98, "b": 2}) == {"a": 4, "b": 1}
    assert allocate(10, {"a": 50, "b": 30, "c": 20}) == {"a": 5, "b": 3, "c": 2}
    assert allocate(2, {"a": 5, "b": 5, "c": 5}) == {"a": 1, "b": 1, "c": 0}
