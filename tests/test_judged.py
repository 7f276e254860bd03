"""Verdicts on a judge's opinion, corrected for the judge's errors (evalgate.verdict.judged)."""

from __future__ import annotations

import math
import random

import pytest
from conftest import make_spec

from evalgate.results import CaseResult
from evalgate.verdict.gate import Verdict, decide
from evalgate.verdict.judged import (
    JudgeCalibration,
    binomial_cdf,
    clopper_pearson,
    corrected_bounds,
    corrected_estimate,
    judged_boundaries,
)


def test_the_rogan_gladen_estimate_of_the_worked_example() -> None:
    """135 of 300 judged passes, a judge with sensitivity 0.90 and specificity 0.85: the rate
    people would give is 0.40, not the judge's 0.45."""
    calibration = JudgeCalibration(true_pass=45, missed_pass=5, false_pass=15, true_fail=85)
    assert calibration.sensitivity == pytest.approx(0.90) and calibration.specificity == pytest.approx(0.85)
    assert corrected_estimate(135 / 300, calibration) == pytest.approx(0.400)


def test_the_verdicts_judge_clause_is_the_documented_one() -> None:
    """docs/statistics.md quotes this clause: it is computed, not typed."""
    from conftest import REPO

    from evalgate.verdict.gate import _judge_text
    from evalgate.verdict.judged import correction

    clause = _judge_text(correction(JudgeCalibration(36, 4, 9, 51), 0.45, (0.4, 0.5), 0.05))
    assert clause == ("the judge passed 45.0% of the cases read, corrected 40.0% (sensitivity [0.74, 0.98], "
                      "specificity [0.72, 0.94] from 100 labels)")
    assert " ".join(clause.split()) in " ".join((REPO / "docs" / "statistics.md").read_text().split())


def test_clopper_pearson_bounds_match_their_closed_forms() -> None:
    for n in (1, 10, 57):
        low, high = clopper_pearson(0, n, 0.05)
        assert low == 0.0 and high == pytest.approx(1 - 0.05 ** (1 / n), abs=1e-9)
        low, high = clopper_pearson(n, n, 0.05)
        assert high == 1.0 and low == pytest.approx(0.05 ** (1 / n), abs=1e-9)
    low, high = clopper_pearson(45, 50, 0.025)  # the bound is where the tail probability is α
    assert 1 - binomial_cdf(44, 50, low) == pytest.approx(0.025, abs=1e-9)
    assert binomial_cdf(45, 50, high) == pytest.approx(0.025, abs=1e-9)


def test_binomial_cdf_is_the_exact_sum() -> None:
    n, p = 12, 0.3
    exact = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(5))
    assert binomial_cdf(4, n, p) == pytest.approx(exact, rel=1e-12)


def test_ac1_survives_the_kappa_paradox_and_skew_is_warned() -> None:
    """95 of 100 labels are passes and the judge agrees on 96: κ collapses, AC1 does not."""
    skewed = JudgeCalibration(true_pass=95, missed_pass=0, false_pass=4, true_fail=1)
    assert skewed.kappa is not None and skewed.kappa < 0.35
    assert skewed.ac1 is not None and skewed.ac1 > 0.95
    warning = skewed.prevalence_warning()
    assert warning is not None and "κ paradox" in warning
    assert JudgeCalibration(40, 10, 10, 40).prevalence_warning() is None


@pytest.mark.parametrize(
    ("calibration", "why"),
    [
        (JudgeCalibration(20, 0, 20, 0), "answered 'pass' on every one"),      # passes everything
        (JudgeCalibration(0, 20, 0, 20), "answered 'fail' on every one"),      # fails everything
        (JudgeCalibration(10, 10, 9, 11), "no better than chance"),            # TPR + TNR ≈ 1
        (JudgeCalibration(30, 0, 0, 0), "every one of the 30 label(s) is a pass"),
        (JudgeCalibration(2, 0, 0, 2), "no better than chance"),               # perfect, but 4 labels prove nothing at α
    ],
)
def test_a_judge_that_cannot_gate_is_refused(calibration: JudgeCalibration, why: str) -> None:
    refusal = calibration.refusal(0.05)
    assert refusal is not None and why in refusal


def test_a_good_judge_with_enough_labels_can_gate() -> None:
    assert JudgeCalibration(45, 5, 8, 42).refusal(0.05) is None


def judged_results(judged: list[bool]) -> list[CaseResult]:
    return [CaseResult(suite="s", case_id=f"c{i:04d}", passed=value, score=float(value)) for i, value in enumerate(judged)]


