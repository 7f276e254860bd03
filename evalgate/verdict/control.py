"""Control variates: a complete baseline run makes the absolute gate cheap.

"At least k* of the N cases pass" is a statement about the candidate's total S_c. When a
baseline run has every case of the population, its total S_b is known exactly, and for any
β the values Y_i = x_c,i − β·x_b,i have a known relation to S_c: read in a uniformly random
order without replacement, the next case's conditional mean under "S_c = T" is

    μ_t(T) = (T − Σ_{i<t} x_c,i) / (N − t + 1) − β · (S_b − Σ_{i<t} x_b,i) / (N − t + 1),

because the baseline's remaining total is known. So the betting test of
:mod:`evalgate.verdict.sequential` runs on Y instead of x_c: each capital multiplies by
1 ± λ_t (Y_t − μ_t) with λ_t and β_t chosen from earlier cases only (predictable), which keeps
it a test supermartingale under its null and Ville's inequality bounds each error by its α,
however often the run looks. β = 0 is the direct test; β = 1 tests the paired differences
D = x_c − x_b, where only the cases on which candidate and baseline disagree move the
capital — the usual situation for a pull request, which changes a few answers of main's
model. β_t is the running least-squares coefficient Cov(x_c, x_b) / Var(x_b) of the pairs
read so far (the classical optimal control variate; Glasserman, *Monte Carlo Methods in
Financial Engineering*, 2003, §4.1), started at 1 by a prior, so a candidate unlike its
baseline drifts back toward the direct test instead of paying for the pairing.

The bet is variance-adaptive: aGRAPA (Waudby-Smith & Ramdas, 2024, "Estimating means of
bounded random variables by betting", JRSS-B 86(1), §B.3), λ = (m̂ − μ) / (σ̂² + (m̂ − μ)²)
with running, smoothed estimates m̂ and σ̂² of Y's mean and variance, capped at
:data:`CAP` of the range that keeps the capital positive. With D mostly 0, σ̂² is tiny and
the bet is large; a Bernoulli-variance plug-in (the direct test's) would bet as if D were a
coin.

**Never much dearer than the direct test.** With an unrelated or anti-correlated baseline
(shuffled outcomes, changed data) the control variate only adds noise, and alone it cost up to
1.26× the direct test's cases. So each side's capital is the *average* of the control-variate
bet's and the direct bet's (:mod:`evalgate.verdict.sequential`'s, on the same reads): both are
test supermartingales under the same null and filtration, so their average is one, and it
reaches 1/α as soon as either reaches 2/α — a correlated baseline keeps most of its saving, an
unrelated one costs about what the direct test does (``bench/control.py`` measures both).

Errored candidate cases are never evidence: the PASS side reads them as fails (Y at its
least), the FAIL side as passes. A baseline's errored case is a known non-pass (S_b counts
passes), so it carries no uncertainty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from evalgate.verdict.sequential import Decision, _Capital
from evalgate.verdict.sequential import _bet as _direct_bet

CAP = 0.75
"""Largest share of the positivity range a bet may take (one unlucky case cannot ruin it)."""
PRIOR_PAIRS = 4.0
"""Pseudo-pairs behind the initial β = 1: a pull request's candidate is usually its baseline
with a few answers changed; real pairs outweigh the prior after a handful of cases."""


@dataclass
class ControlVariateTest:
    """Decide "the candidate's total over the N cases is ≥ ``required``" with a complete
    baseline whose total is ``baseline_passes``, one case (candidate, baseline) at a time."""

    population: int
    required: int
    baseline_passes: int
    alpha_pass: float = 0.05
    alpha_fail: float = 0.05
    sides: tuple[bool, bool] = (True, True)
    """Whether the PASS side and the FAIL side bet (an interval's bisection tests one)."""
    seen: int = 0
    low_total: int = 0
    """Candidate passes read (errors as fails)."""
    high_total: int = 0
    """Candidate passes read, errors as passes."""
    baseline_seen: int = 0
    """Baseline passes among the cases read."""
    pairs: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    """Counts of scored (candidate, baseline) pairs: index 2·x_c + x_b."""
    up: float = 1.0
    """The PASS side's control-variate capital (against "total ≤ required − 1")."""
    down: float = 1.0
    """The FAIL side's control-variate capital (against "total ≥ required")."""
    direct_up: _Capital = field(default_factory=_Capital)
    """The direct test's PASS-side capital on the same reads (averaged with ``up``)."""
    direct_down: _Capital = field(default_factory=_Capital)
    decision: Decision | None = None
    decided_at: int | None = None
    by_counting: bool = False
    """Settled by counting alone (certain), not by a bet at α."""

    def __post_init__(self) -> None:
        if self.population < 1:
            raise ValueError("population must be at least 1")
        if not 0 <= self.baseline_passes <= self.population:
            raise ValueError("the baseline's passes must lie in [0, population]")
        self._decide()

    @property
    def remaining(self) -> int:
        return self.population - self.seen

    def beta(self) -> float:
        """The control coefficient for the next case: Cov(x_c, x_b) / Var(x_b) over the
        scored pairs read, after a prior of agreeing pairs (β = 1), clipped to [0, 1]."""
        half = PRIOR_PAIRS / 2  # the prior: pairs that agree, half of them passing
        n00, n01, n10, n11 = self.pairs[0] + half, float(self.pairs[1]), float(self.pairs[2]), self.pairs[3] + half
        n = n00 + n01 + n10 + n11
        p_b, p_c = (n01 + n11) / n, (n10 + n11) / n
        variance = p_b * (1 - p_b)
        covariance = n11 / n - p_c * p_b
        return 0.0 if variance <= 0 else min(1.0, max(0.0, covariance / variance))

    def update(self, candidate: int | None, baseline: int) -> Decision | None:
        """Read the next case: the candidate's 1 (pass), 0 (fail) or None (errored), and the
        baseline's 1 (pass) or 0 (not). The decision so far (sticky)."""
        if self.decision is not None:
            return self.decision
        if self.seen >= self.population:
            raise ValueError("more cases than the population")
        left = float(self.population - self.seen)
        beta = self.beta()
        baseline_mean = (self.baseline_passes - self.baseline_seen) / left
        mean, variance = self._moments(beta)
        low = 0 if candidate is None else candidate
        high = 1 if candidate is None else candidate
        # The direct test's bets on the candidate alone (see the module docstring).
        smoothing = self.seen + 1.0
        direct = (self.required - 1 - self.low_total) / left
        if self.sides[0] and 0.0 < direct < 1.0:
            _direct_bet(self.direct_up, low - direct, (self.low_total + 0.5) / smoothing - direct, 1.0 / direct, direct)
        direct = (self.required - self.high_total) / left
        if self.sides[1] and 0.0 < direct < 1.0:
            _direct_bet(self.direct_down, direct - high, direct - (self.high_total + 0.5) / smoothing, 1.0 / (1.0 - direct), direct)
        # PASS side: H0 "total ≤ required − 1".
        mu = (self.required - 1 - self.low_total) / left - beta * baseline_mean
        if self.sides[0] and 0.0 < (self.required - 1 - self.low_total) / left < 1.0:
            self.up *= 1.0 + _bet(mean - mu, variance, 1.0 / (beta + mu)) * (low - beta * baseline - mu)
        # FAIL side: H0 "total ≥ required".
        mu = (self.required - self.high_total) / left - beta * baseline_mean
        if self.sides[1] and 0.0 < (self.required - self.high_total) / left < 1.0:
            self.down *= 1.0 - _bet(mu - mean, variance, 1.0 / (1.0 - mu)) * (high - beta * baseline - mu)
        self.seen += 1
        self.low_total += low
        self.high_total += high
        self.baseline_seen += baseline
        if candidate is not None:
            self.pairs[2 * candidate + baseline] += 1
        self._decide()
        return self.decision

    def _moments(self, beta: float) -> tuple[float, float]:
        """Smoothed running mean and variance of Y = x_c − β·x_b over the scored pairs."""
        n = sum(self.pairs)
        values = (0.0, -beta, 1.0, 1.0 - beta)
        if not n:
            return 0.5 - 0.5 * beta, 0.25
        mean = sum(count * value for count, value in zip(self.pairs, values, strict=True)) / n
        spread = sum(count * (value - mean) ** 2 for count, value in zip(self.pairs, values, strict=True))
        smoothed = (0.5 - 0.5 * beta + n * mean) / (n + 1)
        return smoothed, (0.25 + spread) / (n + 1)

    def _decide(self) -> None:
        if self.sides[0] and self.low_total >= self.required:
            self._settle("PASS", counted=True)  # already counted: no later case can take it back
        elif self.sides[1] and self.high_total + self.remaining < self.required:
            self._settle("FAIL", counted=True)
        elif self.capital("up") >= 1.0 / self.alpha_pass:
            self._settle("PASS")
        elif self.capital("down") >= 1.0 / self.alpha_fail:
            self._settle("FAIL")

    def capital(self, direction: str) -> float:
        """A side's capital: the average of the control-variate bet's and the direct bet's."""
        if direction == "up":
            return 0.5 * (self.up + self.direct_up.value("hedged"))
        return 0.5 * (self.down + self.direct_down.value("hedged"))

    def _settle(self, decision: Decision, counted: bool = False) -> None:
        self.decision = decision
        self.decided_at = self.seen
        self.by_counting = counted


def _bet(edge: float, variance: float, limit: float) -> float:
    """aGRAPA: edge / (variance + edge²), within [0, CAP · limit)."""
    if edge <= 0 or not math.isfinite(limit) or limit <= 0:
        return 0.0
    return min(CAP * limit, edge / (variance + edge * edge))


def control_bounds(
    pairs: Sequence[tuple[int | None, int]], population: int, baseline_passes: int, alpha: float, alpha_high: float | None = None
) -> tuple[float, float]:
    """An anytime-valid interval for the candidate's pass rate after reading ``pairs``
    (candidate 1/0/None, baseline 1/0) in sampling order: the totals the same test would not
    reject, found by bisection (rejection is monotone in the total, as in
    :func:`~evalgate.verdict.sequential.confidence_bounds`)."""
    upper_alpha = alpha if alpha_high is None else alpha_high
    lows = sum(candidate or 0 for candidate, _ in pairs)
    possible = sum(1 if candidate is None else candidate for candidate, _ in pairs) + population - len(pairs)
    if len(pairs) >= population and all(candidate is not None for candidate, _ in pairs):
        return lows / population, lows / population

    def rejected(total: int, side: str) -> bool:
        up = side == "up"
        test = ControlVariateTest(population, total + 1 if up else total, baseline_passes, alpha, upper_alpha, sides=(up, not up))
        for candidate, baseline in pairs:
            if test.update(candidate, baseline) is not None:
                break
        wanted = "PASS" if side == "up" else "FAIL"
        return test.decision == wanted

    low, high = lows, possible
    while low < high:  # the smallest total not rejected by "total ≤ t"
        middle = (low + high) // 2
        if rejected(middle, "up"):
            low = middle + 1
        else:
            high = middle
    lowest = low
    low, high = lowest, possible
    while low < high:  # the largest total not rejected by "total ≥ t"
        middle = (low + high + 1) // 2
        if rejected(middle, "down"):
            high = middle - 1
        else:
            low = middle
    return lowest / population, low / population
