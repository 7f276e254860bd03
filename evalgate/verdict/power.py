"""Power before spend: the smallest difference a gate can settle with the cases it will read.

Asked before any call (``evalgate check``, ``evalgate plan``): with N cases at level α, how
far from τ must the pass rate be for the gate's own test to settle it — and is ``max_regression``
finer than the paired test can ever resolve? A gate that cannot settle what it asks only ever
says UNDECIDED, after spending every call.

The answer replays the gate's own test on an idealised run: cases whose outcomes hit a rate
exactly, spread evenly through the sampling order (case i passes when ⌊(i+1)·p⌋ > ⌊i·p⌋), so
the number is the test's, not a normal approximation's. It is the distance at which a typical
run settles, not a guarantee for every order. For a regression, the paired differences need
an assumption about how many cases flip between baseline and candidate: :data:`FLIPS` of them
(stated in every message).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from evalgate.verdict.distribution import MeanTest, Population
from evalgate.verdict.exact import required_paired_sum, required_passes
from evalgate.verdict.sequential import BettingTest

FLIPS = 0.1
"""Share of cases assumed to flip (pass ↔ fail) between baseline and candidate."""
STEP = Fraction(1, 200)
"""Resolution of the distances reported (half a percentage point)."""


@dataclass(frozen=True)
class Power:
    """What a gate can settle with the cases a tier reads."""

    cases: int
    """Cases the tier reads."""
    pass_from: float | None
    """The rate from which a PASS settles (None: not even at 100 %)."""
    fail_below: float | None
    """The rate below which a FAIL settles (None: not even at 0 %)."""


def pass_rate_power(kind: Population, cases: int, population: int, threshold: float,
                    alpha: float, alpha_fail: float) -> Power:
    """The rates from which the pass-rate gate settles PASS, and below which it settles FAIL,
    reading ``cases`` of a ``population`` (the suite's size) in sampling order."""
    tau = Fraction(str(threshold))

    def settles(rate: Fraction, wanted: str) -> bool:
        if kind == "distribution":
            test: BettingTest | MeanTest = MeanTest(cases, float(tau), float(tau), alpha, alpha_fail)
        else:
            required = required_passes(threshold, population)
            test = BettingTest(population, required - 1, required, alpha, alpha_fail)
        for index in range(cases):
            if test.decision is not None:
                break
            test.update(_hit(index, rate))
        return test.decision == wanted

    pass_from = _smallest(lambda d: settles(min(Fraction(1), tau + d), "PASS"), 1 - tau)
    fail_below = _smallest(lambda d: settles(max(Fraction(0), tau - d), "FAIL"), tau)
    return Power(cases, None if pass_from is None else float(min(Fraction(1), tau + pass_from)),
                 None if fail_below is None else float(max(Fraction(0), tau - fail_below)))


def regression_power(kind: Population, cases: int, population: int, max_regression: float,
                     alpha: float, alpha_fail: float, flips: float = FLIPS) -> float | None:
    """The smallest distance above the margin (Δ = −δ + d) at which the paired test settles a
    PASS, with ``flips`` of the cases discordant; None when even the clearest candidate cannot
    be settled with these cases."""
    delta = Fraction(str(max_regression))
    discordant = Fraction(str(flips))

    def settles(mean: Fraction) -> bool:
        if kind == "distribution":
            boundary = float((1 - delta) / 2)
            test: BettingTest | MeanTest = MeanTest(cases, boundary, boundary, alpha, alpha_fail, scale=2)
        else:
            required = required_paired_sum(max_regression, population)
            test = BettingTest(population, population + required - 1, population + required, alpha, alpha_fail, scale=2)
        for index in range(cases):
            if test.decision is not None:
                break
            test.update(_paired(index, mean, discordant))
        return test.decision == "PASS"

    found = _smallest(lambda d: settles(min(Fraction(1), d - delta)), 1 + delta)
    return None if found is None else float(found)


def needed_for(threshold: float, distance: float, alpha: float, alpha_fail: float, limit: int = 100_000) -> int | None:
    """About how many cases a distribution's pass-rate gate needs to settle a PASS at a rate
    ``distance`` above τ (doubling until it does), or None beyond ``limit``."""
    cases = 16
    while cases <= limit:
        power = pass_rate_power("distribution", cases, cases, threshold, alpha, alpha_fail)
        if power.pass_from is not None and power.pass_from - threshold <= distance + 1e-9:
            return cases
        cases *= 2
    return None


def _hit(index: int, rate: Fraction) -> int:
    """Case ``index`` of an evenly spread run at ``rate``: 1 (pass) or 0."""
    return int((index + 1) * rate // 1 > index * rate // 1)


def _paired(index: int, mean: Fraction, flips: Fraction) -> int:
    """D + 1 (0, 1 or 2) of case ``index`` of an evenly spread paired run whose differences
    average ``mean``, with ``flips`` of the cases discordant (at least |mean| of them)."""
    discordant = max(flips, abs(mean))
    better = (discordant + mean) / 2
    position = Fraction(index * 610, 987) % 1  # a low-discrepancy walk over [0, 1) (golden ratio)
    if position < better:
        return 2
    if position < discordant:
        return 0
    return 1


def _smallest(holds: object, most: Fraction) -> Fraction | None:
    """The smallest distance on the grid of :data:`STEP` in (0, ``most``] at which ``holds`` is
    true (monotone: a farther rate settles more easily), or None."""
    assert callable(holds)
    steps = int(most / STEP)
    if steps < 1 or not holds(most):
        return None
    low, high = 1, steps
    if not holds(high * STEP):
        return most
    while low < high:
        middle = (low + high) // 2
        if holds(middle * STEP):
            high = middle
        else:
            low = middle + 1
    return low * STEP
