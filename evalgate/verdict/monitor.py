"""One decision path: a suite's gates, fed its cases in sampling order.

The live early stop (while the run goes on) and the final verdict (for the reports, for
``report merge``) both feed the same :class:`SuiteMonitor`, case by case, from the
completed prefix of the sampling order; a suite is settled when the monitor says so, and
nowhere else. A suite has up to three gates, and the monitor keeps a test for each:

- **pass rate**: at least k* = ⌈τ·N⌉ of the N cases of the population pass
  (:func:`~evalgate.verdict.exact.required_passes`); errored cases are never evidence
  (see :mod:`evalgate.verdict.sequential`);
- **errors**: an errored case is never evidence about the model — the PASS side counts it
  as a fail, the FAIL side as a pass, so errors can only keep a verdict from settling. By
  default that is all: an early PASS needs no share of the suite to be error-free (it holds
  with every errored case a fail). When the endpoint is failing — more than half of the cases
  read errored, once at least :data:`OUTAGE_CASES` are read — the suite stops as ERROR
  instead of spending calls on an outage. With an explicit budget (``max_errors`` or
  ``max_error_rate``: at most b of the planned cases error) more errors seen than b is an
  exact ERROR, and an early PASS also needs the test "errors among the planned cases ≤ b"
  to be settled, so it agrees with running every planned case;
- **baseline** (when the gate has one): the candidate's pass rate is at most δ below the
  baseline's on the population — a paired test on D = candidate − baseline per case;
- **consistency** (``min_consistency``, in tiers with robustness variants): at least
  ⌈c·N⌉ of the N cases keep their pass/fail under every variant — the pass-rate test on
  the consistency outcomes (:func:`~evalgate.verdict.outcomes.consistency_outcome`).

**Family-wise error.** A suite blocks when any of its gates FAILs, so the FAIL sides share
α: each gets α / (number of gates that can FAIL by a test). A suite PASSes only when every
gate does, so a wrong PASS needs the one truly failing gate to pass wrongly: each PASS side
keeps the whole α. P(block | the suite truly passes) ≤ α and P(PASS | it truly fails) ≤ α.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from evalgate.config import GateConfig, as_written
from evalgate.verdict.control import ControlVariateTest
from evalgate.verdict.distribution import MeanTest, Population
from evalgate.verdict.exact import error_budget, required_paired_sum, required_passes
from evalgate.verdict.judged import JudgeCalibration, judged_boundaries
from evalgate.verdict.outcomes import OUTCOME_VALUES, Outcome, paired_values
from evalgate.verdict.sequential import BettingTest, BudgetTest
from evalgate.verdict.slices import SlicePlan, SliceTracker

SuiteDecision = Literal["PASS", "FAIL", "ERROR"]
OUTAGE_CASES = 10
"""Cases read before "more than half errored" stops a suite without an error budget as ERROR."""
OUTCOME_CODES: dict[Outcome, int] = {"fail": 0, "pass": 1, "error": 2}
CODE_VALUES: dict[int, tuple[int, int]] = {code: OUTCOME_VALUES[outcome] for outcome, code in OUTCOME_CODES.items()}
"""An outcome code's ``(low, high)`` for the betting tests (see ``OUTCOME_VALUES``)."""


def pass_rate_test(
    population: int, threshold: float, alpha: float = 0.05, alpha_fail: float | None = None, strategy: str = "hedged"
) -> BettingTest:
    """The test of "at least k* = ⌈τ·N⌉ of the N cases pass" (pass/fail values)."""
    required = required_passes(threshold, population)
    return BettingTest(population, required - 1, required, alpha, alpha if alpha_fail is None else alpha_fail, strategy=strategy)


@dataclass(frozen=True)
class Baseline:
    """A baseline run's outcomes for one suite, and what they are a sample of."""

    outcomes: Mapping[str, Outcome]
    """Case id → the baseline's outcome."""
    complete: bool
    """Every case of the suite ran in the baseline run."""
    random: bool
    """Its cases are a seeded random sample of the suite (a capped tier or an early stop),
    not a selection (``-k``, ``--lf``): its pairs are then a fair sample of the suite."""
    source: str
    """Where it came from, for messages (a file, or ``store run 1a2b3c``)."""