def simulate(truth_rate: float, sensitivity: float, false_pass: float, cases: int, rng: random.Random) -> list[bool]:
    """Judged verdicts of ``cases`` inputs whose true pass rate is ``truth_rate``."""
    out = []
    for _ in range(cases):
        truly = rng.random() < truth_rate
        out.append(rng.random() < (sensitivity if truly else false_pass))
    return out


def labels(sensitivity: float, false_pass: float, each: int, rng: random.Random) -> JudgeCalibration:
    hits = sum(rng.random() < sensitivity for _ in range(each))
    false = sum(rng.random() < false_pass for _ in range(each))
    return JudgeCalibration(hits, each - hits, false, each - false)


def test_a_judge_that_over_passes_cannot_turn_a_failing_suite_into_a_pass() -> None:
    """The truth is 0.40 < τ = 0.42; the judge (sensitivity 0.90, specificity 0.85) passes 0.45
    of the cases. Gated on the raw judged rate, a large suite PASSes; corrected, never."""
    rng = random.Random(7)
    raw_passes = corrected_passes = 0
    for _ in range(20):
        judged = simulate(0.40, 0.90, 0.15, 2000, rng)
        calibration = labels(0.90, 0.15, 200, rng)
        order = [f"c{i:04d}" for i in range(len(judged))]
        spec = make_spec(order, min_pass_rate=0.42, kind="distribution")
        raw = decide(spec, judged_results(judged))
        raw_passes += raw.verdict == Verdict.PASS
        corrected = decide(type(spec)(**{**spec.__dict__, "judge": calibration}), judged_results(judged))
        corrected_passes += corrected.verdict == Verdict.PASS
        assert corrected.judge is not None and "corrected for the judge's errors" in corrected.method
    assert raw_passes >= 10  # the raw judged rate (≈ 0.45) clears a bar the truth (0.40) does not
    assert corrected_passes == 0


def test_a_judged_suite_the_labels_leave_undecidable_is_an_error_not_a_warning() -> None:
    """Every planned case read, the judge's own verdicts clear τ, but 30 labels bound its errors
    so loosely that the corrected rate straddles τ: more cases cannot help, so the gate refuses
    (ERROR, blocks) instead of an UNDECIDED the default policy would let through. With a judged
    rate that does not settle on its own, it stays an ordinary UNDECIDED."""
    order = [f"c{i:04d}" for i in range(300)]
    spec = make_spec(order, min_pass_rate=0.6, kind="distribution")
    weak_labels = JudgeCalibration(14, 1, 2, 13)
    judged = judged_results([i % 10 < 8 for i in range(300)])  # 80 % judged passes: far above 0.6
    refused = decide(type(spec)(**{**spec.__dict__, "judge": weak_labels}), judged)
    assert refused.verdict == Verdict.ERROR and refused.blocks_merge
    assert "the judge's errors leave it undecidable" in refused.reason and "label more outputs" in refused.reason
    assert "30 labels" in refused.reason
    near = judged_results([i % 20 < 12 for i in range(300)])  # 60 % judged: the judged rate itself is unsettled
    undecided = decide(type(spec)(**{**spec.__dict__, "judge": weak_labels}), near)
    assert undecided.verdict == Verdict.UNDECIDED and not undecided.blocks_merge


def test_the_corrected_interval_covers_the_true_rate() -> None:
    """120 simulated runs (a judge of sensitivity 0.85 and specificity 0.80, 150 labels of each
    class, 600 judged cases): the corrected interval holds the true rate at least 1 − α of the time."""
    rng = random.Random(11)
    alpha, covered, runs = 0.05, 0, 120
    for _ in range(runs):
        truth = rng.uniform(0.2, 0.8)
        judged = simulate(truth, 0.85, 0.20, 600, rng)
        calibration = labels(0.85, 0.20, 150, rng)
        from evalgate.verdict.distribution import mean_bounds

        rate = mean_bounds([(int(v), int(v)) for v in judged], alpha / 2, alpha_high=alpha / 2)
        low, high = corrected_bounds(rate, calibration, alpha, alpha)
        covered += low <= truth <= high
    assert covered / runs >= 1 - alpha


def test_the_judged_boundaries_absorb_the_judges_errors() -> None:
    """PASS needs the judged rate above τ·s_hi + (1 − τ)·f_hi: the rate a perfect-on-its-bounds
    judge would give a suite exactly at τ."""
    calibration = JudgeCalibration(90, 10, 15, 85)
    pass_null, fail_null = judged_boundaries(0.5, calibration, 0.05, 0.05)
    s_high = calibration.sensitivity_bounds(0.0125)[1]
    f_high = calibration.false_pass_bounds(0.0125)[1]
    assert pass_null == pytest.approx(0.5 * s_high + 0.5 * f_high)
    assert fail_null < 0.5 * 0.9 + 0.5 * 0.15 < pass_null
