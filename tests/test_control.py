"""Control variates: with a complete baseline, the pass-rate gate reads the paired cases and
needs far fewer of them — with the same guarantees (seeded simulations of the error rates)."""

from __future__ import annotations

import json
import random
import statistics

import pytest
from conftest import write_project

from evalgate.verdict.control import ControlVariateTest, control_bounds
from evalgate.verdict.exact import required_passes
from evalgate.verdict.monitor import pass_rate_test


def population(rng: random.Random, n: int, rate: float, flips: float) -> tuple[list[int], list[int]]:
    """A baseline with pass rate ``rate`` and a candidate with a share ``flips`` of its answers flipped."""
    baseline = [int(rng.random() < rate) for _ in range(n)]
    flipped = set(rng.sample(range(n), round(flips * n)))
    return baseline, [1 - x if i in flipped else x for i, x in enumerate(baseline)]


def read(test: ControlVariateTest, candidate: list[int], baseline: list[int], order: list[int]) -> int:
    for index in order:
        if test.update(candidate[index], baseline[index]) is not None:
            break
    return test.decided_at if test.decided_at is not None else len(order)


@pytest.mark.parametrize("flips", [0.02, 0.3])
def test_wrong_verdicts_stay_within_alpha_at_the_boundary(flips: float) -> None:
    """τ at the candidate's exact rate (truth PASS, the hardest case) and one pass above it
    (truth FAIL): 400 random orders each, wrong verdicts at most α = 0.1 — by a margin that a
    broken test (e.g. a bet that peeks at the current case) would not keep."""
    rng = random.Random(7)
    wrong = {"PASS": 0, "FAIL": 0}
    for _ in range(400):
        baseline, candidate = population(rng, 200, 0.6, flips)
        order = list(range(200))
        rng.shuffle(order)
        for required, truth in ((sum(candidate), "PASS"), (sum(candidate) + 1, "FAIL")):
            test = ControlVariateTest(200, required, sum(baseline), alpha_pass=0.1, alpha_fail=0.1)
            read(test, candidate, baseline, order)
            wrong[truth] += test.decision is not None and test.decision != truth
    assert wrong["PASS"] <= 0.1 * 400 and wrong["FAIL"] <= 0.1 * 400, wrong


def test_a_small_change_of_the_baseline_settles_in_a_fraction_of_the_cases_the_direct_test_needs() -> None:
    rng = random.Random(3)
    shares = {"direct": [], "control": []}
    for _ in range(40):
        baseline, candidate = population(rng, 1000, 0.55, 0.02)
        threshold = sum(candidate) / 1000 - 0.10
        order = list(range(1000))
        rng.shuffle(order)
        control = ControlVariateTest(1000, required_passes(threshold, 1000), sum(baseline))
        shares["control"].append(read(control, candidate, baseline, order))
        direct = pass_rate_test(1000, threshold)
        shares["direct"].append(next(i + 1 for i, index in enumerate(order) if direct.update(candidate[index]) is not None))
        assert control.decision == "PASS"
    assert statistics.fmean(shares["control"]) < 0.4 * statistics.fmean(shares["direct"]), shares


def test_the_interval_holds_the_truth_and_is_exact_when_every_case_was_read() -> None:
    rng = random.Random(5)
    baseline, candidate = population(rng, 300, 0.5, 0.05)
    order = list(range(300))
    rng.shuffle(order)
    pairs: list[tuple[int | None, int]] = [(candidate[i], baseline[i]) for i in order[:80]]
    low, high = control_bounds(pairs, 300, sum(baseline), 0.05)
    truth = sum(candidate) / 300
    assert low <= truth <= high and high - low < 0.2
    every: list[tuple[int | None, int]] = [(candidate[i], baseline[i]) for i in order]
    assert control_bounds(every, 300, sum(baseline), 0.05) == (truth, truth)
    errored = [(None, b) for _, b in pairs]  # errors are never evidence: nothing is ruled out
    assert control_bounds(errored, 300, sum(baseline), 0.05) == (0.0, 1.0)


def test_a_gate_with_a_complete_baseline_uses_it_as_a_control_variate(pytester: pytest.Pytester) -> None:
    rows = [{"id": f"case-{i:03d}", "input": f"q{i}", "expected": f"a{i}"} for i in range(400)]
    budget = {"max_error_rate": 0.05}  # an early PASS also needs the error budget settled: allow some
    write_project(pytester.path, rows=rows, correct=300, min_pass_rate=0.6, early_stop=True, gate=budget)
    assert pytester.runpytest("--eval-tier=complete", "--eval-report=base").ret == 0
    write_project(pytester.path, rows=rows, correct=296, min_pass_rate=0.6, early_stop=True,
                  gate={"baseline": "base/results.json", "max_regression": 0.5, **budget})
    pytester.runpytest("--eval-tier=full", "--eval-report=out", "--eval-no-cache")
    suite = json.loads((pytester.path / "out" / "results.json").read_text())["suites"][0]
    assert suite["verdict"] == "PASS" and "control variate" in suite["method"]
    low, high = suite["interval"]
    assert 0.6 <= low <= 296 / 400 <= high
    write_project(pytester.path, rows=rows, correct=296, min_pass_rate=0.6, early_stop=True, gate=budget)  # the direct test
    pytester.runpytest("--eval-tier=full", "--eval-report=direct", "--eval-no-cache")
    direct = json.loads((pytester.path / "direct" / "results.json").read_text())["suites"][0]
    assert direct["verdict"] == "PASS" and "control" not in direct["method"]
    # The error budget settles both at the same case here; on the same cases, the paired
    # reading pins the pass rate down far more tightly (its capital averages the control
    # variate's with the direct test's, so a baseline that does not help costs little).
    assert suite["counted"] <= direct["counted"]
    assert high - low < 0.6 * (direct["interval"][1] - direct["interval"][0])


def test_the_reports_picture_narrows_the_verdicts_own_interval() -> None:
    """report.html draws the interval after each prefix: with a control, the control's."""
    from conftest import make_result, make_spec

    from evalgate.verdict.gate import decide, interval_trajectory
    from evalgate.verdict.monitor import Baseline

    rng = random.Random(9)
    baseline, candidate = population(rng, 300, 0.6, 0.02)
    order = [f"c{i}" for i in range(300)]
    rng.shuffle(order)
    outcomes = {f"c{i}": "pass" if x else "fail" for i, x in enumerate(baseline)}
    spec = make_spec(order, min_pass_rate=0.4, max_errors=300, baseline=Baseline(outcomes, True, True, "main"), max_regression=0.5)
    spec = type(spec)(**{**spec.__dict__, "control": sum(baseline)})
    read = set(order[:150])  # a run that stopped half way
    results = [make_result(f"c{i}", bool(x)) for i, x in enumerate(candidate) if f"c{i}" in read]
    verdict = decide(spec, results)
    assert verdict.control == sum(baseline) and "control variate" in verdict.method
    last = interval_trajectory(verdict)[-1]
    assert last[0] == verdict.counted and (last[1], last[2]) == pytest.approx(verdict.interval)
