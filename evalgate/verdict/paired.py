"""Baseline gates: is the candidate no worse than a baseline, on the same cases?

"No regression larger than δ" is a statement about the paired difference
Δ = rate(candidate) − rate(baseline) over the suite's cases. Each case contributes
D = x_candidate − x_baseline ∈ {−1, 0, 1}; (D + 1) / 2 lies in [0, 1] with mean (Δ + 1) / 2,
so the same anytime-valid betting test that gates pass rates (:mod:`evalgate.verdict.sequential`)
tests "Δ ≥ −δ" at threshold (1 − δ) / 2, valid however often it is checked. Only the
discordant cases move the statistic, as in McNemar's test, whose exact p-value (for
"no difference at all") is reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evalgate.verdict.sequential import SequentialTest, confidence_interval
from evalgate.verdict.stats import mcnemar_exact


@dataclass(frozen=True)
class Comparison:
    """A candidate-vs-baseline comparison on the cases both have."""

    pairs: int
    candidate_rate: float
    baseline_rate: float
    difference: float
    interval: tuple[float, float]
    """Anytime-valid interval for the difference over the paired cases."""
    max_regression: float
    decision: str | None
    """``PASS`` (no regression beyond δ), ``FAIL`` (a regression beyond δ), None (undecided)."""
    decided_at: int | None
    worse: int
    """Cases the baseline passed and the candidate failed."""
    better: int
    """Cases the candidate passed and the baseline failed."""
    mcnemar_p: float
    method: str = "paired anytime-valid betting test; exact McNemar p for Δ = 0"


def compare(
    order: Sequence[str],
    candidate: Mapping[str, bool | None],
    baseline: Mapping[str, bool],
    max_regression: float,
    alpha: float,
) -> Comparison:
    """The paired comparison over the cases of ``order`` (sampling order) that both sides
    have; errored candidate cases count as failed (``None``)."""
    paired = [case_id for case_id in order if case_id in baseline]
    population = len(paired)
    values: list[float] = []
    test = SequentialTest(max(population, 1), (1 - max_regression) / 2, alpha)
    worse = better = cand = base = 0
    for case_id in paired:
        if case_id not in candidate:
            break  # the prefix ends here
        x, y = bool(candidate[case_id]), baseline[case_id]
        cand, base = cand + x, base + y
        worse, better = worse + (y and not x), better + (x and not y)
        value = (int(x) - int(y) + 1) / 2
        values.append(value)
        if test.decision is None:
            test.update(value)
    seen = len(values)
    low, high = confidence_interval(values[: test.decided_at or seen], max(population, 1), alpha) if seen else (0.0, 1.0)
    return Comparison(
        pairs=seen,
        candidate_rate=cand / seen if seen else 0.0,
        baseline_rate=base / seen if seen else 0.0,
        difference=(cand - base) / seen if seen else 0.0,
        interval=(2 * low - 1, 2 * high - 1),
        max_regression=max_regression,
        decision=test.decision if seen else None,
        decided_at=test.decided_at,
        worse=worse,
        better=better,
        mcnemar_p=mcnemar_exact(worse, better),
    )
