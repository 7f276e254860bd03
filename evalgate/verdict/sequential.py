"""Anytime-valid decisions on a finite suite: stop as soon as the verdict is settled.

The question a gate asks is about a *finite* population: "is the pass rate of these N
cases at least τ?". Cases are drawn without replacement in a seeded random order, and we
may look after every case. A fixed-sample interval re-checked after each case is wrong
about one time in three at the threshold; this module uses *betting* test martingales
for sampling without replacement instead (Waudby-Smith & Ramdas, 2020, "Confidence
sequences for sampling without replacement", NeurIPS; and 2023, "Estimating means of
bounded random variables by betting", JRSS-B), which stay valid under optional stopping
by Ville's inequality: P(∃t: K_t ≥ 1/α) ≤ α for a nonnegative martingale with K_0 = 1.

If the suite's pass rate were exactly m, the i-th case (given the first i−1) passes with
probability μ_i(m) = (N·m − S_{i−1}) / (N − i + 1), the rate among the cases not yet
seen. Two capitals bet against the threshold m = τ:

- ``up``  grows when cases pass more often than μ_i(τ): factor 1 + λ_i (x_i − μ_i),
  0 ≤ λ_i < 1/μ_i. Reaching 1/α rejects "rate ≤ τ" → PASS.
- ``down`` grows when they fail more often: factor 1 − λ_i (x_i − μ_i),
  0 ≤ λ_i < 1/(1 − μ_i). Reaching 1/α rejects "rate ≥ τ" → FAIL.

Each is a test martingale when the rate is τ, and for a rate farther on the null side
its capital is even larger, so each one-sided error is at most α. μ_i outside (0, 1)
means the data already settle the question exactly (e.g. the passes seen exceed N·τ).

Bets λ_i are predictable (they use only earlier cases). ``kelly`` plugs a smoothed
running estimate into the Kelly bet (p̂ − μ)/(μ(1 − μ)), capped at half of the
allowed range (the aGRAPA idea of Waudby-Smith & Ramdas, 2023); ``mixture`` averages
the capitals of fixed fractions of the range, which is robust when p̂ is still noisy.
The default, ``hedged``, averages the two (an average of test martingales is one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

STRATEGIES = ("kelly", "mixture", "hedged")
MIXTURE_FRACTIONS = (0.05, 0.1, 0.2, 0.35, 0.5)
KELLY_CAP = 0.5
"""Largest fraction of the allowed bet the plug-in Kelly bet may take (avoids ruin on
one unlucky case early on)."""


@dataclass
class _Capital:
    """Capital of one betting strategy, for one direction."""

    kelly: float = 1.0
    mixture: list[float] = field(default_factory=lambda: [1.0] * len(MIXTURE_FRACTIONS))


@dataclass
class SequentialTest:
    """Decide "pass rate ≥ threshold" for a suite of ``population`` cases, one case at a time."""

    population: int
    threshold: float
    alpha: float = 0.05
    strategy: str = "hedged"
    seen: int = 0
    passed: float = 0.0
    """Sum of the values seen (the number of passes for pass/fail outcomes)."""
    decision: str | None = None
    """``PASS``, ``FAIL`` or None (not yet decided)."""
    decided_at: int | None = None
    up: _Capital = field(default_factory=_Capital)
    down: _Capital = field(default_factory=_Capital)

    def __post_init__(self) -> None:
        if self.population < 1:
            raise ValueError("population must be at least 1")
        if not 0 < self.alpha < 1:
            raise ValueError("alpha must be in (0, 1)")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}")

    def update(self, value: bool | float) -> str | None:
        """Take the next case in sampling order — a pass/fail, or any value in [0, 1] —
        and return the decision so far (sticky once made)."""
        if self.decision is not None:
            return self.decision
        if self.seen >= self.population:
            raise ValueError("more cases than the population")
        x = float(value)
        if not 0.0 <= x <= 1.0:
            raise ValueError(f"values must lie in [0, 1], got {value!r}")
        _wager(self.up, self.down, self.population, self.threshold, self.seen, self.passed, x)
        self.seen += 1
        self.passed += x
        self._decide()
        return self.decision

    def capital(self, direction: str) -> float:
        """The current capital of ``up`` (evidence for PASS) or ``down`` (for FAIL)."""
        return _value(self.up if direction == "up" else self.down, self.strategy)

    def _decide(self) -> None:
        if self.seen == self.population:
            self._settle("PASS" if self.passed >= self.threshold * self.population else "FAIL")
            return
        # Settled by counting alone: enough passes already, or too few cases left to reach τ.
        if self.passed >= self.threshold * self.population:
            self._settle("PASS")
        elif self.passed + (self.population - self.seen) < self.threshold * self.population:
            self._settle("FAIL")
        elif self.capital("up") >= 1.0 / self.alpha:
            self._settle("PASS")
        elif self.capital("down") >= 1.0 / self.alpha:
            self._settle("FAIL")

    def _settle(self, decision: str) -> None:
        self.decision = decision
        self.decided_at = self.seen


def _wager(up: _Capital, down: _Capital, population: int, m: float, seen: int, passed: float, value: float) -> bool:
    """Both capitals bet on the next case against a suite pass rate of ``m``; False when
    μ, the rate the unseen cases would need, is outside (0, 1) (counting decides then)."""
    mu = (population * m - passed) / (population - seen)
    if not 0.0 < mu < 1.0:
        return False
    x = value
    estimate = (passed + 0.5) / (seen + 1.0)  # Krichevsky–Trofimov smoothing of the running rate
    _bet(up, x - mu, estimate - mu, 1.0 / mu, mu)
    _bet(down, mu - x, mu - estimate, 1.0 / (1.0 - mu), mu)
    return True


def _bet(capital: _Capital, gain: float, edge: float, limit: float, mu: float) -> None:
    """Multiply each strategy's capital by 1 + λ·gain, with λ in [0, limit)."""
    variance = mu * (1.0 - mu)
    kelly = max(0.0, min(KELLY_CAP * limit, edge / variance)) if variance > 0 else 0.0
    capital.kelly *= 1.0 + kelly * gain
    for index, fraction in enumerate(MIXTURE_FRACTIONS):
        capital.mixture[index] *= 1.0 + fraction * limit * gain


