"""Anytime-valid decisions on a finite population: stop as soon as the answer is settled.

A gate asks about a *finite* population — "do at least k* of these N cases pass?" — and
reads the cases in a seeded random order, looking after every one. A fixed-sample interval
re-checked after each case is wrong far more often than its level; this module uses
*betting* test martingales for sampling without replacement instead (Waudby-Smith &
Ramdas, 2020, "Confidence sequences for sampling without replacement", NeurIPS; and 2024,
"Estimating means of bounded random variables by betting", JRSS-B 86(1)), which stay valid
under optional stopping by Ville's inequality: P(∃t: K_t ≥ 1/α) ≤ α for a nonnegative
supermartingale with K_0 = 1.

Values are integers 0..``scale`` (1 for pass/fail; 2 for paired differences D + 1). If
the population's total were exactly T, the i-th value (given the first i−1) would have
mean μ_i(T) = (T − S_{i−1}) / (scale · (N − i + 1)) on the [0, 1] scale — the mean of the
values not yet seen. Two capitals bet against the two null hypotheses a gate needs:

- ``up`` tests H0: total ≤ ``pass_null`` (e.g. k* − 1 passes): factor 1 + λ_i (x_i − μ_i),
  0 ≤ λ_i < 1/μ_i. Reaching 1/α_pass rejects it → PASS.
- ``down`` tests H0: total ≥ ``fail_null`` (e.g. k* passes): factor 1 − λ_i (x_i − μ_i),
  0 ≤ λ_i < 1/(1 − μ_i). Reaching 1/α_fail rejects it → FAIL.

At the boundary total each capital is a test martingale. For a total farther inside its
null (fewer passes for ``up``, more for ``down``) the true conditional mean lies on the
losing side of μ_i, so each factor has expectation at most 1: the capital is a
*supermartingale*, smaller on average than at the boundary, and Ville's inequality still
bounds each one-sided error by its α.

**Errored cases are never evidence.** Each case brings two values: ``low`` (least
favourable to PASS — an error counts as a fail) and ``high`` (least favourable to FAIL —
an error counts as a pass). The PASS side bets on ``low`` and the FAIL side on ``high``;
both lie on the conservative side of the truth, so the guarantees above hold and an
outage can settle neither side. Counting settles what no later case can change:
Σlow > ``pass_null`` is a PASS, Σhigh + (all unseen cases at their maximum) < ``fail_null``
a FAIL.

Bets λ_i are predictable (they use only earlier cases). ``kelly`` plugs a smoothed running
estimate p̂ into the Bernoulli Kelly bet (p̂ − μ) / (μ(1 − μ)), capped at three quarters of
the allowed range so one unlucky case early on cannot ruin it (a plug-in bet in the spirit of
the predictable plug-in strategies of Waudby-Smith & Ramdas, 2024, §5); ``mixture``
averages the capitals of fixed fractions of the range, robust while p̂ is still noisy;
``hedged`` (the default) averages the two — an average of test supermartingales is one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Decision = Literal["PASS", "FAIL"]
STRATEGIES = ("kelly", "mixture", "hedged")
MIXTURE_FRACTIONS = (0.05, 0.1, 0.2, 0.35, 0.5)
"""Fractions of the allowed bet the mixture holds at once, robust while the running
estimate is noisy (tuned on the shared GSM8K/ChemBench outcomes; see bench/conformance.py)."""
_MIXTURE_SIZE = len(MIXTURE_FRACTIONS)
KELLY_CAP = 0.75
"""Largest fraction of the allowed bet the plug-in Kelly bet may take: below 1, so one
unlucky case cannot ruin it; high enough that a long one-sided run (an all-pass suite)
settles in few cases (53 at τ = 0.9, α = 0.05)."""


@dataclass
class _Capital:
    """Capital of each betting strategy, for one direction."""

    kelly: float = 1.0
    mixture: list[float] = field(default_factory=lambda: [1.0] * len(MIXTURE_FRACTIONS))

    def value(self, strategy: str) -> float:
        if strategy == "kelly":
            return self.kelly
        mixture = sum(self.mixture) / _MIXTURE_SIZE
        if strategy == "mixture":
            return mixture
        return 0.5 * (self.kelly + mixture)


@dataclass
class BettingTest:
    """Decide a finite population's total against two boundaries, one case at a time.

    ``pass_null`` / ``fail_null`` are totals in units of the values (integers 0..scale);
    None disables a side. ``bet_fail`` False makes the FAIL side settle by counting only.
    """

    population: int
    pass_null: int | None
    fail_null: int | None
    alpha_pass: float = 0.05
    alpha_fail: float = 0.05
    scale: int = 1
    bet_fail: bool = True
    strategy: str = "hedged"
    seen: int = 0
    low_total: int = 0
    """Σ of the values least favourable to PASS (errors as fails)."""
    high_total: int = 0
    """Σ of the values least favourable to FAIL (errors as passes)."""
    decision: Decision | None = None
    decided_at: int | None = None
    """How many cases the decision needed; None while undecided."""
    by_counting: bool = False
    """The decision is certain by counting (the passes already in, or every unseen case
    passing, settle it), not a bet at α."""
    up: _Capital = field(default_factory=_Capital)
    down: _Capital = field(default_factory=_Capital)

    def __post_init__(self) -> None:
        if self.population < 1:
            raise ValueError("population must be at least 1")
        for alpha in (self.alpha_pass, self.alpha_fail):
            if not 0 < alpha < 1:
                raise ValueError("alpha must be in (0, 1)")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}")
        self._decide()  # a boundary outside [0, N·scale] is settled before any case

    @property
    def remaining(self) -> int:
        return self.population - self.seen

    def update(self, low: int, high: int | None = None) -> Decision | None:
        """Take the next case in sampling order — ``low`` ≤ ``high`` in 0..scale, equal for
        a scored case — and return the decision so far (sticky once made)."""
        high = low if high is None else high
        if self.decision is not None:
            return self.decision
        if self.seen >= self.population:
            raise ValueError("more cases than the population")
        if not 0 <= low <= high <= self.scale:
            raise ValueError(f"values must satisfy 0 <= low <= high <= {self.scale}, got {low}, {high}")
        # The hot path of every suite: the bets inline, on local names.
        room = float(self.scale * (self.population - self.seen))
        smoothing = self.seen + 1.0
        if self.pass_null is not None:
            mu = (self.pass_null - self.low_total) / room
            if 0.0 < mu < 1.0:
                estimate = (self.low_total / self.scale + 0.5) / smoothing
                _bet(self.up, low / self.scale - mu, estimate - mu, 1.0 / mu, mu)
        if self.fail_null is not None and self.bet_fail:
            mu = (self.fail_null - self.high_total) / room
            if 0.0 < mu < 1.0:
                estimate = (self.high_total / self.scale + 0.5) / smoothing
                _bet(self.down, mu - high / self.scale, mu - estimate, 1.0 / (1.0 - mu), mu)
        self.seen += 1
        self.low_total += low
        self.high_total += high
        self._decide()
        return self.decision

    def capital(self, direction: Literal["up", "down"]) -> float:
        """The current capital of ``up`` (evidence for PASS) or ``down`` (for FAIL)."""
        return (self.up if direction == "up" else self.down).value(self.strategy)

    def _decide(self) -> None:
        most = self.high_total + self.scale * self.remaining
        if self.pass_null is not None and self.low_total > self.pass_null:
            self._settle("PASS", counted=True)  # the total is at least what is already in
        elif self.fail_null is not None and most < self.fail_null:
            self._settle("FAIL", counted=True)  # even every unseen case at its maximum cannot reach it
        elif self.pass_null is not None and self.up.value(self.strategy) >= 1.0 / self.alpha_pass:
            self._settle("PASS")
        elif self.fail_null is not None and self.down.value(self.strategy) >= 1.0 / self.alpha_fail:
            self._settle("FAIL")

    def _settle(self, decision: Decision, counted: bool = False) -> None:
        self.decision = decision
        self.decided_at = self.seen
        self.by_counting = counted


def _bet(capital: _Capital, gain: float, edge: float, limit: float, mu: float) -> None:
    """Multiply each strategy's capital by 1 + λ·gain, with λ in [0, limit)."""
    variance = mu * (1.0 - mu)
    kelly = max(0.0, min(KELLY_CAP * limit, edge / variance)) if variance > 0 else 0.0
    capital.kelly *= 1.0 + kelly * gain
    step = limit * gain
    capital.mixture = [value * (1.0 + fraction * step) for value, fraction in zip(capital.mixture, MIXTURE_FRACTIONS, strict=True)]


