"""Slice gates: a verdict for every tag — domain, language, edge-case group — and a gap gate.

A suite-level pass rate hides the failures that matter most: a model can gain two points
overall while losing fifteen on one language. With ``[gate.slices]`` each tag with at least
``min_size`` cases is a *slice*: a population of its own (its N_s cases, k*_s = ⌈τ_s·N_s⌉
passes needed), decided exactly when every case of it ran, else by the pass rate's
anytime-valid betting test on its cases in the suite's sampling order (a uniformly random
order of the suite, restricted to a slice, is a uniformly random order of the slice).

**Family-wise error over the slices.** Each slice's PASS side decides at α/K (K gated
slices), so the chance that *any* slice is wrongly passed is at most α; each FAIL side at
α / G, where G counts every gate of the suite that can FAIL (the suite's own, the slices,
the gap): the chance the suite is wrongly blocked by any of them is at most α (Bonferroni —
simple, valid under optional stopping, and with a handful of slices it costs little).

**The gap gate** (``max_gap``) bounds the spread between the best and the worst gated slice.
Every slice gets an anytime-valid interval at α_gap / (2K) per side; while all K hold (chance
≥ 1 − α_gap) the spread lies in [max_i L_i − min_j U_j ... max_i U_i − min_j L_j]: the gap
PASSes when the upper end is within ``max_gap``, FAILs when the lower end exceeds it. The
report names the best and the worst slice. Intervals are recomputed as the prefix grows
(every few cases: looking less often never hurts an anytime-valid test).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from pydantic import ConfigDict, computed_field

from evalgate.config import SlicesConfig, as_written
from evalgate.derived import Derived
from evalgate.verdict.exact import required_paired_sum, required_passes
from evalgate.verdict.outcomes import OUTCOME_VALUES, Outcome, paired_values
from evalgate.verdict.sequential import BettingTest, confidence_bounds

Decision = Literal["PASS", "FAIL"]


@dataclass(frozen=True)
class Slice:
    """One tag's cases, as a population of their own."""

    tag: str
    population: int
    required: int
    """Passes the slice needs (k*_s)."""
    gated: bool
    """False for a slice smaller than ``min_size``: reported, not gated."""


@dataclass(frozen=True)
class SlicePlan:
    """The slices of a suite's population and which cases belong to which."""

    slices: tuple[Slice, ...]
    membership: Mapping[str, tuple[int, ...]]
    """Case id → indexes (into ``slices``) of the slices it belongs to."""
    threshold: float
    min_size: int
    max_gap: float | None
    max_regression: float | None = None

    @property
    def gated(self) -> int:
        return sum(each.gated for each in self.slices)

    def gates(self, paired: bool = False) -> int:
        """Gates that can FAIL: the gated slices, the gap when it is gated with two or more,
        and each slice's comparison with the baseline (``paired``)."""
        return self.gated * (1 + (paired and self.max_regression is not None)) + (self.max_gap is not None and self.gated >= 2)


def plan_slices(config: SlicesConfig, suite_threshold: float, cases: Sequence[tuple[str, Sequence[str]]]) -> SlicePlan:
    """The slices of a population of ``(case id, tags)``: every tag (or the named ones), in
    order of first appearance; named tags no case has are slices of size 0 (reported)."""
    threshold = suite_threshold if config.min_pass_rate is None else config.min_pass_rate
    wanted = None if config.tags is None else list(dict.fromkeys(config.tags))
    index: dict[str, int] = {tag: i for i, tag in enumerate(wanted or [])}
    members: dict[str, tuple[int, ...]] = {}
    sizes: list[int] = [0] * len(index)
    for case_id, tags in cases:
        mine = []
        for tag in dict.fromkeys(tags):
            if tag not in index:
                if wanted is not None:
                    continue
                index[tag] = len(sizes)
                sizes.append(0)
            sizes[index[tag]] += 1
            mine.append(index[tag])
        if mine:
            members[case_id] = tuple(mine)
    slices = tuple(
        Slice(tag, size, required_passes(threshold, size) if size else 0, size >= config.min_size)
        for tag, size in zip(index, sizes, strict=True)
    )
    return SlicePlan(slices, members, threshold, config.min_size, config.max_gap, config.max_regression)


