"""Verdicts about the distribution a suite samples, not about its N cases.

A suite of 300 cases can answer two questions. *Suite*: "do at least k* of **these** cases
pass?" — a finite population, settled exactly once every case ran
(:mod:`evalgate.verdict.sequential`). *Distribution*: "is the pass rate of the inputs this
suite samples — the ones users will send — at least τ?" — the cases are an i.i.d. sample of
that distribution, and no finite count is ever "exact" about it: 300 cases give an interval,
never a point.

The test is the same betting construction as the finite one, with the null's mean fixed
instead of moving with the cases left (sampling *with* replacement from an infinite
population; Waudby-Smith & Ramdas, 2024, "Estimating means of bounded random variables by
betting", JRSS-B 86(1), §3): for values on [0, 1],

- ``up`` tests H0: mean ≤ ``pass_null``: factor 1 + λ_i (x_i − m), 0 ≤ λ_i < 1/m;
- ``down`` tests H0: mean ≥ ``fail_null``: factor 1 − λ_i (x_i − m), 0 ≤ λ_i < 1/(1 − m);

with m the boundary. Each capital is a test supermartingale under its null (a martingale at
the boundary), so by Ville's inequality the chance it ever reaches 1/α is at most α,
however often the run looks: early stopping stays valid. There is no counting shortcut —
no number of cases read settles a statement about a distribution with certainty.

Gates use it for:

- the **pass rate**: PASS is evidence that the rate exceeds τ (H0: p ≤ τ rejected), FAIL that
  it falls short (H0: p ≥ τ rejected); a rate at τ settles neither and stays UNDECIDED;
- a **regression** against a baseline, as a non-inferiority test with margin δ on the paired
  differences D = candidate − baseline: FAIL needs evidence of a drop beyond δ (H0: Δ ≥ −δ
  rejected), PASS evidence of less (H0: Δ ≤ −δ rejected). With δ = 0 a drop nobody can tell
  from noise blocks nothing — the reviewer's "is this drop real?".

Errored cases count against each side as in the finite test (``low`` for PASS, ``high`` for
FAIL). Bets are the same hedged mixture of a plug-in Kelly bet and fixed fractions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from evalgate.verdict.sequential import STRATEGIES, Decision, _bet, _Capital

Population = Literal["suite", "distribution"]
RESOLUTION = 1e-4
"""How finely :func:`mean_bounds` locates an interval's ends on [0, 1]."""


@dataclass
class MeanTest:
    """Decide a distribution's mean against two boundaries (on [0, 1]), one case at a time.

    Values are integers 0..``scale`` (their mean is read on [0, 1]); ``pass_null`` /
    ``fail_null`` are means on [0, 1], None disabling a side. ``population`` is only the
    number of cases there are to read (the suite's), never a statement's subject.
    """

    population: int
    pass_null: float | None
    fail_null: float | None
    alpha_pass: float = 0.05
    alpha_fail: float = 0.05
    scale: int = 1
    strategy: str = "hedged"
    seen: int = 0
    low_total: int = 0
    high_total: int = 0
    decision: Decision | None = None
    decided_at: int | None = None
    by_counting: bool = False
    """Always False: a distribution is never known by counting its sample."""
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

    @property
    def remaining(self) -> int:
        return self.population - self.seen

    def update(self, low: int, high: int | None = None) -> Decision | None:
        """Take the next case — ``low`` ≤ ``high`` in 0..scale — and return the decision so far."""
        high = low if high is None else high
        if self.decision is not None:
            return self.decision
        if self.seen >= self.population:
            raise ValueError("more cases than the suite has")
        if not 0 <= low <= high <= self.scale:
            raise ValueError(f"values must satisfy 0 <= low <= high <= {self.scale}, got {low}, {high}")
        smoothing = self.seen + 1.0
        mu = self.pass_null
        if mu is not None and 0.0 < mu < 1.0:
            estimate = (self.low_total / self.scale + 0.5) / smoothing
            _bet(self.up, low / self.scale - mu, estimate - mu, 1.0 / mu, mu)
        mu = self.fail_null
        if mu is not None and 0.0 < mu < 1.0:
            estimate = (self.high_total / self.scale + 0.5) / smoothing
            _bet(self.down, mu - high / self.scale, mu - estimate, 1.0 / (1.0 - mu), mu)
        self.seen += 1
        self.low_total += low
        self.high_total += high
        if self.pass_null is not None and self.up.value(self.strategy) >= 1.0 / self.alpha_pass:
            self.decision, self.decided_at = "PASS", self.seen
        elif self.fail_null is not None and self.down.value(self.strategy) >= 1.0 / self.alpha_fail:
            self.decision, self.decided_at = "FAIL", self.seen
        return self.decision

    def capital(self, direction: Literal["up", "down"]) -> float:
        return (self.up if direction == "up" else self.down).value(self.strategy)


def mean_bounds(
    values: Sequence[tuple[int, int]], alpha: float, scale: int = 1, strategy: str = "hedged", alpha_high: float | None = None
) -> tuple[float, float]:
    """An anytime-valid interval for the distribution's mean on [0, 1] after ``values`` (in
    sampling order, ``(low, high)`` per case): the means that neither capital — the same tests
    the gate decides by — ever rejected. Never a point: the distribution is not the sample."""
    lows = [low for low, _ in values]
    highs = [high for _, high in values]
    if not values:
        return 0.0, 1.0
    count = len(values)
    upper_alpha = alpha if alpha_high is None else alpha_high

    def rejected_below(mean: float) -> bool:  # "the mean is at most ``mean``" rejected
        test = MeanTest(count, mean, None, alpha, alpha, scale, strategy)
        return any(test.update(value) is not None for value in lows)

    def rejected_above(mean: float) -> bool:  # "the mean is at least ``mean``" rejected
        test = MeanTest(count, None, mean, upper_alpha, upper_alpha, scale, strategy)
        return any(test.update(value) is not None for value in highs)

    lower = _boundary(rejected_below, 0.0, sum(lows) / (scale * count), toward_high=True)
    upper = _boundary(rejected_above, sum(highs) / (scale * count), 1.0, toward_high=False)
    return lower, max(lower, upper)


def _boundary(rejected: Callable[[float], bool], low: float, high: float, toward_high: bool) -> float:
    """The edge of the non-rejected means within [low, high], by bisection: rejection is
    monotone (a capital shrinks as the tested mean moves into its null)."""
    if toward_high:  # the smallest mean not rejected: rejected below it
        while high - low > RESOLUTION:
            middle = (low + high) / 2
            if rejected(middle):
                low = middle
            else:
                high = middle
        return high if rejected(low) else low
    while high - low > RESOLUTION:  # the largest mean not rejected: rejected above it
        middle = (low + high) / 2
        if rejected(middle):
            high = middle
        else:
            low = middle
    return low if rejected(high) else high
