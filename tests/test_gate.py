"""Verdicts: exact numbers, the population a verdict is about, error budgets, baselines,
family-wise α, UNDECIDED — and one decision path for the live early stop and the report.

Each defect of the "a gate is never confidently wrong" issue has a regression test here
(the seeded simulations check error rates against α with a margin of about two binomial
standard errors)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import make_case, make_result, make_spec
from hypothesis import given, settings
from hypothesis import strategies as st

from evalgate.config import TierConfig
from evalgate.project import load_tiers
from evalgate.results import CaseError, CaseResult
from evalgate.run.sampling import cases_for_tier
from evalgate.verdict.exact import error_budget, required_paired_sum, required_passes
from evalgate.verdict.gate import Verdict, decide, exit_status
from evalgate.verdict.monitor import Baseline, SuiteMonitor
from evalgate.verdict.outcomes import PrefixReader

ORDER = [f"c{i}" for i in range(12)]


def results_for(outcomes: list[str], prefix: str = "c") -> list[CaseResult]:
    """One result per case ``c0, c1, …``: "pass", "fail" or "error"."""
    return [
        make_result(f"{prefix}{i}", outcome == "pass", error="timeout" if outcome == "error" else None)
        for i, outcome in enumerate(outcomes)
    ]


def shuffled(outcomes: list[str], rng: random.Random) -> list[str]:
    copy = outcomes[:]
    rng.shuffle(copy)
    return copy


def settle(monitor: SuiteMonitor, outcomes: list[str]) -> SuiteMonitor:
    """Feed the monitor its cases in order until it settles (or they run out)."""
    for case_id, outcome in zip(monitor.spec.order, outcomes, strict=False):
        if monitor.add(case_id, outcome) is not None:  # type: ignore[arg-type]
            break
    return monitor


def wrong_rate(runs: int, seed: int, make: object) -> float:
    rng = random.Random(seed)
    wrong = sum(bool(make(rng)) for _ in range(runs))  # type: ignore[operator]
    return wrong / runs


# --- exact thresholds ------------------------------------------------------------------


def test_required_counts_use_the_decimal_as_written() -> None:
    assert 0.55 * 100 > 55  # the trap: 55.00000000000001
    assert required_passes(0.55, 100) == 55 and required_passes(0.9, 10) == 9 and required_passes(0.7, 3) == 3
    assert required_passes(0.0, 7) == 0 and required_passes(1.0, 7) == 7
    assert required_paired_sum(0.02, 100) == -2 and required_paired_sum(0.0, 50) == 0
    assert error_budget(None, 0.01, 350) == 3 and error_budget(2, None, 10) == 2 and error_budget(None, None, 9) is None


def test_a_suite_exactly_at_the_threshold_passes() -> None:
    outcomes = ["pass"] * 55 + ["fail"] * 45
    order = [f"c{i}" for i in range(100)]
    verdict = decide(make_spec(order, min_pass_rate=0.55), results_for(outcomes))
    assert verdict.verdict == Verdict.PASS and verdict.required == 55
    assert verdict.reason == "pass rate 55.0% ≥ 55.0% (all 100 cases; 55 pass, 55 needed)"


def test_at_the_threshold_early_stopping_rarely_fails_it() -> None:
    """Defect 1: 55 of 100 at τ = 0.55 was FAIL in 5 of 6 seeds (97.9 % in simulation)."""
    order = [f"c{i}" for i in range(100)]

    def wrong(rng: random.Random) -> bool:
        outcomes = shuffled(["pass"] * 55 + ["fail"] * 45, rng)
        return settle(SuiteMonitor(make_spec(order, min_pass_rate=0.55)), outcomes).decision == "FAIL"

    assert wrong_rate(400, 1, wrong) <= 0.05 + 2 * (0.05 * 0.95 / 400) ** 0.5


# --- the population a verdict is about -------------------------------------------------


def test_a_selection_is_the_population_and_the_verdict_says_so() -> None:
    """Defect 2: -k hard on a 300-case suite was FAIL "settled after 5 of 300" from 37 cases."""
    selected = [f"c{i}" for i in range(37)]
    outcomes = ["pass"] * 20 + ["fail"] * 17
    verdict = decide(make_spec(selected, population=37, selected=True, min_pass_rate=0.7), results_for(outcomes))
    assert verdict.population == 37 and verdict.selected
    assert verdict.verdict == Verdict.FAIL and verdict.exact
    assert "(the 37 selected cases; 20 pass, 26 needed)" in verdict.reason


def test_a_capped_sample_is_about_the_suite() -> None:
    order = [f"c{i}" for i in range(20)]
    verdict = decide(make_spec(order, population=300, min_pass_rate=0.8), results_for(["pass"] * 17 + ["fail"] * 3))
    assert verdict.verdict == Verdict.UNDECIDED and verdict.population == 300 and not verdict.blocks_merge
    assert verdict.reason.startswith("a sample of 20 of 300 cases cannot settle pass rate ≥ 80.0% at α = 0.05 (estimate 85.0%)")
    assert "policy 'warn' does not block" in verdict.reason and verdict.more_needed is not None
    assert verdict.saved_by_sampling == 280 and verdict.method == "anytime-valid 90% CS"


def test_capped_stratified_samples_are_not_biased() -> None:
    """Defect 3: a floor of one case per tag over-sampled ten single-case failing tags:
    290 cases at 90 % + 10 failing singletons (87 %), τ = 0.8, smoke 20 → FAIL in 500 of 500."""
    big = [make_case(f"big{i}", tags=("common",)) for i in range(290)]
    small = [make_case(f"tag{i}", tags=(f"rare{i}",)) for i in range(10)]
    passing = {case.id for case in big[:261]}  # 261 / 290 = 90 %
    fails = 0
    for seed in range(200):
        sample = cases_for_tier(big + small, TierConfig(sample=20), seed, stratify=True)
        order = [case.id for case in sample]
        results = [make_result(case_id, case_id in passing) for case_id in order]
        fails += decide(make_spec(order, population=300, min_pass_rate=0.8), results).verdict == Verdict.FAIL
    assert fails / 200 <= 0.05


# --- errors: never evidence, and a budget an early stop respects -------------------------


def test_an_outage_is_an_error_with_the_first_error_never_a_fail() -> None:
    """Defect 7: with the endpoint down the verdict read "FAIL — pass rate < 90 %: settled after 2 of 30"."""
    order = [f"c{i}" for i in range(30)]
    monitor = SuiteMonitor(make_spec(order, min_pass_rate=0.9, max_errors=5))
    decisions = [monitor.add(case_id, "error") for case_id in order[:5]]
    assert decisions == [None] * 5  # five errors fit the budget and are evidence of nothing
    assert monitor.add(order[5], "error") == "ERROR"
    results = [CaseResult(suite="s", case_id=case_id, error=CaseError(kind="connection", message="cannot connect")) for case_id in order[:6]]
    verdict = decide(make_spec(order, min_pass_rate=0.9, max_errors=5), results)
    assert verdict.verdict == Verdict.ERROR and verdict.blocks_merge
    assert verdict.reason == "6 errored case(s) exceed the error budget of 5 (max_errors); first error: cannot connect"
    every = decide(make_spec(order[:6], min_pass_rate=0.9, max_errors=6), results)
    assert every.verdict == Verdict.ERROR and every.reason.startswith("no case could be scored")


def test_an_early_pass_respects_the_error_budget() -> None:
    """Defect 6: persistent errors, max_errors = 80: PASS at 184 of 300 with 61 errors so far,
    while the whole run has 86 errors → ERROR. An early verdict must agree with the full run."""
    order = [f"c{i}" for i in range(300)]

    def wrong(rng: random.Random) -> bool:
        outcomes = shuffled(["error"] * 86 + ["pass"] * 200 + ["fail"] * 14, rng)
        return settle(SuiteMonitor(make_spec(order, min_pass_rate=0.5, max_errors=80)), outcomes).decision == "PASS"

    assert wrong_rate(300, 2, wrong) <= 0.05


def test_a_zero_budget_needs_almost_every_case_before_an_early_pass() -> None:
    order = [f"c{i}" for i in range(200)]
    monitor = SuiteMonitor(make_spec(order, min_pass_rate=0.5, max_errors=0))
    for case_id in order:
        if monitor.add(case_id, "pass"):
            break
    assert monitor.decision == "PASS" and monitor.decided_at is not None and monitor.decided_at >= 0.95 * 200 - 1
    generous = SuiteMonitor(make_spec(order, min_pass_rate=0.5, max_errors=20))
    for case_id in order:
        if generous.add(case_id, "pass"):
            break
    assert generous.decided_at is not None and generous.decided_at < 60  # 0 errors in 43: ≤ 20 in 200, at α


def test_errors_count_as_not_passed_when_every_case_ran() -> None:
    outcomes = ["pass"] * 9 + ["error"]
    within = decide(make_spec(ORDER[:10], max_errors=1), results_for(outcomes))
    assert (within.verdict, within.errors, within.scored, within.pass_rate) == (Verdict.PASS, 1, 9, 0.9)
    over = decide(make_spec(ORDER[:11], max_errors=1), results_for([*outcomes, "error"]))
    assert over.verdict == Verdict.ERROR and "exceed the error budget of 1" in over.reason


# --- baselines ----------------------------------------------------------------------------


def baseline_of(outcomes: dict[str, str], complete: bool = True, random_sample: bool = True) -> Baseline:
    return Baseline(outcomes, complete=complete, random=random_sample, source="base.json")  # type: ignore[arg-type]


def test_an_identical_candidate_on_a_capped_tier_is_never_blocked() -> None:
    """Defect 4: on smoke, a candidate identical to its baseline was blocked 34–47 % of the time."""
    rng = random.Random(4)
    suite = [f"c{i}" for i in range(300)]
    truth = {case: "pass" if rng.random() < 0.8 else "fail" for case in suite}
    blocked = 0
    for _ in range(100):
        sample = rng.sample(suite, 20)
        spec = make_spec(sample, population=300, min_pass_rate=0.5, baseline=baseline_of(truth), max_regression=0.0)
        verdict = decide(spec, [make_result(case, truth[case] == "pass") for case in sample])
        blocked += verdict.blocks_merge
    assert blocked == 0


def test_a_short_baseline_cannot_pass_a_regression() -> None:
    """Defect 5: a baseline from an early-stopped run had 1 paired case: a −12.5 pt regression
    PASSed on "1 paired cases"; a +0.6 pt improvement FAILed with Δ = −100 %."""
    order = [f"c{i}" for i in range(200)]
    short = baseline_of({"c0": "pass"}, complete=False)
    candidate = ["fail"] + ["pass"] * 150 + ["fail"] * 49
    verdict = decide(make_spec(order, min_pass_rate=0.5, baseline=short, max_regression=0.02), results_for(candidate))
    assert verdict.verdict == Verdict.UNDECIDED and not verdict.blocks_merge
    assert verdict.baseline is not None and verdict.baseline.pairs == 1
    selected = baseline_of({f"c{i}": "pass" for i in range(50)}, complete=False, random_sample=False)
    refused = decide(make_spec(order, min_pass_rate=0.5, baseline=selected), results_for(candidate))
    assert refused.verdict == Verdict.UNDECIDED and "run the base with every case" in refused.reason


def test_a_complete_run_compares_exactly_and_alpha_is_split() -> None:
    """Defect 8: two gates at α each could block a passing suite with probability 2α."""
    order = [f"c{i}" for i in range(50)]
    base = baseline_of({case: "pass" for case in order})
    candidate = ["pass"] * 49 + ["fail"]
    verdict = decide(make_spec(order, min_pass_rate=0.5, baseline=base, max_regression=0.02), results_for(candidate))
    assert verdict.alpha_fail == pytest.approx(0.025) and verdict.baseline is not None
    assert verdict.baseline.exact and verdict.verdict == Verdict.PASS  # Δ = −2 % is within δ = 2 %
    worse = decide(make_spec(order, min_pass_rate=0.5, baseline=base, max_regression=0.02), results_for(["pass"] * 48 + ["fail"] * 2))
    assert worse.verdict == Verdict.FAIL and "regression vs baseline larger than 2.0%" in worse.reason


def test_two_gates_keep_the_suite_wide_false_block_rate() -> None:
    """A suite passing both gates (rate 0.56 at τ = 0.55, Δ = 0 at δ = 0) is blocked ≤ α."""
    order = [f"c{i}" for i in range(200)]

    def wrong(rng: random.Random) -> bool:
        outcomes = shuffled(["pass"] * 112 + ["fail"] * 88, rng)
        base = baseline_of(dict(zip(order, shuffled(outcomes, rng), strict=True)))
        return settle(SuiteMonitor(make_spec(order, min_pass_rate=0.55, baseline=base)), outcomes).decision == "FAIL"

    assert wrong_rate(300, 8, wrong) <= 0.05 + 2 * (0.05 * 0.95 / 300) ** 0.5


# --- undecided, skipped, incomplete, repeats, exit -----------------------------------------


def test_undecided_policies() -> None:
    sample = results_for(["pass"] * 17 + ["fail"] * 3)
    order = [f"c{i}" for i in range(20)]
    for policy, blocks in (("warn", False), ("fail", True), ("estimate", False)):
        verdict = decide(make_spec(order, population=300, undecided=policy), sample)
        assert verdict.verdict == Verdict.UNDECIDED and verdict.blocks_merge is blocks
    low = decide(make_spec(order, population=300, min_pass_rate=0.95, undecided="estimate"), sample)
    assert low.blocks_merge  # the estimate, below the bar — not settled evidence


def test_the_builtin_smoke_sample_settles_an_all_pass_suite_at_ninety_percent() -> None:
    smoke = load_tiers(Path("/nonexistent"))["smoke"]  # the built-in tiers only
    assert smoke.sample is not None
    order = [f"c{i}" for i in range(smoke.sample)]
    verdict = decide(make_spec(order, population=5000, min_pass_rate=0.9), results_for(["pass"] * smoke.sample))
    assert verdict.verdict == Verdict.PASS, verdict.reason


def test_incomplete_skipped_and_repeats() -> None:
    assert decide(make_spec(ORDER[:3]), [make_result("c0")]).verdict == Verdict.INCOMPLETE
    skipped = decide(make_spec([], population=3, skip_reason="not selected by this tier"), [])
    assert skipped.verdict == Verdict.SKIPPED and skipped.reason == "not selected by this tier" and not skipped.blocks_merge
    assert decide(make_spec([], population=3), []).reason == "none of its cases was collected (deselected by -k, -m or --lf, or outside the paths given)"
    two_of_three = [make_result("a", True, repeat=0), make_result("a", True, repeat=1), make_result("a", False, repeat=2)]
    one_of_two = [make_result("b", True, repeat=0), make_result("b", False, repeat=1), make_result("b", error="timeout", repeat=2)]
    verdict = decide(make_spec(["a", "b"], repeats=3, min_pass_rate=0.5), [*two_of_three, *one_of_two])
    assert (verdict.passed, verdict.scored, verdict.errors) == (1, 2, 0)


def test_a_clear_sample_settles_early_and_counts_what_it_saved() -> None:
    order = [f"c{i}" for i in range(1000)]
    results = results_for(["pass"] * 200)
    verdict = decide(make_spec(order, min_pass_rate=0.5, max_errors=100), results)
    assert verdict.verdict == Verdict.PASS and verdict.decided_at is not None and verdict.decided_at < 200
    assert verdict.saved_by_early_stop == 800 and verdict.saved_by_sampling == 0 and verdict.counted == verdict.decided_at
    assert f"settled after {verdict.decided_at} of 1000 cases (100.0% so far) by an anytime-valid test at α = 0.05" in verdict.reason


def test_exit_status() -> None:
    passing = decide(make_spec(["c0"]), [make_result("c0")])
    failing = decide(make_spec(["c0"]), [make_result("c0", False)])
    assert exit_status(0, [passing], other_failures=0) == 0
    assert exit_status(1, [passing], other_failures=0) == 0  # errored cases within budget
    assert exit_status(1, [passing], other_failures=1) == 1  # an ordinary test failed
    assert exit_status(0, [passing, failing], other_failures=0) == 1
    assert exit_status(2, [passing], other_failures=0) == 2  # interrupted stays interrupted


# --- one decision path ----------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.sampled_from(["pass", "pass", "pass", "fail", "error"]), min_size=1, max_size=80),
    st.integers(0, 10_000),
    st.sampled_from([0.3, 0.5, 0.7, 0.9]),
    st.integers(0, 4),
)
def test_the_live_early_stop_and_the_final_verdict_agree(outcomes: list[str], seed: int, tau: float, budget: int) -> None:
    """Results arrive in any order; the live monitor settles the suite at some point. The
    final verdict, made from exactly the results in by then, reaches the same decision
    after the same number of cases."""
    order = [f"c{i}" for i in range(len(outcomes))]
    spec = make_spec(order, population=len(order) + seed % 3 * 10, min_pass_rate=tau, max_errors=budget)
    results = results_for(outcomes)
    random.Random(seed).shuffle(results)
    reader, live = PrefixReader(spec.order, 1), SuiteMonitor(spec)
    arrived: list[CaseResult] = []
    for result in results:
        arrived.append(result)
        for case_id, outcome, _ in reader.add(result):
            live.add(case_id, outcome)
        if live.settled:
            break
    verdict = decide(spec, arrived)
    if live.settled and not verdict.exact:
        assert verdict.verdict == live.decision and verdict.decided_at in (live.decided_at, None)
    if not live.settled:
        assert verdict.verdict not in (Verdict.PASS, Verdict.FAIL) or verdict.exact


def test_a_suite_whose_every_case_was_deselected_is_skipped_not_a_crash() -> None:
    """``-k`` matching only another suite's cases leaves this one an empty selection."""
    verdict = decide(make_spec([], population=0, selected=True), [])
    assert verdict.verdict == Verdict.SKIPPED and "deselected" in verdict.reason


def test_results_json_writes_every_verdict_by_name() -> None:
    import typing

    from evalgate.verdict.gate import VerdictName

    assert set(typing.get_args(VerdictName)) == {verdict.value for verdict in Verdict}
