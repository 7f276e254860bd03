"""Verdicts on a judge's opinion, corrected for the judge's own errors.

A model-graded pass rate is the judge's opinion, not the truth. With people's labels on some
outputs (``judge_labels``) the judge's errors are measured: its *sensitivity* s (it passes what
people pass) and its *false-pass rate* f = 1 − specificity (it passes what people fail). If the
true pass rate of the inputs is π, the judge passes a share q = π·s + (1 − π)·f of them, so

    π = (q − f) / (s − f)                      (Rogan & Gladen, 1978, Am. J. Epidemiol. 107(1))

— defined while the judge beats chance (s > f). evalgate does not plug point estimates into it.
It decides with bounds that hold together:

- q, the judged rate of the distribution the cases sample, by the anytime-valid test of
  :mod:`evalgate.verdict.distribution` at α/2 per side (valid under early stopping);
- s and f by exact Clopper–Pearson bounds from the labels (Clopper & Pearson, 1934,
  Biometrika 26(4)) at α/4 each. The labels are read once, before the run: their bounds do
  not change while the run looks, so the union bound keeps the whole statement anytime-valid.

"π ≥ τ" holds for every (s, f) in the bounds exactly when q ≥ τ·s_hi + (1 − τ)·f_hi, and "π < τ"
when q < τ·s_lo + (1 − τ)·f_lo: the gate is the distribution test of the judged verdicts with
those two boundaries. A wrong PASS needs the q test wrong (α/2) or an upper bound of s or f wrong
(α/4 each): at most α; likewise for FAIL at its own α. The interval of π maps q's interval
through the corners of the (s, f) box (π is linear-fractional in s and f, so its extremes over
the box are at corners). What the correction assumes: the labelled outputs are a random sample
of outputs like the ones judged (the judge errs on them as on the run's).

A judge the labels cannot tell from chance (s_lo ≤ f_hi), that answered one class on every
label, or labels that hold one class only, cannot gate: the verdict is ERROR, never PASS.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ConfigDict, computed_field

from evalgate.derived import Derived

PREVALENCE_WARNING = 0.15
"""Below this share of people-passed (or people-failed) labels, κ misleads (the κ paradox)."""


@dataclass(frozen=True)
class JudgeCalibration(Derived):
    """The judge against people on the labelled outputs it could judge."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    true_pass: int
    """People pass, the judge passes."""
    missed_pass: int
    """People pass, the judge fails."""
    false_pass: int
    """People fail, the judge passes."""
    true_fail: int
    """People fail, the judge fails."""

    @property
    def labels(self) -> int:
        return self.true_pass + self.missed_pass + self.false_pass + self.true_fail

    @property
    def people_pass(self) -> int:
        return self.true_pass + self.missed_pass

    @property
    def people_fail(self) -> int:
        return self.false_pass + self.true_fail

    @property
    def judge_pass(self) -> int:
        return self.true_pass + self.false_pass

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sensitivity(self) -> float | None:
        """s: the share of people-passed outputs the judge passes."""
        return self.true_pass / self.people_pass if self.people_pass else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def specificity(self) -> float | None:
        """1 − f: the share of people-failed outputs the judge fails."""
        return self.true_fail / self.people_fail if self.people_fail else None

    def sensitivity_bounds(self, alpha: float) -> tuple[float, float]:
        """One-sided Clopper–Pearson bounds for s, each at ``alpha``."""
        return clopper_pearson(self.true_pass, self.people_pass, alpha)

    def false_pass_bounds(self, alpha: float) -> tuple[float, float]:
        """One-sided Clopper–Pearson bounds for f = 1 − specificity, each at ``alpha``."""
        return clopper_pearson(self.false_pass, self.people_fail, alpha)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def kappa(self) -> float | None:
        """Cohen's κ: agreement beyond chance, from each rater's own marginals."""
        n = self.labels
        if not n:
            return None
        observed = (self.true_pass + self.true_fail) / n
        chance = (self.judge_pass * self.people_pass + (n - self.judge_pass) * (n - self.people_pass)) / (n * n)
        return 1.0 if chance == 1 else (observed - chance) / (1 - chance)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ac1(self) -> float | None:
        """Gwet's AC1 (Gwet, 2008, Br. J. Math. Stat. Psychol. 61(1)): agreement beyond chance
        with chance from the raters' *mean* marginal, which does not collapse when nearly every
        output is one class (where κ does: the "κ paradox")."""
        n = self.labels
        if not n:
            return None
        observed = (self.true_pass + self.true_fail) / n
        share = (self.judge_pass + self.people_pass) / (2 * n)
        chance = 2 * share * (1 - share)
        return 1.0 if chance == 1 else (observed - chance) / (1 - chance)

    def prevalence_warning(self) -> str | None:
        """A warning when the labels are so skewed that κ misleads."""
        if not self.labels:
            return None
        share = self.people_pass / self.labels
        if min(share, 1 - share) < PREVALENCE_WARNING:
            return (f"{share:.0%} of the labels are passes: at such skew κ understates agreement (the κ paradox); "
                    f"read AC1 and the corrected interval, and label more outputs of the rare class")
        return None

    def refusal(self, alpha: float) -> str | None:
        """Why this judge's verdicts cannot gate at ``alpha`` (None when they can)."""
        if not self.people_pass or not self.people_fail:
            only = "pass" if self.people_pass else "fail"
            return (f"every one of the {self.labels} label(s) is a {only}: the judge's errors on the other class are "
                    "unknown; label outputs people fail and pass")
        if self.judge_pass in (0, self.labels):
            said = "pass" if self.judge_pass else "fail"
            return f"the judge answered '{said}' on every one of the {self.labels} labelled output(s): it cannot tell them apart"
        s_low, _ = self.sensitivity_bounds(alpha / 4)
        _, f_high = self.false_pass_bounds(alpha / 4)
        if s_low <= f_high:
            return (f"the judge is no better than chance on {self.labels} label(s) at α = {alpha:g}: it passes "
                    f"{self.true_pass} of {self.people_pass} outputs people pass and {self.false_pass} of {self.people_fail} "
                    f"they fail (sensitivity ≥ {s_low:.2f} is not above false-pass rate ≤ {f_high:.2f})")
        return None

    def describe(self) -> str:
        """One line: the judge's measured errors."""
        s, spec = self.sensitivity, self.specificity
        ac1, kappa = self.ac1, self.kappa
        return (f"{self.labels} label(s): sensitivity {_share(s)} ({self.true_pass}/{self.people_pass}), specificity "
                f"{_share(spec)} ({self.true_fail}/{self.people_fail}), Cohen's kappa {_num(kappa)}, Gwet's AC1 {_num(ac1)}")