def cases_to_settle(each: Slice, alpha: float, alpha_fail: float | None = None) -> int:
    """The fewest cases of a slice that can settle its PASS — all of them passing — at its
    share ``alpha`` (its whole population when nothing short of it can)."""
    if not each.population:
        return 0
    test = BettingTest(each.population, each.required - 1, each.required, alpha, alpha if alpha_fail is None else alpha_fail)
    while test.decision is None and test.seen < test.population:
        test.update(1)
    return test.seen


@dataclass
class SliceTracker:
    """Every slice's test (and the gap's), fed the suite's prefix case by case."""

    plan: SlicePlan
    alpha_pass: float
    """The suite gate's α: the slices' PASS sides share it (α / K each)."""
    alpha_fail: float
    """Each FAIL side's share (α / G over all the suite's gates)."""
    baseline: Mapping[str, Outcome] | None = None
    """The baseline's outcomes, when each slice is compared with it (``max_regression``)."""
    tests: dict[int, BettingTest] = field(default_factory=dict)
    paired: dict[int, BettingTest] = field(default_factory=dict)
    """Slice index → its paired test "no regression beyond δ" (values D + 1)."""
    pairs: list[list[int]] = field(default_factory=list)
    """Per slice: ``[candidate passes, baseline passes, pairs read]`` over its paired cases."""
    read: list[list[tuple[int, int]]] = field(default_factory=list)
    """Per slice, the ``(low, high)`` values of its cases read, in order."""
    positions: list[list[int]] = field(default_factory=list)
    """Per slice, the suite position (1-based) at which each of its cases was read."""
    settled_at: dict[int, int] = field(default_factory=dict)
    """Slice index → the suite position at which its test settled."""
    compared_at: dict[int, int] = field(default_factory=dict)
    """Slice index → the suite position at which its comparison with the baseline settled."""
    gap: Decision | None = None
    gap_decided_at: int | None = None
    seen: int = 0
    next_gap_check: int = 8

    def __post_init__(self) -> None:
        k = max(1, self.plan.gated)
        self.read = [[] for _ in self.plan.slices]
        self.positions = [[] for _ in self.plan.slices]
        self.pairs = [[0, 0, 0] for _ in self.plan.slices]
        for i, each in enumerate(self.plan.slices):
            if each.gated:
                self.tests[i] = BettingTest(each.population, each.required - 1, each.required, self.alpha_pass / k, self.alpha_fail)
                if self.baseline is not None and self.plan.max_regression is not None:
                    needed = required_paired_sum(self.plan.max_regression, each.population)
                    self.paired[i] = BettingTest(each.population, each.population + needed - 1, each.population + needed,
                                                 self.alpha_pass / k, self.alpha_fail, scale=2)

    @property
    def gap_alpha(self) -> float:
        """Each side of each slice's interval for the gap: α_gap / (2K)."""
        return self.alpha_fail / (2 * max(1, self.plan.gated))

    def add(self, case_id: str, outcome: Outcome) -> None:
        self.seen += 1
        low, high = OUTCOME_VALUES[outcome]
        for i in self.plan.membership.get(case_id, ()):
            values = self.read[i]
            if len(values) >= self.plan.slices[i].population:
                continue
            values.append((low, high))
            self.positions[i].append(self.seen)
            test = self.tests.get(i)
            if test is not None and test.decision is None and test.update(low, high) is not None:
                self.settled_at[i] = self.seen
            self._pair(i, case_id, outcome)
        if self.plan.max_gap is not None and self.gap is None and self.plan.gated >= 2 and self.seen >= self.next_gap_check:
            self.next_gap_check = self.seen + max(8, self.seen // 2)  # geometric: a dozen checks for thousands of cases
            self.check_gap()

    def _pair(self, i: int, case_id: str, outcome: Outcome) -> None:
        """Feed slice ``i``'s comparison with the baseline, as the suite's: errors count
        against whichever side they could help."""
        paired = self.paired.get(i)
        if paired is None or self.baseline is None or case_id not in self.baseline:
            return
        base = self.baseline[case_id]
        counts = self.pairs[i]
        counts[0] += outcome == "pass"
        counts[1] += base == "pass"
        counts[2] += 1
        if paired.decision is None and paired.seen < paired.population and paired.update(*paired_values(outcome, base)) is not None:
            self.compared_at[i] = self.seen

    def slice_decision(self, i: int) -> Decision | None:
        """A slice's own verdict: FAIL when its pass rate or its comparison failed, PASS when
        both passed (the comparison only where there is one)."""
        decisions = [self.tests[i].decision] + ([self.paired[i].decision] if i in self.paired else [])
        if "FAIL" in decisions:
            return "FAIL"
        return "PASS" if all(decision == "PASS" for decision in decisions) else None

    def check_gap(self) -> None:
        """Settle the gap when the slices' intervals allow it (compared exactly, see :meth:`gap_bounds`)."""
        low, high, _, _ = self.exact_gap_bounds()
        assert self.plan.max_gap is not None
        limit = as_written(self.plan.max_gap)
        if high <= limit:
            self.gap, self.gap_decided_at = "PASS", self.seen
        elif low > limit:
            self.gap, self.gap_decided_at = "FAIL", self.seen

    def exact_gap_bounds(self) -> tuple[Fraction, Fraction, str, str]:
        """``(low, high, best tag, worst tag)`` of the spread between the gated slices' rates, as
        exact fractions: every interval end is a count over its slice's size, and the spread is
        compared with ``max_gap`` as written — in floats, 0.8 − 0.7 exceeds 0.1."""
        bounds = {i: tuple(Fraction(round(end * self.plan.slices[i].population), self.plan.slices[i].population)
                           for end in self.interval(i, self.gap_alpha)) for i in self.tests if self.plan.slices[i].population}
        if not bounds:
            return Fraction(0), Fraction(0), "", ""
        best = max(bounds, key=lambda i: bounds[i][0] + bounds[i][1])
        worst = min(bounds, key=lambda i: bounds[i][0] + bounds[i][1])
        high = max(upper for _, upper in bounds.values()) - min(lower for lower, _ in bounds.values())
        low = max(Fraction(0), max(lower for lower, _ in bounds.values()) - min(upper for _, upper in bounds.values()))
        return low, high, self.plan.slices[best].tag, self.plan.slices[worst].tag

    def gap_bounds(self) -> tuple[float, float, str, str]:
        """:meth:`exact_gap_bounds` as floats, for reports."""
        low, high, best, worst = self.exact_gap_bounds()
        return float(low), float(high), best, worst

    def interval(self, i: int, alpha: float, upto: int | None = None) -> tuple[float, float]:
        """The slice's anytime-valid interval for its pass rate (exact when every case read),
        over its cases among the first ``upto`` of the suite (default: all read)."""
        values, population = self.read[i], self.plan.slices[i].population
        if upto is not None:
            values = values[: self.count_upto(i, upto)]
        if not population or not values:
            return 0.0, 1.0
        low, high = confidence_bounds(values, population, alpha, alpha_high=alpha)
        return float(low), float(high)

    def count_upto(self, i: int, upto: int) -> int:
        """How many of slice ``i``'s cases lie among the first ``upto`` of the suite."""
        return bisect.bisect_right(self.positions[i], upto)

    @property
    def decision(self) -> Decision | None:
        """FAIL when a slice or the gap failed; PASS when every gated slice and the gap passed."""
        decisions = [self.slice_decision(i) for i in self.tests]
        if "FAIL" in decisions or self.gap == "FAIL":
            return "FAIL"
        gap_ok = self.plan.max_gap is None or self.plan.gated < 2 or self.gap == "PASS"
        if all(decision == "PASS" for decision in decisions) and gap_ok:
            return "PASS"
        return None


class _Labelled(Derived):
    """A verdict whose ``decision`` files written before it was its own field hold only as the
    ``verdict`` label."""

    __slots__ = ()

    @classmethod
    def upgrade(cls, data: dict[str, Any]) -> dict[str, Any]:
        if "decision" not in data and "verdict" in data:
            return {**data, "decision": data["verdict"] if data["verdict"] in ("PASS", "FAIL") else None}
        return data


@dataclass(frozen=True)
class SliceVerdict(_Labelled):
    """One slice's verdict over the cases the suite's verdict read."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    tag: str
    population: int
    gated: bool
    read: int
    passed: int
    errors: int
    required: int
    threshold: float
    interval: tuple[float, float]
    decision: Decision | None
    """PASS / FAIL (exact or settled); None: not gated, or not settled (UNDECIDED)."""
    exact: bool
    decided_at: int | None = None
    delta: float | None = None
    """Candidate − baseline pass rate over the slice's paired cases read (with ``max_regression``)."""
    regression: Decision | None = None
    """The comparison: PASS (no regression beyond δ), FAIL (one beyond it), None (not settled or none)."""
    max_regression: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pass_rate(self) -> float | None:
        """Share of the slice's read cases that passed; None when none was read."""
        return self.passed / self.read if self.read else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> Literal["PASS", "FAIL", "UNDECIDED", "not gated"]:
        """PASS, FAIL, UNDECIDED, or "not gated"."""
        if not self.gated:
            return "not gated"
        return self.decision or "UNDECIDED"


@dataclass(frozen=True)
class GapVerdict(_Labelled):
    """The spread between the best and the worst gated slice."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    max_gap: float
    best: str
    worst: str
    interval: tuple[float, float]
    decision: Decision | None
    exact: bool

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> Literal["PASS", "FAIL", "UNDECIDED"]:
        """PASS or FAIL (exact or settled), else UNDECIDED."""
        return self.decision or "UNDECIDED"


def slice_verdicts(tracker: SliceTracker, counted: int, exact: bool) -> tuple[tuple[SliceVerdict, ...], GapVerdict | None]:
    """The slices' verdicts as of the first ``counted`` suite cases (``exact``: every case of
    the population was read)."""
    verdicts = []
    for i, each in enumerate(tracker.plan.slices):
        values = tracker.read[i][: tracker.count_upto(i, counted)]
        test = tracker.tests.get(i)
        complete = exact and len(values) == each.population
        passed = sum(low for low, _ in values)
        errors = sum(high - low for low, high in values)
        decision: Decision | None = None
        if complete and each.population:
            interval = (passed / each.population, passed / each.population)
            decision = ("PASS" if passed >= each.required else "FAIL") if each.gated else None
        else:
            interval = tracker.interval(i, tracker.alpha_pass / max(1, tracker.plan.gated), counted)
            if test is not None and test.decision is not None and tracker.settled_at.get(i, counted + 1) <= counted:
                decision = test.decision
        regression, delta = _comparison(tracker, i, counted, complete)
        if i in tracker.paired:
            decision = "FAIL" if "FAIL" in (decision, regression) else ("PASS" if decision == regression == "PASS" else None)
        verdicts.append(SliceVerdict(
            tag=each.tag, population=each.population, gated=each.gated, read=len(values), passed=passed, errors=errors,
            required=each.required, threshold=tracker.plan.threshold, interval=interval, decision=decision,
            exact=complete, decided_at=tracker.settled_at.get(i), delta=delta, regression=regression,
            max_regression=tracker.plan.max_regression if i in tracker.paired else None,
        ))
    gap = None
    if tracker.plan.max_gap is not None and tracker.plan.gated >= 2:
        gated = [v for v in verdicts if v.gated and v.read]
        if exact and all(v.exact for v in verdicts if v.gated):
            rates = {v.tag: Fraction(v.passed, v.population) for v in gated}
            best = max(gated, key=lambda v: rates[v.tag])
            worst = min(gated, key=lambda v: rates[v.tag])
            spread = rates[best.tag] - rates[worst.tag]  # exact: compared with max_gap as written
            exact_gap: Decision = "PASS" if spread <= as_written(tracker.plan.max_gap) else "FAIL"
            gap = GapVerdict(tracker.plan.max_gap, best.tag, worst.tag, (float(spread), float(spread)), exact_gap, True)
        else:
            low, high, best_tag, worst_tag = tracker.gap_bounds()
            settled = tracker.gap if (tracker.gap_decided_at or counted + 1) <= counted else None
            gap = GapVerdict(tracker.plan.max_gap, best_tag, worst_tag, (low, high), settled, False)
    return tuple(verdicts), gap


def _comparison(tracker: SliceTracker, i: int, counted: int, complete: bool) -> tuple[Decision | None, float | None]:
    """A slice's comparison with the baseline: its decision (exact when every case of the slice
    ran in both runs) and the observed Δ over its paired cases."""
    paired = tracker.paired.get(i)
    if paired is None:
        return None, None
    candidate, base, read = tracker.pairs[i]
    delta = (candidate - base) / read if read else None
    each = tracker.plan.slices[i]
    assert tracker.plan.max_regression is not None
    if complete and read == each.population:
        exact: Decision = "PASS" if candidate - base >= required_paired_sum(tracker.plan.max_regression, each.population) else "FAIL"
        return exact, delta
    if paired.decision is not None and tracker.compared_at.get(i, counted + 1) <= counted:
        return paired.decision, delta
    return None, delta
