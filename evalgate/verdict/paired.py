"""Baseline gates: is the candidate no worse than a baseline, on the same cases?

"No regression larger than δ" is a statement about the paired difference
Δ = rate(candidate) − rate(baseline): over the N cases of the suite (``suite``), or over the
distribution they sample (``distribution``, the default: a non-inferiority test with margin δ,
:mod:`evalgate.verdict.distribution`; never exact). For the suite: Each case
contributes D = x_candidate − x_baseline ∈ {−1, 0, 1}; the gate passes when
ΣD ≥ j* = ⌈−δ·N⌉ (:func:`~evalgate.verdict.exact.required_paired_sum`). The anytime-valid
betting test of :mod:`evalgate.verdict.sequential` reads D + 1 ∈ {0, 1, 2} on the paired
cases in sampling order — about the whole population, so a sample of pairs that cannot
settle it leaves the comparison undecided — and an errored case (either side) counts
against whichever conclusion it could help. Only discordant cases move the statistic, as
in McNemar's test, whose exact p-value (for "no difference at all") is reported beside it.
When every case of the population ran in both runs, the comparison is exact (errors count
as not passed on both sides, as in the pass rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict

from evalgate.verdict.distribution import MeanTest, Population, mean_bounds
from evalgate.verdict.monitor import SuiteMonitor
from evalgate.verdict.outcomes import Outcome
from evalgate.verdict.sequential import confidence_bounds
from evalgate.verdict.stats import mcnemar_exact


@dataclass(frozen=True)
class Comparison:
    """A candidate-vs-baseline comparison on the cases both have."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    pairs: int
    """Paired cases read (in sampling order, up to the decision or the end)."""
    candidate_rate: float
    baseline_rate: float
    difference: float
    """Observed candidate − baseline pass rate over the paired cases read."""
    interval: tuple[float, float]
    """Interval for Δ over the population: anytime-valid, or exact when every case paired."""
    max_regression: float
    decision: Literal["PASS", "FAIL"] | None
    """``PASS`` (no regression beyond δ), ``FAIL`` (a regression beyond δ), None (undecided)."""
    decided_at: int | None
    worse: int
    """Cases the baseline passed and the candidate failed."""
    better: int
    """Cases the candidate passed and the baseline failed."""
    mcnemar_p: float
    exact: bool = False
    """Every case of the population was paired: Δ is known, not estimated."""
    method: str = "paired anytime-valid betting test; exact McNemar p for Δ = 0"
    worse_cases: tuple[str, ...] = ()
    """The ids of the ``worse`` cases (baseline passed, candidate failed), in sampling order."""
    better_cases: tuple[str, ...] = ()
    source: str = ""
    """Which run the baseline is (a results.json, a store run, the merge base's run)."""
    population: Population = "suite"
    """What Δ is about: these cases (``suite``), or the distribution they sample."""


def exact_comparison(candidate: dict[str, Outcome], baseline: dict[str, Outcome], required: int) -> Literal["PASS", "FAIL"]:
    """The comparison when both runs have every case: ΣD ≥ j*, errors as not passed."""
    total = sum(int(candidate[case] == "pass") - int(baseline[case] == "pass") for case in candidate)
    return "PASS" if total >= required else "FAIL"


def comparison(monitor: SuiteMonitor, exact: Literal["PASS", "FAIL"] | None = None) -> Comparison:
    """The comparison a monitor has read (``exact`` when every case paired)."""
    spec, test, pairs = monitor.spec, monitor.paired, monitor.pairs
    read = pairs["read"]
    population = spec.population
    decision: Literal["PASS", "FAIL"] | None
    decided_at: int | None
    if exact is not None:
        delta = (pairs["candidate"] - pairs["baseline"]) / max(read, 1)
        interval = (delta, delta)
        decision, decided_at = exact, read
    elif test is not None:
        used = monitor.paired_read[: test.decided_at or read]
        if isinstance(test, MeanTest):  # about the distribution: a superpopulation interval
            low, high = mean_bounds(used, spec.gate.alpha, scale=2, alpha_high=monitor.alpha_fail) if used else (0.0, 1.0)
        else:
            low, high = confidence_bounds(used, population, spec.gate.alpha, scale=2) if used else (0.0, 1.0)
        interval = (2 * low - 1, 2 * high - 1)
        decision, decided_at = test.decision, test.decided_at
    else:
        interval, decision, decided_at = (-1.0, 1.0), None, None
    return Comparison(
        pairs=read,
        candidate_rate=pairs["candidate"] / read if read else 0.0,
        baseline_rate=pairs["baseline"] / read if read else 0.0,
        difference=(pairs["candidate"] - pairs["baseline"]) / read if read else 0.0,
        interval=interval,
        max_regression=spec.gate.max_regression,
        decision=decision,
        decided_at=decided_at,
        worse=pairs["worse"],
        better=pairs["better"],
        mcnemar_p=mcnemar_exact(pairs["worse"], pairs["better"]),
        exact=exact is not None,
        worse_cases=tuple(monitor.flipped["worse"]),
        better_cases=tuple(monitor.flipped["better"]),
        source=spec.baseline.source if spec.baseline is not None else "",
        population=spec.regression_kind,
        method=("paired anytime-valid betting test on the distribution (non-inferiority, margin δ); exact McNemar p for Δ = 0"
                if isinstance(test, MeanTest) else "paired anytime-valid betting test; exact McNemar p for Δ = 0"),
    )