def _value(capital: _Capital, strategy: str) -> float:
    mixture = sum(capital.mixture) / len(capital.mixture)
    if strategy == "kelly":
        return capital.kelly
    if strategy == "mixture":
        return mixture
    return 0.5 * (capital.kelly + mixture)


def confidence_interval(
    outcomes: Sequence[bool | float], population: int, alpha: float = 0.05, strategy: str = "hedged", grid: int = 200
) -> tuple[float, float]:
    """An anytime-valid confidence interval for the suite's pass rate after ``outcomes``
    (in sampling order), each bound at level ``alpha`` (so 1 − 2α two-sided): the rates m
    on a grid that the data do not rule out, neither by counting nor by a capital betting
    against m having ever reached 1/α — the same rule the gate decides by, so a PASS has
    its lower bound at or above the threshold (up to the grid step). Exact ([rate, rate])
    when every case was seen."""
    if len(outcomes) >= population:
        rate = sum(outcomes) / population
        return rate, rate
    passed = sum(outcomes)
    remaining = population - len(outcomes)
    kept = [
        step / grid
        for step in range(grid + 1)
        if passed <= step / grid * population <= passed + remaining  # still possible by counting
        and not _ever_rejected(outcomes, population, step / grid, 1.0 / alpha, strategy)
    ]
    if not kept:
        return passed / population, (passed + remaining) / population
    # Widen by one grid step: the true rate may sit between a kept and a rejected point.
    return max(0.0, kept[0] - 1.0 / grid), min(1.0, kept[-1] + 1.0 / grid)


def _ever_rejected(outcomes: Sequence[bool | float], population: int, m: float, bar: float, strategy: str) -> bool:
    """True when either capital betting against a pass rate of ``m`` reaches ``bar``."""
    up, down = _Capital(), _Capital()
    seen, passed = 0, 0.0
    for outcome in outcomes:
        if _wager(up, down, population, m, seen, passed, float(outcome)) and max(
            _value(up, strategy), _value(down, strategy)
        ) >= bar:
            return True
        seen += 1
        passed += float(outcome)
    return False