@dataclass(frozen=True)
class SuiteSpec:
    """What a suite's verdict is about."""

    name: str
    gate: GateConfig
    order: tuple[str, ...]
    """The case ids this run planned and selected, in sampling order."""
    population: int
    """How many cases the pass-rate and baseline verdicts are about: the suite, or the
    selected cases when ``-k`` / ``--lf`` deselected some."""
    total: int
    """Cases in the suite."""
    selected: bool = False
    """The population is a selection of the suite's cases, not the suite."""
    repeats: int = 1
    skip_reason: str | None = None
    """Why the suite does not run at all; None when it runs."""
    baseline: Baseline | None = None
    variants: tuple[str, ...] = ()
    """The robustness variants each case ran with (their consistency is measured)."""
    slices: SlicePlan | None = None
    """The suite's slices (``[gate.slices]``): each gated slice is a gate of its own."""
    control: int | None = None
    """The baseline's exact pass count over the whole population, when the baseline has
    every case of it: the pass-rate gate then uses it as a control variate
    (:mod:`evalgate.verdict.control`)."""
    kind: Population = "suite"
    """What the pass-rate (and consistency) verdict is about: ``suite`` — these cases, exact
    once all ran; ``distribution`` — the inputs the cases sample (:mod:`evalgate.verdict.distribution`)."""
    regression_kind: Population = "distribution"
    """What the baseline comparison is about (same two meanings)."""
    alpha_fail_cap: float | None = None
    """The FAIL side's α for the whole suite when the run spends one α across all its gates
    (``run_alpha``): the suite's share; None when the suite spends its own."""
    stopped: str | None = None
    """Why the run stopped calling the suite's model before every planned case ran (a spend cap
    reached): an unsettled verdict is then INCOMPLETE with this reason."""
    judge: JudgeCalibration | None = None
    """The judge's measured errors, when the suite is scored by a judge with people's labels:
    the pass-rate gate then decides on the corrected rate (:mod:`evalgate.verdict.judged`),
    about the distribution the cases sample."""

    @property
    def gates_consistency(self) -> bool:
        """The suite gates on consistency: it asks for it and the run has variants."""
        return self.gate.min_consistency is not None and bool(self.variants)

    @property
    def capped(self) -> bool:
        """The run plans only a sample of the population (a smoke-style tier)."""
        return len(self.order) < self.population

    def baseline_problem(self) -> str | None:
        """Why the baseline cannot be compared with, or None when it can."""
        if self.baseline is None:
            return None
        if not any(case_id in self.baseline.outcomes for case_id in self.order):
            return f"the baseline ({self.baseline.source}) has no case in common with this run"
        covered = all(case_id in self.baseline.outcomes for case_id in self.order)
        if not (covered or self.baseline.random):
            return (
                f"the baseline ({self.baseline.source}) ran only selected cases (-k, --lf), so its pairs are not a "
                f"fair sample of the suite; run the base with every case: pytest --eval-tier=full --eval-report DIR"
            )
        return None