@dataclass(frozen=True)
class JudgeCorrection(Derived):
    """What a verdict on a judge's opinion reports: the judged rate, the corrected one, and
    the judge's measured errors behind the correction."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    calibration: JudgeCalibration
    judged_rate: float | None
    """Share of the counted cases the judge passed (the raw, uncorrected rate)."""
    judged_interval: tuple[float, float]
    """The anytime-valid interval of the judged rate (at α/2 per side)."""
    sensitivity_interval: tuple[float, float]
    specificity_interval: tuple[float, float]
    warning: str | None = None
    """The labels' prevalence warning, when κ misleads at their skew."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def corrected_rate(self) -> float | None:
        """The Rogan–Gladen point estimate (verdicts use the bounds, not this)."""
        return None if self.judged_rate is None else corrected_estimate(self.judged_rate, self.calibration)


def correction(calibration: JudgeCalibration, judged_rate: float | None, judged_interval: tuple[float, float],
               alpha: float) -> JudgeCorrection:
    """The report of a corrected verdict (the judge's rates at ``alpha``/4 per end, as decided)."""
    s_low, s_high = calibration.sensitivity_bounds(alpha / 4)
    f_low, f_high = calibration.false_pass_bounds(alpha / 4)
    return JudgeCorrection(calibration, judged_rate, judged_interval, (s_low, s_high), (1 - f_high, 1 - f_low),
                           calibration.prevalence_warning())