def confidence_bounds(
    values: Sequence[tuple[int, int]],
    population: int,
    alpha: float,
    scale: int = 1,
    strategy: str = "hedged",
    alpha_high: float | None = None,
) -> tuple[float, float]:
    """An anytime-valid interval for the population's mean on [0, 1] after ``values`` (in
    sampling order, ``(low, high)`` per case), the lower bound at level ``alpha`` and the
    upper at ``alpha_high`` (default ``alpha``) — matching the PASS and FAIL sides: the totals
    neither counting nor a capital betting against them (ever reaching 1/α) rule out — the
    same rule the gate decides by. The lower bound reads the ``low`` values, the upper the
    ``high`` ones. Exact when every case was seen and no value is uncertain."""
    most = population * scale
    lows = [low for low, _ in values]
    highs = [high for _, high in values]
    if len(values) >= population and lows == highs:
        return sum(lows) / most, sum(lows) / most
    # Capitals shrink as the tested total moves into their null (see the module docstring),
    # so "rejected" is monotone in the total and each bound is found by bisection.
    lowest = _first(lambda total: not _rejected(lows, population, scale, total, "up", alpha, strategy), sum(lows), most)
    possible = sum(highs) + scale * (population - len(values))
    upper_alpha = alpha if alpha_high is None else alpha_high
    highest = _last(lambda total: not _rejected(highs, population, scale, total, "down", upper_alpha, strategy), 0, possible)
    if lowest > highest:  # the two sides exclude each other (an unlucky order, chance ≤ 2α): counting only
        return sum(lows) / most, possible / most
    return lowest / most, highest / most


