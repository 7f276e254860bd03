"""Consistency under robustness variants: does a case keep its answer when its input is
perturbed in ways that should not matter?

A case is *consistent* when every variant of it (:mod:`evalgate.variants`) passes or fails
exactly as the case does; a variant that errored leaves it unknown, counted as not
consistent where a number must be given (as an errored case is not a pass). The suite's
consistency is the share of its N cases that are consistent, decided like the pass rate:
exactly when every case and variant ran, else by the same anytime-valid betting test on
the cases read in sampling order (:class:`~evalgate.verdict.monitor.SuiteMonitor`), which
stays valid however often the run looks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict, computed_field

from evalgate.derived import Derived
from evalgate.verdict.monitor import CODE_VALUES, OUTCOME_CODES, SuiteMonitor
from evalgate.verdict.sequential import confidence_bounds

_PASS, _ERROR = OUTCOME_CODES["pass"], OUTCOME_CODES["error"]


@dataclass(frozen=True)
class Flip:
    """A variant whose pass/fail differed from its case's."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    case: str
    variant: str


@dataclass(frozen=True)
class Consistency(Derived):
    """A suite's consistency over the cases a verdict read."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    variants: tuple[str, ...]
    read: int
    """Cases whose every variant was read (in sampling order, up to what the verdict counted)."""
    consistent: int
    errors: int
    """Cases with an errored run among them and their variants (not consistent, not evidence)."""
    interval: tuple[float, float]
    """For the share of consistent cases in the population: exact, or anytime-valid."""
    method: str
    threshold: float | None
    """``min_consistency``; None when the suite only measures it."""
    required: int
    """Consistent cases the population needs (0 when not gated)."""
    decision: Literal["PASS", "FAIL"] | None
    """The consistency gate's outcome; None when not gated or not settled."""
    decided_at: int | None
    exact: bool
    flips: tuple[Flip, ...] = ()
    """Each variant whose pass/fail differed from its case's, in sampling order."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rate(self) -> float | None:
        """Share of the read cases that were consistent; None when none was read."""
        return self.consistent / self.read if self.read else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def flips_by_variant(self) -> dict[str, int]:
        """Flips per variant, every variant listed: which perturbation breaks the model."""
        counts = dict.fromkeys(self.variants, 0)
        for flip in self.flips:
            counts[flip.variant] += 1
        return counts


def consistency(monitor: SuiteMonitor, counted: int, exact: bool, flips: Sequence[tuple[int, str, str]]) -> Consistency | None:
    """The consistency of the first ``counted`` cases a monitor read (None without variants).
    ``flips`` are ``(position, case id, variant)`` as the prefix reader found them."""
    spec = monitor.spec
    if not spec.variants:
        return None
    gate, test = spec.gate, monitor.consistency
    codes = monitor.consistency_read[:counted]
    consistent, errors = codes.count(_PASS), codes.count(_ERROR)
    exact = exact and len(codes) == spec.population
    decision: Literal["PASS", "FAIL"] | None = None
    decided_at = None
    interval: tuple[float, float]
    if exact:
        interval = (consistent / spec.population, consistent / spec.population)
        method = "exact: every case and variant ran"
        if gate.min_consistency is not None:
            decision = "PASS" if consistent >= monitor.consistency_required else "FAIL"
            decided_at = len(codes)
    elif codes:
        values = [CODE_VALUES[code] for code in codes]
        low, high = confidence_bounds(values, spec.population, gate.alpha, alpha_high=monitor.alpha_fail)
        interval = (float(low), float(high))
        method = f"anytime-valid {1 - gate.alpha - monitor.alpha_fail:.1%} CS".replace(".0%", "%")
        if test is not None and test.decision is not None and (test.decided_at or 0) <= counted:
            decision, decided_at = test.decision, test.decided_at
    else:
        interval, method = (0.0, 1.0), "no case read"
    return Consistency(
        variants=spec.variants,
        read=len(codes),
        consistent=consistent,
        errors=errors,
        interval=interval,
        method=method,
        threshold=gate.min_consistency,
        required=monitor.consistency_required,
        decision=decision,
        decided_at=decided_at,
        exact=exact,
        flips=tuple(Flip(case_id, variant) for position, case_id, variant in flips if position < counted),
    )


def describe(measured: Consistency, alpha_text: str) -> str:
    """One clause for a verdict's reason: the consistency, its evidence and the worst flips."""
    rate = measured.rate or 0.0
    variants = ", ".join(measured.variants)
    flipped = ""
    if measured.flips:
        shown = ", ".join(f"{flip.case} ({flip.variant})" for flip in measured.flips[:5])
        more = f" and {len(measured.flips) - 5} more" if len(measured.flips) > 5 else ""
        flipped = f"; flipped: {shown}{more}"
    if measured.threshold is None:
        return f"consistency {rate:.1%} under variants {variants} (measured, not gated){flipped}"
    threshold = f"{measured.threshold:.1%}"
    if measured.decision is None:
        return f"consistency ≥ {threshold} is not settled ({rate:.1%} of {measured.read} cases so far, variants {variants}){flipped}"
    relation = "≥" if measured.decision == "PASS" else "<"
    if measured.exact:
        how = f"all {measured.read} cases; {measured.consistent} consistent, {measured.required} needed"
    else:
        how = f"settled after {measured.decided_at} cases ({rate:.1%} so far) by an anytime-valid test at {alpha_text}"
    return f"consistency {relation} {threshold} under variants {variants} ({how}){flipped}"
