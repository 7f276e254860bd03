"""Wilson intervals, the stable sample, verdicts and the exit status."""

from __future__ import annotations

import pytest
from conftest import make_case, make_result

from evalgate.cases import Case
from evalgate.config import GateConfig, TierConfig
from evalgate.results import CaseResult
from evalgate.run.sampling import cases_for_tier, sampling_order
from evalgate.verdict.gate import Verdict, decide, exit_status
from evalgate.verdict.stats import wilson_interval


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Reference values: the roots of (x/n - p)^2 = z^2 p (1 - p) / n, solved independently.
        (5, 10, 0.236593, 0.763407),
        (0, 10, 0.0, 0.277533),
        (10, 10, 0.722467, 1.0),
        (81, 263, 0.255289, 0.366210),
    ],
)
def test_wilson_known_values(successes: int, n: int, low: float, high: float) -> None:
    assert wilson_interval(successes, n) == pytest.approx((low, high), abs=1e-6)


def test_wilson_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def cases(n: int) -> list[Case]:
    return [make_case(f"c{i}") for i in range(n)]


def test_sampling_is_seeded_stable_and_capped() -> None:
    order = [case.id for case in sampling_order(cases(50), seed=0)]
    assert order == [case.id for case in sampling_order(list(reversed(cases(50))), seed=0)]
    assert order != [case.id for case in sampling_order(cases(50), seed=1)]
    assert order != sorted(order)
    sample = [c.id for c in cases_for_tier(cases(50), TierConfig(sample=10), seed=0)]
    assert sample == order[:10]
    assert len(cases_for_tier(cases(50), TierConfig(fraction=0.11), seed=0)) == 6
    assert len(cases_for_tier(cases(5), TierConfig(sample=10), seed=0)) == 5
    # Adding a case displaces at most one case of the sample.
    grown = {c.id for c in cases_for_tier(cases(51), TierConfig(sample=10), seed=0)}
    assert len(grown & set(sample)) >= 9


def result(case_id: str, passed: bool | None, repeat: int = 0, error: bool = False) -> CaseResult:
    return make_result(case_id, passed, repeat=repeat, error="timeout" if error else None, latency=0.5)


GATE = GateConfig(min_pass_rate=0.8, max_errors=1)
ORDER = [f"c{i}" for i in range(12)]


def test_pass_fail_and_numbers_when_every_case_ran() -> None:
    results = [result(f"c{i}", i < 8) for i in range(10)]
    verdict = decide("s", GATE, results, ORDER[:10], total=10)
    assert (verdict.verdict, verdict.passed, verdict.scored, verdict.pass_rate) == (Verdict.PASS, 8, 10, 0.8)
    assert verdict.reason == "pass rate 80.0% ≥ 80.0% (all 10 cases)" and verdict.seconds == pytest.approx(5.0)
    assert verdict.interval == (0.8, 0.8) and verdict.method == "exact: every case ran"
    failing = decide("s", GATE, [result(f"c{i}", i < 7) for i in range(10)], ORDER[:10], total=10)
    assert failing.verdict == Verdict.FAIL and failing.blocks_merge


def test_errors_count_as_not_passed_and_against_the_budget() -> None:
    results = [result(f"c{i}", True) for i in range(9)] + [result("c9", None, error=True)]
    within = decide("s", GATE, results, ORDER[:10], total=10)
    assert (within.verdict, within.errors, within.scored, within.pass_rate) == (Verdict.PASS, 1, 9, 0.9)
    assert within.reason == "pass rate 90.0% ≥ 80.0% (all 10 cases)"  # the errored case is not a pass
    over = decide("s", GATE, [*results, result("c10", None, error=True)], ORDER[:11], total=11)
    assert over.verdict == Verdict.ERROR and "exceed the error budget of 1" in over.reason


def test_repeats_pass_on_a_strict_majority() -> None:
    two_of_three = [result("a", True, 0), result("a", True, 1), result("a", False, 2)]
    one_of_two = [result("b", True, 0), result("b", False, 1), result("b", None, 2, error=True)]
    verdict = decide("s", GateConfig(min_pass_rate=0.5), [*two_of_three, *one_of_two], ["a", "b"], total=2, repeats=3)
    assert (verdict.passed, verdict.scored, verdict.errors) == (1, 2, 0)


def test_incomplete_skipped_and_undecided() -> None:
    assert decide("s", GATE, [result("c0", True)], ORDER[:3], total=3).verdict == Verdict.INCOMPLETE
    skipped = decide("s", GATE, [], [], total=3)
    assert skipped.verdict == Verdict.SKIPPED and not skipped.blocks_merge
    assert decide("s", GATE, [], [], total=3, skip_reason="not selected by this tier").reason == "not selected by this tier"
    sample = [result(f"c{i}", i < 17) for i in range(20)]
    order = [f"c{i}" for i in range(20)]
    for policy, blocks in (("estimate", False), ("fail", True), ("pass", False)):
        gate = GateConfig(min_pass_rate=0.8, undecided=policy)  # type: ignore[arg-type]
        verdict = decide("s", gate, sample, order, total=300)
        assert verdict.verdict == Verdict.UNDECIDED and verdict.blocks_merge is blocks
        assert f"a sample of 20 of 300 cases cannot settle pass rate ≥ 80.0% at α = 0.05 (estimate 85.0%); policy '{policy}'" in verdict.reason
        assert verdict.method == "anytime-valid 90% CS" and verdict.interval[0] < 0.85 < verdict.interval[1]
    low = decide("s", GateConfig(min_pass_rate=0.95), sample, order, total=300)
    assert low.verdict == Verdict.UNDECIDED and low.blocks_merge  # estimate below the bar


def test_a_clear_sample_settles_early_and_counts_what_it_saved() -> None:
    order = [f"c{i}" for i in range(1000)]
    results = [result(f"c{i}", True) for i in range(200)]
    verdict = decide("s", GateConfig(min_pass_rate=0.5), results, order, total=1000)
    assert verdict.verdict == Verdict.PASS and verdict.decided_at is not None and verdict.decided_at < 200
    assert verdict.saved_by_early_stop == 800 and verdict.saved_by_sampling == 0
    assert f"settled after {verdict.decided_at} of 1000 cases (100.0% so far) by an anytime-valid test at α = 0.05" in verdict.reason


def test_exit_status() -> None:
    passing = decide("s", GATE, [result("c0", True)], ["c0"], total=1)
    failing = decide("s", GATE, [result("c0", False)], ["c0"], total=1)
    assert exit_status(0, [passing], other_failures=0) == 0
    assert exit_status(1, [passing], other_failures=0) == 0  # errored cases within budget
    assert exit_status(1, [passing], other_failures=1) == 1  # an ordinary test failed
    assert exit_status(0, [passing, failing], other_failures=0) == 1
    assert exit_status(2, [passing], other_failures=0) == 2  # interrupted stays interrupted