def _rejected(values: Sequence[int], population: int, scale: int, total: int, side: str, alpha: float, strategy: str) -> bool:
    """True when the capital betting against the population total ``total`` on ``side``
    ever reaches 1/α."""
    if side == "up":  # "the total is at most ``total``"
        test = BettingTest(population, total, None, alpha, alpha, scale, strategy=strategy)
    else:  # "the total is at least ``total``"
        test = BettingTest(population, None, total, alpha, alpha, scale, strategy=strategy)
    if test.decision is not None:
        return True
    for value in values:
        if test.update(value) is not None:
            return True
    return False


def _first(ok: Callable[[int], bool], low: int, high: int) -> int:
    """The smallest integer in [low, high] where ``ok`` holds (``high`` if none does)."""
    while low < high:
        middle = (low + high) // 2
        if ok(middle):
            high = middle
        else:
            low = middle + 1
    return low


def _last(ok: Callable[[int], bool], low: int, high: int) -> int:
    """The largest integer in [low, high] where ``ok`` holds (``low`` if none does)."""
    while low < high:
        middle = (low + high + 1) // 2
        if ok(middle):
            low = middle
        else:
            high = middle - 1
    return low


@dataclass
class BudgetTest:
    """Settles "at most ``budget`` of these ``planned`` cases error" while reading them.

    More errors seen than the budget is an exact FAIL. The PASS side tests H0: at least
    b + 1 of the P planned cases error, with a likelihood ratio of the sequence read so far:
    under "E of the P cases error", a given pattern of e errors in the first n cases has
    probability C(P − n, E − e) / C(P, E). The average over alternatives E1 ≤ b of
    P_E1(pattern) / P_{b+1}(pattern) is a test martingale under E = b + 1 (each ratio is
    one; an average of test martingales is one), and for more errors a pattern with few
    errors early is only less likely, so Ville's inequality bounds the chance of a wrong
    PASS by α. With b = 0 the ratio is P / (P − n) while no error shows: a PASS after
    (1 − α)·P clean cases — the exact answer (a betting test needs nearly all of them).
    """

    planned: int
    budget: int
    alpha: float = 0.05
    seen: int = 0
    errors: int = 0
    decision: Decision | None = None
    decided_at: int | None = None
    alternatives: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        steps = min(self.budget + 1, 16)  # a grid of alternatives keeps each update cheap
        self.alternatives = tuple(sorted({round(i * self.budget / max(steps - 1, 1)) for i in range(steps)}))
        if self.budget >= self.planned:
            self.decision, self.decided_at = "PASS", 0  # every case may error

    def update(self, errored: bool) -> Decision | None:
        """Read the next case; the decision so far (sticky)."""
        if self.decision is not None:
            return self.decision
        self.seen += 1
        self.errors += errored
        if self.errors > self.budget:
            self.decision = "FAIL"
        elif self.seen >= self.planned or self._ratio() >= 1.0 / self.alpha:
            self.decision = "PASS"
        if self.decision is not None:
            self.decided_at = self.seen
        return self.decision

    def _ratio(self) -> float:
        null = _log_pattern(self.planned, self.budget + 1, self.seen, self.errors)
        if null == -math.inf:
            return math.inf  # the pattern read is impossible with b + 1 errors among the cases
        total = sum(
            math.exp(_log_pattern(self.planned, alternative, self.seen, self.errors) - null)
            for alternative in self.alternatives
            if alternative >= self.errors
        )
        return total / len(self.alternatives)


def _log_pattern(planned: int, errors: int, seen: int, seen_errors: int) -> float:
    """log P(a given pattern of ``seen_errors`` errors in the first ``seen`` cases) when
    ``errors`` of the ``planned`` cases error: log C(P − n, E − e) − log C(P, E)."""
    return _log_choose(planned - seen, errors - seen_errors) - _log_choose(planned, errors)


def _log_choose(n: int, k: int) -> float:
    if k < 0 or k > n:
        return -math.inf
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