def judged_boundaries(threshold: float, calibration: JudgeCalibration, alpha_pass: float,
                      alpha_fail: float) -> tuple[float, float]:
    """``(pass_null, fail_null)`` on the judged rate: PASS needs q above the first (π ≥ τ for
    every (s, f) within the bounds at ``alpha_pass``/4), FAIL q below the second."""
    _, s_high = calibration.sensitivity_bounds(alpha_pass / 4)
    _, f_high = calibration.false_pass_bounds(alpha_pass / 4)
    s_low, _ = calibration.sensitivity_bounds(alpha_fail / 4)
    f_low, _ = calibration.false_pass_bounds(alpha_fail / 4)
    return threshold * s_high + (1 - threshold) * f_high, threshold * s_low + (1 - threshold) * f_low


def corrected_bounds(judged: tuple[float, float], calibration: JudgeCalibration, alpha_low: float,
                     alpha_high: float) -> tuple[float, float]:
    """The interval of π from the judged rate's interval and the (s, f) bounds (at ``alpha_low``/4
    for the lower end, ``alpha_high``/4 for the upper), clipped to [0, 1]; ``(0, 1)`` while the
    bounds do not exclude chance."""
    low_box = (*calibration.sensitivity_bounds(alpha_low / 4), *calibration.false_pass_bounds(alpha_low / 4))
    high_box = (*calibration.sensitivity_bounds(alpha_high / 4), *calibration.false_pass_bounds(alpha_high / 4))
    lowest = _extreme(judged[0], low_box, lambda values: min(values))
    highest = _extreme(judged[1], high_box, lambda values: max(values))
    if lowest is None or highest is None:
        return 0.0, 1.0
    return max(0.0, min(1.0, lowest)), max(0.0, min(1.0, highest))


def corrected_estimate(judged_rate: float, calibration: JudgeCalibration) -> float | None:
    """The Rogan–Gladen point estimate (for reports; verdicts use the bounds), clipped to [0, 1]."""
    s, spec = calibration.sensitivity, calibration.specificity
    if s is None or spec is None or s + spec <= 1:
        return None
    return max(0.0, min(1.0, (judged_rate + spec - 1) / (s + spec - 1)))


def _extreme(judged: float, box: tuple[float, float, float, float],
             pick: Callable[[list[float]], float]) -> float | None:
    s_low, s_high, f_low, f_high = box
    if s_low <= f_high:
        return None  # a corner where the judge is no better than chance: π is unbounded there
    return pick([(judged - f) / (s - f) for s in (s_low, s_high) for f in (f_low, f_high)])


@functools.lru_cache(maxsize=4096)  # a verdict asks for the same few bounds many times
def clopper_pearson(successes: int, trials: int, alpha: float) -> tuple[float, float]:
    """Exact one-sided bounds for a binomial proportion, each at ``alpha``: the lower bound is
    the p with P(X ≥ k) = α, the upper the p with P(X ≤ k) = α (0 and 1 at the ends)."""
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be within 0..{trials}, got {successes}")
    if trials == 0:
        return 0.0, 1.0
    low = 0.0 if successes == 0 else _solve(lambda p: 1 - binomial_cdf(successes - 1, trials, p) - alpha)
    high = 1.0 if successes == trials else _solve(lambda p: alpha - binomial_cdf(successes, trials, p))
    return low, high


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X ≤ k) for X ~ Binomial(n, p), summed in log space (exact enough for n in the thousands)."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q for i in range(k + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(term - top) for term in terms))


def _solve(increasing: Callable[[float], float]) -> float:
    """The root in [0, 1] of an increasing function, by bisection."""
    low, high = 0.0, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        if increasing(middle) < 0:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