@dataclass
class SuiteMonitor:
    """Every test of a suite's gates, fed its cases in sampling order."""

    spec: SuiteSpec
    threshold: BettingTest | ControlVariateTest | MeanTest = field(init=False)
    """The pass-rate test: direct, or with the baseline as control variate."""
    errors: BudgetTest | None = field(init=False)
    """The error budget's test (None without a budget: errors count against the pass rate only)."""
    paired: BettingTest | MeanTest | None = field(init=False)
    consistency: BettingTest | MeanTest | None = field(init=False)
    """The consistency gate's test (None when the suite does not gate on it)."""
    slices: SliceTracker | None = field(init=False)
    """The slices' tests and the gap's (None without ``[gate.slices]``)."""
    required: int = field(init=False)
    """k*: passes the population needs."""
    budget: int | None = field(init=False)
    """b: errored cases the planned cases may have (None: no budget)."""
    paired_required: int = field(init=False, default=0)
    """j*: the smallest sum of paired differences that passes."""
    alpha_fail: float = field(init=False)
    counts: dict[Outcome, int] = field(default_factory=lambda: {"pass": 0, "fail": 0, "error": 0})
    """Outcomes of the cases read so far."""
    pairs: dict[str, int] = field(default_factory=lambda: {"better": 0, "worse": 0, "read": 0, "candidate": 0, "baseline": 0})
    """Paired cases read so far: candidate better / worse, and each side's passes."""
    flipped: dict[str, list[str]] = field(default_factory=lambda: {"better": [], "worse": []})
    """The case ids behind ``better`` and ``worse``, in sampling order (for reviewers)."""
    read: bytearray = field(default_factory=bytearray)
    """Outcome codes of the cases read, in order (0 fail, 1 pass, 2 error): what intervals
    are computed from, one byte per case."""
    paired_read: list[tuple[int, int]] = field(default_factory=list)
    """``(low, high)`` values of D + 1 of the paired cases read, in order."""
    consistency_read: bytearray = field(default_factory=bytearray)
    """Consistency outcome codes of the cases read, in order (with variants)."""
    consistency_required: int = field(init=False, default=0)
    """Consistent cases the population needs (with ``min_consistency``)."""
    control_read: list[tuple[int | None, int]] = field(default_factory=list)
    """``(candidate 1/0/None for an error, baseline 1/0)`` of the cases read, with a control."""
    seen: int = 0
    decision: SuiteDecision | None = None
    decided_at: int | None = None
    """Cases read when the suite was settled; None while it is not."""
    counts_at_decision: dict[Outcome, int] = field(default_factory=dict)
    """The outcome counts when the suite was settled: what the verdict reports."""

    def __post_init__(self) -> None:
        spec, gate = self.spec, self.spec.gate
        # A suite whose cases were all deselected (-k) has no population: it is SKIPPED, and
        # its tests (never fed) are sized for one case so they can exist.
        population, planned = max(1, spec.population), len(spec.order)
        usable_baseline = spec.baseline is not None and spec.baseline_problem() is None
        slice_gates = spec.slices.gates(paired=usable_baseline) if spec.slices else 0
        failing_gates = 1 + usable_baseline + spec.gates_consistency + slice_gates
        suite_alpha = gate.alpha if spec.alpha_fail_cap is None else min(gate.alpha, spec.alpha_fail_cap)
        self.alpha_fail = suite_alpha / failing_gates
        self.slices = None
        if spec.slices is not None:
            compared = spec.baseline.outcomes if usable_baseline and spec.baseline is not None else None
            self.slices = SliceTracker(spec.slices, gate.alpha, self.alpha_fail, compared)
        self.required = required_passes(gate.min_pass_rate, population)
        readable = max(planned, 1)
        if spec.judge is not None:  # the judged rate against boundaries that absorb the judge's errors
            pass_null, fail_null = judged_boundaries(float(as_written(gate.min_pass_rate)), spec.judge, gate.alpha, self.alpha_fail)
            self.threshold = MeanTest(readable, pass_null, fail_null, gate.alpha / 2, self.alpha_fail / 2)
        elif spec.kind == "distribution":
            rate = float(as_written(gate.min_pass_rate))
            self.threshold = MeanTest(readable, rate, rate, gate.alpha, self.alpha_fail)
        elif usable_baseline and spec.control is not None:
            self.threshold = ControlVariateTest(population, self.required, spec.control, gate.alpha, self.alpha_fail)
        else:
            self.threshold = pass_rate_test(population, gate.min_pass_rate, gate.alpha, self.alpha_fail)
        self.budget = error_budget(gate.max_errors, gate.max_error_rate, planned)
        self.errors = BudgetTest(max(planned, 1), self.budget, gate.alpha) if self.budget is not None else None
        self.paired = None
        if usable_baseline and spec.regression_kind == "distribution":
            # Non-inferiority with margin δ on the mean of D + 1 (on [0, 1]: (1 − δ) / 2).
            self.paired_required = required_paired_sum(gate.max_regression, population)
            boundary = float((1 - as_written(gate.max_regression)) / 2)
            self.paired = MeanTest(readable, boundary, boundary, gate.alpha, self.alpha_fail, scale=2)
        elif usable_baseline:
            self.paired_required = required_paired_sum(gate.max_regression, population)
            # Values are D + 1 in {0, 1, 2}; the sum of D passes at j*.
            self.paired = BettingTest(
                population, population + self.paired_required - 1, population + self.paired_required,
                gate.alpha, self.alpha_fail, scale=2,
            )
        self.consistency = None
        if spec.gates_consistency:
            assert gate.min_consistency is not None
            self.consistency_required = required_passes(gate.min_consistency, population)
            if spec.kind == "distribution":
                rate = float(as_written(gate.min_consistency))
                self.consistency = MeanTest(readable, rate, rate, gate.alpha, self.alpha_fail)
            else:
                self.consistency = pass_rate_test(population, gate.min_consistency, gate.alpha, self.alpha_fail)

    def add(self, case_id: str, outcome: Outcome, consistent: Outcome | None = None) -> SuiteDecision | None:
        """Read the next case of the prefix (and its consistency, with variants); the
        suite's decision so far (sticky)."""
        self.seen += 1
        if consistent is not None:
            self.consistency_read.append(OUTCOME_CODES[consistent])
            test = self.consistency
            if test is not None and test.decision is None and test.seen < test.population:
                test.update(*OUTCOME_VALUES[consistent])
        self.counts[outcome] += 1
        self.read.append(OUTCOME_CODES[outcome])
        if self.slices is not None:
            self.slices.add(case_id, outcome)
        threshold = self.threshold
        if isinstance(threshold, ControlVariateTest):
            assert self.spec.baseline is not None
            pair = (None if outcome == "error" else int(outcome == "pass"), int(self.spec.baseline.outcomes.get(case_id) == "pass"))
            self.control_read.append(pair)
            if self.seen <= threshold.population and threshold.decision is None:
                threshold.update(*pair)
        elif self.seen <= threshold.population and threshold.decision is None:
            threshold.update(*OUTCOME_VALUES[outcome])
        if self.errors is not None and self.errors.seen < self.errors.planned:
            self.errors.update(outcome == "error")
        baseline = self.spec.baseline
        if self.paired is not None and baseline is not None and case_id in baseline.outcomes:
            self._pair(case_id, outcome, baseline.outcomes[case_id])
        if self.decision is None:
            self.decision = self._status()
            if self.decision is not None:
                self.decided_at = self.seen
                self.counts_at_decision = dict(self.counts)
        return self.decision

    @property
    def settled(self) -> bool:
        """True once the suite's verdict cannot change (the rest of its cases can be skipped)."""
        return self.decision is not None

    def more_needed(self, outcome: Outcome) -> int | None:
        """How many more cases, all with ``outcome``, the pass-rate test would need to
        settle (None: not within the population)."""
        test: BettingTest | ControlVariateTest | MeanTest = copy.deepcopy(self.threshold)
        if isinstance(test, ControlVariateTest):  # the direct test on the same reads: the future's pairs are unknown
            test = pass_rate_test(self.spec.population, self.spec.gate.min_pass_rate, self.spec.gate.alpha, self.alpha_fail)
            for code in self.read:
                test.update(int(code == OUTCOME_CODES["pass"]), int(code != OUTCOME_CODES["fail"]))
        value = int(outcome == "pass")
        extra = 0
        while test.decision is None and test.seen < test.population:
            test.update(value)
            extra += 1
        return extra if test.decision is not None else None

    def _pair(self, case_id: str, candidate: Outcome, baseline: Outcome) -> None:
        assert self.paired is not None
        self.pairs["read"] += 1
        if candidate != baseline and "error" not in (candidate, baseline):
            self.flipped["better" if candidate == "pass" else "worse"].append(case_id)
        self.pairs["candidate"] += candidate == "pass"
        self.pairs["baseline"] += baseline == "pass"
        self.pairs["better"] += candidate == "pass" and baseline == "fail"
        self.pairs["worse"] += candidate == "fail" and baseline == "pass"
        # D + 1 at its least favourable for each side: an error counts against the side.
        low, high = paired_values(candidate, baseline)
        self.paired_read.append((low, high))
        if self.paired.decision is None and self.paired.seen < self.paired.population:
            self.paired.update(low, high)

    @property
    def outage(self) -> bool:
        """Without an error budget: more than half of the cases read errored, after at least
        :data:`OUTAGE_CASES` of them (the endpoint is failing, not the model)."""
        errors = self.counts["error"]
        return self.budget is None and self.seen >= OUTAGE_CASES and 2 * errors > self.seen

    def error_reason(self) -> str:
        """Why an ERROR decision was made (over the budget, or an outage)."""
        errors, seen = self.counts["error"], self.seen
        if self.budget is not None:
            return f"{errors} errored case(s) exceed the error budget of {self.budget} (max_errors)"
        return (f"{errors} of the first {seen} cases errored: the model's endpoint is failing, not the model "
                f"(fix it and re-run; errored cases are never counted as passes)")

    def _status(self) -> SuiteDecision | None:
        if (self.budget is not None and self.counts["error"] > self.budget) or self.outage:
            return "ERROR"
        failed = (self.threshold, self.paired, self.consistency, self.slices)
        if any(test is not None and test.decision == "FAIL" for test in failed):
            return "FAIL"
        paired_ok = self.spec.baseline is None or (self.paired is not None and self.paired.decision == "PASS")
        consistent_ok = self.consistency is None or self.consistency.decision == "PASS"
        slices_ok = self.slices is None or self.slices.decision == "PASS"
        errors_ok = self.errors is None or self.errors.decision == "PASS"
        scored = self.counts["pass"] + self.counts["fail"] > 0  # errors are never evidence: a PASS reads a scored case
        if self.threshold.decision == "PASS" and errors_ok and paired_ok and consistent_ok and slices_ok and scored:
            return "PASS"
        return None
