"""Gates: a suite's case results → one verdict, and the verdicts → the exit status.

A case failing its scorer is a measurement, not a build failure. What blocks a merge is a
suite's *gate*: its pass rate below the threshold, a regression against its baseline, its
errors over the error budget, or a run cut short before the verdict was settled.

:func:`decide` is the only place a verdict is made. It feeds the completed prefix of the
sampling order to a :class:`~evalgate.verdict.monitor.SuiteMonitor` — the same monitor the
live early stop uses — and turns its state into a :class:`SuiteVerdict` that says what it
is about (which cases, which population) and what it guarantees (exact, or settled at α by
an anytime-valid test, or not settled).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, PlainSerializer, computed_field

from evalgate.derived import Derived
from evalgate.results import CaseResult
from evalgate.verdict.consistency import Consistency, consistency, describe
from evalgate.verdict.control import ControlVariateTest, control_bounds
from evalgate.verdict.distribution import MeanTest, Population, mean_bounds
from evalgate.verdict.judged import JudgeCorrection, corrected_bounds, corrected_estimate, correction
from evalgate.verdict.monitor import CODE_VALUES, OUTCOME_CODES, SuiteMonitor, SuiteSpec
from evalgate.verdict.outcomes import Outcome, PrefixReader, case_outcome
from evalgate.verdict.paired import Comparison, comparison, exact_comparison
from evalgate.verdict.sequential import confidence_bounds
from evalgate.verdict.slices import GapVerdict, SliceVerdict, slice_verdicts

EXACT = "exact: every case ran"


class Verdict(StrEnum):
    """A suite gate's outcome."""

    PASS = "PASS"
    """Every gate passes: exactly (every case ran) or settled at α."""
    FAIL = "FAIL"
    """A gate fails: exactly or settled at α (pass rate below the threshold, or a
    regression against the baseline)."""
    UNDECIDED = "UNDECIDED"
    """The cases run cannot settle the verdict at α (a capped sample, an unusable
    baseline); the gate's ``undecided`` policy says whether it blocks."""
    ERROR = "ERROR"
    """More errored cases than the error budget, or no case could be scored."""
    INCOMPLETE = "INCOMPLETE"
    """The run stopped before the verdict was settled (``-x``, Ctrl-C, a crash)."""
    SKIPPED = "SKIPPED"
    """No case of the suite ran (not in the tier, no relevant change, all deselected)."""


VerdictName = Literal["PASS", "FAIL", "UNDECIDED", "ERROR", "INCOMPLETE", "SKIPPED"]
"""A verdict as results.json writes it."""


@dataclass(frozen=True)
class SuiteVerdict(Derived):
    """A suite's verdict with the numbers behind it. The counts describe the cases the
    verdict read (``counted``): all of them when exact, the prefix that settled it when
    early. Its fields are results.json's (:class:`evalgate.document.SuiteReport` adds what
    only a report knows)."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    suite: str
    verdict: Annotated[Verdict, PlainSerializer(str, return_type=VerdictName)]
    """PASS, FAIL, UNDECIDED, ERROR, INCOMPLETE or SKIPPED. (Written as its text: a module
    imported twice — pytester's in-process runs drop what they imported — has two Verdict
    classes, and the file must not depend on which.)"""
    reason: str
    """One sentence: why this verdict, with its numbers."""
    threshold: float
    """``min_pass_rate``."""
    required: int
    """k*: passes the population needs."""
    population: int
    """Cases the verdict is about (the suite, or the selected cases)."""
    selected: bool
    """The population is a selection (``-k``, ``--lf``) of the suite."""
    max_errors: int | None
    """The error budget b of the planned cases (None: no budget; errors count as fails)."""
    counted: int
    """Cases the verdict read, in sampling order."""
    passed: int
    """Counted cases that passed."""
    scored: int
    """Counted cases with a score (passed or failed, not errored)."""
    errors: int
    """Counted cases that errored (no score)."""
    cases_run: int
    """Cases with a result (some may lie beyond the counted prefix)."""
    cases_planned: int
    """Cases the tier planned (a sample when capped)."""
    cases_total: int
    """Cases in the suite."""
    interval: tuple[float, float]
    """For the pass rate of the population (or of the distribution): exact, or anytime-valid."""
    method: str
    """How the interval was computed (exact, or which confidence sequence)."""
    confidence: float
    """The interval's coverage (1 when exact)."""
    model_seconds: float
    """Seconds spent in model calls for this suite, summed over cases (they overlap when calls
    run concurrently)."""
    cache_hits: int = 0
    """Case runs answered by the cache."""
    model_calls: int = 0
    """Case runs that called the model."""
    alpha: float = 0.05
    """The gate's α: the chance it may settle a wrong verdict."""
    alpha_fail: float = 0.05
    """The FAIL side's share of α (α split over the gates that can FAIL)."""
    decided_at: int | None = None
    """Cases (in sampling order) an early decision needed; None when not settled early."""
    repeats: int = 1
    """Runs per case (``repeats``); a case passes when a strict majority of its scored runs pass."""
    blocks_merge: bool = False
    """True when this verdict must fail the build."""
    baseline: Comparison | None = None
    """The comparison with the baseline run, when the suite has one."""
    exact: bool = False
    """Every case of the population ran and the verdict is about these cases: known, not estimated."""
    more_needed: int | None = None
    """For an UNDECIDED verdict: the fewest further cases that could settle it."""
    first_error: Annotated[str | None, Field(exclude=True)] = None
    """The first errored case's message (the reason quotes it)."""
    codes: Annotated[tuple[int, ...], Field(exclude=True)] = ()
    """Outcome codes of the counted cases in sampling order (see ``OUTCOME_CODES``): what
    :func:`interval_trajectory` replays for the report's picture."""
    wall_seconds: float | None = None
    """Wall time from the suite's first case starting to its last finishing (set by the run)."""
    file: str | None = None
    """The suite's file from the repository's top (the project root outside git; set by the
    run), so CI annotations land on the diff and JUnit readers can point at it."""
    line: int | None = None
    """The line of the suite's gate in that file, where known."""
    consistency: Consistency | None = None
    """Consistency under the tier's robustness variants (None when it ran none)."""
    slices: tuple[SliceVerdict, ...] = ()
    """Each slice's verdict (``[gate.slices]``), in the order of first appearance."""
    control: int | None = None
    """The baseline's exact pass count, when the pass-rate test used it as control variate."""
    control_pairs: Annotated[tuple[tuple[int | None, int], ...], Field(exclude=True)] = ()
    """With a control: ``(candidate, baseline)`` of the counted cases, for the picture's intervals."""
    gap: GapVerdict | None = None
    """The gap between the best and the worst gated slice (with ``max_gap``)."""
    population_kind: Population = "suite"
    """What the pass-rate verdict is about: these cases (``suite``) or the distribution they sample."""
    regression_kind: Population = "distribution"
    """What the baseline comparison is about."""
    calls_after_verdict: int = 0
    """Model calls made for cases beyond the prefix that settled the verdict: calls already in
    flight or dispatched ahead when it settled (the price of concurrency, at most about twice
    the model's concurrency)."""
    judge: JudgeCorrection | None = None
    """For a suite scored by a judge with people's labels: the judged (raw) rate and the
    judge's measured errors; the verdict, its interval and ``pass_rate``'s meaning are then
    the corrected ones (:mod:`evalgate.verdict.judged`)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pass_rate(self) -> float | None:
        """Share of the counted cases that passed (an errored case is not a pass); None
        when none was counted."""
        return self.passed / self.counted if self.counted else None

    @property
    def saved_by_sampling(self) -> int:
        """Case runs the tier's cap left out of the population."""
        if self.verdict == Verdict.SKIPPED:
            return 0
        return max(0, self.population - self.cases_planned) * self.repeats

    @property
    def saved_by_early_stop(self) -> int:
        """Planned case runs skipped because the verdict was already settled."""
        if self.decided_at is None:
            return 0
        return max(0, self.cases_planned - self.cases_run) * self.repeats


def decide(spec: SuiteSpec, results: Iterable[CaseResult]) -> SuiteVerdict:
    """The verdict of one suite from its results (any order, any subset)."""
    reader = PrefixReader(spec.order, spec.repeats, spec.variants)
    hits = calls = 0
    seconds = 0.0
    first_error = None
    results = list(results)
    for result in results:
        reader.take(result)
        hits += result.cached
        calls += not result.cached
        seconds += result.latency
        if result.error is not None and first_error is None:
            first_error = result.error.message
    monitor = SuiteMonitor(spec)
    prefix = reader.advance()
    for case_id, outcome, consistent in prefix:
        monitor.add(case_id, outcome, consistent)
    runs = reader.runs
    outcomes = {case_id: case_outcome(case_runs) for case_id, case_runs in runs.items() if len(case_runs) >= spec.repeats}
    prefix_outcomes = {case_id: outcome for case_id, outcome, _ in prefix}
    maker = _VerdictMaker(spec, monitor, outcomes, len(runs), hits, calls, seconds, first_error, prefix_outcomes)
    made = maker.with_slices(maker.with_consistency(maker.verdict(), reader.flips))
    if made.judge is not None and made.verdict != Verdict.SKIPPED:
        made = replace(made, reason=f"{made.reason}; {_judge_text(made.judge)}")
    if made.decided_at is not None:
        settled = set(spec.order[: made.decided_at])
        after = sum(1 for result in results if not result.cached and result.case_id not in settled)
        made = replace(made, calls_after_verdict=after)
    return made


class _VerdictMaker:
    """Turns a monitor's state and the run's facts into a verdict (one use)."""

    def __init__(
        self,
        spec: SuiteSpec,
        monitor: SuiteMonitor,
        outcomes: dict[str, Outcome],
        ran: int,
        hits: int,
        calls: int,
        seconds: float,
        first_error: str | None,
        prefix: dict[str, Outcome],
    ) -> None:
        self.spec, self.monitor, self.outcomes = spec, monitor, outcomes
        self.ran, self.hits, self.calls, self.seconds = ran, hits, calls, seconds
        self.first_error, self.prefix = first_error, prefix
        self.gate = spec.gate
        self.complete = len(prefix) == len(spec.order)
        """Every planned case has all its runs."""
        self.exact = self.complete and not spec.capped and bool(spec.order) and spec.kind == "suite"
        """Every case of the population ran, and the verdict is about them (never about a distribution)."""

    def verdict(self) -> SuiteVerdict:
        spec = self.spec
        if spec.skip_reason is not None:
            return self._make(Verdict.SKIPPED, spec.skip_reason, False, counted=0)
        if not spec.order:
            return self._make(Verdict.SKIPPED, "none of its cases was collected (deselected by -k, -m or --lf, or outside the paths given)", False, counted=0)
        if self.exact:
            return self._exact()
        return self._sampled()

    # --- every case of the population ran ---------------------------------------------

    def _exact(self) -> SuiteVerdict:
        monitor, spec = self.monitor, self.spec
        counts = monitor.counts
        n = spec.population
        if monitor.budget is not None and counts["error"] > monitor.budget:
            return self._error(counts["error"], n, exact=True)
        if counts["error"] == n:
            return self._make(Verdict.ERROR, self._no_score(), True, counted=n, exact=True)
        passes = counts["pass"]
        if monitor.budget is None and passes < monitor.required <= passes + counts["error"]:
            first = f"; first error: {self.first_error}" if self.first_error else ""
            return self._make(Verdict.ERROR, f"{counts['error']} errored case(s) decide it: {passes} of {n} pass, "
                              f"{monitor.required} needed, and the errored ones were never scored (re-run them){first}",
                              True, counted=n, exact=True)
        relation = "≥" if passes >= monitor.required else "<"
        verdict = Verdict.PASS if passes >= monitor.required else Verdict.FAIL
        everything = f"all {self._cases(n)}" if not spec.selected else self._cases(n)
        reason = f"pass rate {passes / n:.1%} {relation} {self._threshold()} ({everything}; {passes} pass, {monitor.required} needed)"
        compared, reason, verdict, blocks = self._with_baseline(verdict, reason, exact=True)
        return self._make(verdict, reason, blocks, counted=n, exact=True, baseline=compared)

    # --- a sample, or an early stop ---------------------------------------------------

    def _sampled(self) -> SuiteVerdict:
        monitor, spec = self.monitor, self.spec
        # The monitor's decision comes first: it is the one the live early stop acted on.
        if monitor.decision == "ERROR":
            assert monitor.decided_at is not None
            if monitor.budget is None:
                first = f"; first error: {self.first_error}" if self.first_error else ""
                return self._make(Verdict.ERROR, monitor.error_reason() + first, True, counted=monitor.decided_at)
            return self._error(monitor.counts_at_decision["error"], monitor.decided_at)
        if monitor.decision in ("PASS", "FAIL"):
            return self._settled()
        observed_errors = sum(outcome == "error" for outcome in self.outcomes.values())
        if monitor.budget is not None and observed_errors > monitor.budget:  # beyond the prefix too: an exact fact
            return self._error(observed_errors, monitor.seen)
        if not self.complete:
            why = (f"{spec.stopped}, before the verdict was settled: {len(self.prefix)} of {len(spec.order)} planned cases "
                   f"ran in order (never a PASS on what the budget left out)" if spec.stopped else
                   f"only {len(self.prefix)} of {len(spec.order)} planned cases ran in order; the run stopped before "
                   f"the verdict was settled")
            return self._make(Verdict.INCOMPLETE, why, True, counted=monitor.seen)
        if monitor.counts["error"] == monitor.seen:
            return self._make(Verdict.ERROR, self._no_score(), True, counted=monitor.seen)
        too_wide = self._judge_too_wide()
        if too_wide is not None:
            return self._make(Verdict.ERROR, too_wide, True, counted=monitor.seen)
        return self._undecided()

    def _judge_too_wide(self) -> str | None:
        """Why a judged suite that read every planned case is an ERROR rather than UNDECIDED:
        the judge's own verdicts settle against the threshold, but the judge's errors, as few
        labels bound them, leave the corrected rate undecidable. More cases would not help —
        only more labels (or a better judge) would — so the gate refuses instead of waving a
        judge's opinion through as a warning. None when the judged rate is itself unsettled
        (then more cases could decide it: an ordinary UNDECIDED)."""
        spec, monitor, gate = self.spec, self.monitor, self.gate
        if spec.judge is None or monitor.threshold.decision is not None or not monitor.seen:
            return None
        judged = self._judged_bounds(monitor.seen)
        if gate.min_pass_rate > judged[0] and gate.min_pass_rate <= judged[1]:
            return None
        low, high = corrected_bounds(judged, spec.judge, gate.alpha, monitor.alpha_fail)
        side = "above" if judged[0] >= gate.min_pass_rate else "below"
        return (f"the judge's errors leave it undecidable: the judge's own verdicts settle {side} {self._threshold()} "
                f"(judged rate in [{percent_text(judged[0])}, {percent_text(judged[1])}]), but corrected for the errors its "
                f"{spec.judge.labels} labels allow, the pass rate lies in [{percent_text(low)}, {percent_text(high)}] — more cases "
                f"cannot narrow that; label more outputs (evalgate judge-check --results says how many) or use a better judge")

    def _judged_bounds(self, counted: int) -> tuple[float, float]:
        """The anytime-valid bounds on the judged rate of the first ``counted`` cases, each
        side at half its α (the other half bounds the judge's errors): one definition for
        the verdict's interval and for the refusal that compares it with the threshold."""
        values = [CODE_VALUES[code] for code in self.monitor.read[:counted]]
        return mean_bounds(values, self.gate.alpha / 2, alpha_high=self.monitor.alpha_fail / 2)

    def _settled(self) -> SuiteVerdict:
        monitor = self.monitor
        at = monitor.decided_at
        assert at is not None and monitor.decision is not None
        counts = monitor.counts_at_decision
        verdict = Verdict(monitor.decision)
        threshold_side = monitor.threshold.decision
        if verdict == Verdict.FAIL and (
            (monitor.consistency is not None and monitor.consistency.decision == "FAIL")
            or (monitor.slices is not None and monitor.slices.decision == "FAIL")
        ):
            reason = ""  # the consistency or a slice gate failed: with_consistency / with_slices say how
        elif verdict == Verdict.FAIL and threshold_side != "FAIL":
            reason = "regression vs baseline"  # replaced below with the comparison's numbers
        elif monitor.threshold.by_counting:  # certain: no outcome of the unread cases can change it
            need = (f"{counts['pass']} pass, {monitor.required} needed" if verdict == Verdict.PASS
                    else f"{counts['pass']} pass: even if every other case passed, the {monitor.required} needed are out of reach")
            relation = "≥" if verdict == Verdict.PASS else "<"
            reason = (f"pass rate {relation} {self._threshold()}: certain after {at} of {self._cases(self.spec.population)} "
                      f"by counting ({need})")
        else:
            relation = ("≥" if verdict == Verdict.PASS else "<") if self.spec.kind == "suite" else (">" if verdict == Verdict.PASS else "<")
            reason = (
                f"pass rate {self._of()}{relation} {self._threshold()}: settled after {at} of {self._cases(self.spec.population)} "
                f"({counts['pass'] / at:.1%} so far) by an anytime-valid test at {self._alpha_text(verdict)}"
            )
        compared, reason, verdict, blocks = self._with_baseline(verdict, reason, exact=False)
        return self._make(verdict, reason, blocks, counted=at, decided_at=at, baseline=compared)

    def _undecided(self) -> SuiteVerdict:
        monitor, spec, gate = self.monitor, self.spec, self.gate
        counts, n = monitor.counts, monitor.seen
        estimate = counts["pass"] / n
        if spec.judge is not None:  # the judge's opinion corrected for its errors, as the gate decides
            estimate = corrected_estimate(estimate, spec.judge) or 0.0
        likely: Outcome = "pass" if estimate >= gate.min_pass_rate else "fail"
        more = monitor.more_needed(likely)
        what = "PASS" if likely == "pass" else "FAIL"
        need = (
            f"a settled {what} needs at least {more} more case(s), all {'passing' if likely == 'pass' else 'failing'}"
            if more is not None
            else f"no outcome of the remaining cases can settle it at α = {gate.alpha:g}"
        )
        if spec.judge is not None:
            why = (f"the {len(spec.order)} cases read cannot settle the pass rate, corrected for the judge's errors, of the "
                   f"distribution they sample against {self._threshold()} at α = {gate.alpha:g} (the judge's labels bound its "
                   f"errors; more labels or more cases narrow it)")
        elif spec.kind == "distribution":
            why = (f"the {len(spec.order)} cases read cannot settle the distribution's pass rate against {self._threshold()} "
                   f"at α = {gate.alpha:g} (a sample of the inputs: never exact)")
        elif spec.capped:
            why = f"a sample of {len(spec.order)} of {self._cases(spec.population)} cannot settle pass rate ≥ {self._threshold()} at α = {gate.alpha:g}"
        else:
            why = f"the cases run cannot settle pass rate ≥ {self._threshold()} at α = {gate.alpha:g}"
        if monitor.threshold.decision == "PASS":
            why = f"pass rate ≥ {self._threshold()} is settled, but not the baseline comparison"
            need = ""
        problem = spec.baseline_problem()
        if problem is not None:
            why = f"{why}; {problem}" if monitor.threshold.decision != "PASS" else f"pass rate ≥ {self._threshold()} is settled, but {problem}"
        compared = comparison(monitor) if spec.baseline is not None and monitor.paired is not None else None
        estimate_ok = estimate >= gate.min_pass_rate and (compared is None or compared.difference >= -gate.max_regression)
        blocks = {"warn": False, "fail": True, "estimate": not estimate_ok}[gate.undecided]
        effect = "blocks the merge" if blocks else "does not block"
        detail = f" (estimate {estimate:.1%}{self._delta_text(compared)})"
        reason = f"{why}{detail}; {need + '; ' if need else ''}policy '{gate.undecided}' {effect}"
        return self._make(Verdict.UNDECIDED, reason, blocks, counted=n, baseline=compared, more_needed=more)

    # --- consistency ------------------------------------------------------------------

    def with_consistency(self, made: SuiteVerdict, flips: list[tuple[int, str, str]]) -> SuiteVerdict:
        """The verdict with the consistency under variants added: measured always, and a
        gate of its own with ``min_consistency`` (a settled FAIL fails the suite, an
        unsettled one cannot PASS it)."""
        measured = consistency(self.monitor, made.counted, made.exact, flips)
        if measured is None or made.verdict == Verdict.SKIPPED:
            return made
        made = replace(made, consistency=measured)
        text = describe(measured, self._alpha_text(Verdict(measured.decision or "PASS")))
        if measured.threshold is None or made.verdict in (Verdict.ERROR, Verdict.INCOMPLETE):
            return replace(made, reason=f"{made.reason}; {text}")
        if measured.decision == "FAIL":
            reason = text if not made.reason else f"{text}; {made.reason}"
            return replace(made, verdict=Verdict.FAIL, blocks_merge=True, reason=reason)
        if measured.decision == "PASS" or made.verdict != Verdict.PASS:
            return replace(made, reason=f"{made.reason}; {text}")
        policy = self.gate.undecided
        blocks = policy == "fail" or (policy == "estimate" and (measured.rate or 0.0) < measured.threshold)
        effect = "blocks the merge" if blocks else "does not block"
        return replace(made, verdict=Verdict.UNDECIDED, blocks_merge=blocks, reason=f"{made.reason}; {text}; policy '{policy}' {effect}")

    # --- slices -----------------------------------------------------------------------

    def with_slices(self, made: SuiteVerdict) -> SuiteVerdict:
        """The verdict with every slice's and the gap's: a failing slice (or gap) fails the
        suite and is named first; a slice not settled keeps a PASS from standing (UNDECIDED,
        by the gate's policy)."""
        tracker = self.monitor.slices
        if tracker is None or made.verdict == Verdict.SKIPPED:
            return made
        slices, gap = slice_verdicts(tracker, made.counted, made.exact)
        made = replace(made, slices=slices, gap=gap)
        failing = [s for s in slices if s.gated and s.decision == "FAIL"]
        open_ = [s for s in slices if s.gated and s.decision is None]
        parts = [_slice_text(s, made.alpha_fail) for s in sorted(failing, key=lambda s: s.pass_rate or 0.0)]
        if gap is not None and gap.decision == "FAIL":
            parts.append(_gap_text(gap))
        if made.verdict in (Verdict.ERROR, Verdict.INCOMPLETE):
            return made
        if parts:
            reason = "; ".join(parts) + (f"; {made.reason}" if made.reason else "")
            return replace(made, verdict=Verdict.FAIL, blocks_merge=True, reason=reason)
        gated = [s for s in slices if s.gated]
        settled = f"every one of {len(gated)} slice(s) ≥ {made.slices[0].threshold:.1%}" if gated and not open_ else ""
        gap_note = f"; {_gap_text(gap)}" if gap is not None else ""
        if made.verdict != Verdict.PASS or not (open_ or (gap is not None and gap.decision is None)):
            extra = settled or (f"slices not settled: {', '.join(s.tag for s in open_)}" if open_ else "")
            return replace(made, reason=f"{made.reason}{'; ' + extra if extra else ''}{gap_note}")
        policy = self.gate.undecided
        blocks = policy == "fail" or (policy == "estimate" and any((s.pass_rate or 0.0) < s.threshold for s in open_))
        effect = "blocks the merge" if blocks else "does not block"
        unsettled = ", ".join(s.tag for s in open_) or "the gap"
        return replace(made, verdict=Verdict.UNDECIDED, blocks_merge=blocks,
                       reason=f"{made.reason}; slices not settled at α: {unsettled}{gap_note}; policy '{policy}' {effect}")

    # --- baseline ---------------------------------------------------------------------

    def _with_baseline(
        self, verdict: Verdict, reason: str, exact: bool
    ) -> tuple[Comparison | None, str, Verdict, bool]:
        """Combine the pass-rate verdict with the baseline comparison."""
        spec, monitor, gate = self.spec, self.monitor, self.gate
        blocks = verdict == Verdict.FAIL
        if spec.baseline is None:
            return None, reason, verdict, blocks
        problem = spec.baseline_problem()
        if problem is not None or monitor.paired is None:
            if verdict == Verdict.FAIL:
                return None, reason, verdict, True
            undecided_blocks = gate.undecided == "fail"
            return None, f"{reason}; {problem}", Verdict.UNDECIDED, undecided_blocks
        everything = exact and spec.regression_kind == "suite" and all(case in spec.baseline.outcomes for case in spec.order)
        decision = None
        if everything:
            both = {case: self.outcomes[case] for case in spec.order}
            decision = exact_comparison(both, {case: spec.baseline.outcomes[case] for case in spec.order}, monitor.paired_required)
        compared = comparison(monitor, decision)
        margin = f"{gate.max_regression:.1%}" + (" on the distribution" if spec.regression_kind == "distribution" else "")
        delta = self._delta_text(compared).removeprefix(", ")
        if compared.decision == "FAIL":
            return compared, f"regression vs baseline larger than {margin}: {delta}", Verdict.FAIL, True
        if verdict == Verdict.FAIL:
            return compared, reason, verdict, True
        if compared.decision == "PASS":
            how = "" if compared.exact else f", settled at α = {gate.alpha:g}"
            return compared, f"{reason}; no regression vs baseline larger than {margin} ({delta}{how})", verdict, False
        undecided_blocks = gate.undecided == "fail" or (gate.undecided == "estimate" and compared.difference < -gate.max_regression)
        return (
            compared,
            f"{reason}; the baseline comparison{' on the distribution' if spec.regression_kind == 'distribution' else ''} "
            f"is not settled at α = {gate.alpha:g} ({delta}); "
            f"policy '{gate.undecided}' {'blocks the merge' if undecided_blocks else 'does not block'}",
            Verdict.UNDECIDED,
            undecided_blocks,
        )

    # --- pieces -----------------------------------------------------------------------

    def _error(self, errors: int, counted: int, exact: bool = False) -> SuiteVerdict:
        first = f"; first error: {self.first_error}" if self.first_error else ""
        reason = f"{errors} errored case(s) exceed the error budget of {self.monitor.budget} (max_errors){first}"
        return self._make(Verdict.ERROR, reason, True, counted=counted, exact=exact)

    def _no_score(self) -> str:
        first = f"; first error: {self.first_error}" if self.first_error else ""
        return f"no case could be scored: every case run errored{first}"

    def _threshold(self) -> str:
        return f"{self.gate.min_pass_rate:.1%}"

    def _of(self) -> str:
        """What the pass rate is of, when not these cases: the distribution the cases sample
        (corrected for the judge's errors when the judge's labels say how it errs)."""
        if self.spec.judge is not None:
            return "(corrected for the judge's errors) of the distribution the cases sample "
        return "of the distribution the cases sample " if self.spec.kind == "distribution" else ""

    def _cases(self, n: int) -> str:
        return f"the {n} selected cases" if self.spec.selected else f"{n} cases"

    def _alpha_text(self, verdict: Verdict) -> str:
        if verdict == Verdict.FAIL and self.monitor.alpha_fail < self.gate.alpha:
            cap = self.spec.alpha_fail_cap
            whose = ("the run's α split over its suites and the suite's gates" if cap is not None and cap < self.gate.alpha
                     else f"α = {self.gate.alpha:g} split over the suite's gates")
            return f"α = {self.monitor.alpha_fail:.3g} ({whose})"
        return f"α = {self.gate.alpha:g}"

    @staticmethod
    def _delta_text(compared: Comparison | None) -> str:
        if compared is None:
            return ""
        return f", Δ = {compared.difference:+.1%} over {compared.pairs} paired cases"

    def _make(
        self,
        verdict: Verdict,
        reason: str,
        blocks: bool,
        *,
        counted: int,
        exact: bool = False,
        decided_at: int | None = None,
        baseline: Comparison | None = None,
        more_needed: int | None = None,
    ) -> SuiteVerdict:
        spec, monitor, gate = self.spec, self.monitor, self.gate
        codes = monitor.read[:counted]
        values = [CODE_VALUES[code] for code in codes]
        counts = {outcome: codes.count(code) for outcome, code in OUTCOME_CODES.items()}
        if exact:
            passes = counts["pass"]
            interval, method, confidence = (passes / spec.population,) * 2, EXACT, 1.0
        elif values and spec.judge is not None:
            interval = corrected_bounds(self._judged_bounds(counted), spec.judge, gate.alpha, monitor.alpha_fail)
            confidence = 1 - gate.alpha - monitor.alpha_fail
            method = (f"anytime-valid {confidence:.1%} CS for the judged rate, corrected for the judge's errors "
                      f"(Rogan–Gladen over Clopper–Pearson bounds from {spec.judge.labels} labels)").replace(".0%", "%")
        elif values and isinstance(monitor.threshold, MeanTest):
            interval = mean_bounds(values, gate.alpha, alpha_high=monitor.alpha_fail)
            confidence = 1 - gate.alpha - monitor.alpha_fail
            method = f"anytime-valid {confidence:.1%} CS for the distribution's rate".replace(".0%", "%")
        elif values and isinstance(monitor.threshold, ControlVariateTest):
            assert spec.control is not None
            interval = control_bounds(monitor.control_read[:counted], spec.population, spec.control, gate.alpha, monitor.alpha_fail)
            confidence = 1 - gate.alpha - monitor.alpha_fail
            method = f"anytime-valid {confidence:.1%} CS, the baseline's exact rate as control variate".replace(".0%", "%")
        elif values:
            interval = confidence_bounds(values, spec.population, gate.alpha, alpha_high=monitor.alpha_fail)
            confidence = 1 - gate.alpha - monitor.alpha_fail
            method = f"anytime-valid {confidence:.1%} CS".replace(".0%", "%")
        else:
            interval, method, confidence = (0.0, 1.0), "no case read", 0.0
        return SuiteVerdict(
            suite=spec.name,
            verdict=verdict,
            reason=reason,
            threshold=gate.min_pass_rate,
            required=monitor.required,
            population=spec.population,
            selected=spec.selected,
            max_errors=monitor.budget,
            counted=counted,
            passed=counts["pass"],
            scored=counts["pass"] + counts["fail"],
            errors=counts["error"],
            cases_run=self.ran,
            cases_planned=len(spec.order),
            cases_total=spec.total,
            interval=(float(interval[0]), float(interval[1])),
            method=method,
            confidence=confidence,
            model_seconds=self.seconds,
            cache_hits=self.hits,
            model_calls=self.calls,
            alpha=gate.alpha,
            alpha_fail=monitor.alpha_fail,
            decided_at=decided_at,
            repeats=spec.repeats,
            blocks_merge=blocks,
            baseline=baseline,
            exact=exact,
            more_needed=more_needed,
            first_error=self.first_error,
            codes=tuple(codes),
            control=spec.control if isinstance(monitor.threshold, ControlVariateTest) else None,
            control_pairs=tuple(monitor.control_read[:counted]) if isinstance(monitor.threshold, ControlVariateTest) else (),
            population_kind=spec.kind,
            regression_kind=spec.regression_kind,
            judge=self._judge_report(values, counted),
        )

    def _judge_report(self, values: list[tuple[int, int]], counted: int) -> JudgeCorrection | None:
        spec, gate = self.spec, self.gate
        if spec.judge is None:
            return None
        judged = mean_bounds(values, gate.alpha / 2, alpha_high=self.monitor.alpha_fail / 2) if values else (0.0, 1.0)
        passes = sum(low for low, _ in values)
        return correction(spec.judge, passes / counted if counted else None, judged, gate.alpha)


def _slice_text(verdict: SliceVerdict, alpha_fail: float) -> str:
    if verdict.regression == "FAIL" and verdict.max_regression is not None:
        delta = "" if verdict.delta is None else f"Δ = {verdict.delta:+.1%} over its paired cases; "
        how = "exact" if verdict.exact else f"settled at α = {alpha_fail:.3g}"
        return f"slice {verdict.tag}: regression vs baseline larger than {verdict.max_regression:.1%} ({delta}{how})"
    how = (f"{verdict.passed} of {verdict.population} pass, {verdict.required} needed" if verdict.exact
           else f"settled after {verdict.read} of its {verdict.population} cases at α = {alpha_fail:.3g}")
    return f"slice {verdict.tag}: pass rate {percent_text(verdict.pass_rate)} < {verdict.threshold:.1%} ({how})"


def _gap_text(gap: GapVerdict) -> str:
    low, high = gap.interval
    spread = f"{low:.1%}" if gap.exact else f"[{low:.1%}, {high:.1%}]"
    verb = {"PASS": "within", "FAIL": "beyond", None: "not settled against"}[gap.decision]
    return f"gap {gap.best} − {gap.worst} {spread} {verb} max_gap {gap.max_gap:.1%}"


def _judge_text(judge: JudgeCorrection) -> str:
    calibration = judge.calibration
    sensitivity, specificity = judge.sensitivity_interval, judge.specificity_interval
    return (f"the judge passed {percent_text(judge.judged_rate)} of the cases read, corrected {percent_text(judge.corrected_rate)} "
            f"(sensitivity [{sensitivity[0]:.2f}, {sensitivity[1]:.2f}], specificity [{specificity[0]:.2f}, {specificity[1]:.2f}] "
            f"from {calibration.labels} labels)")


def percent_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def interval_trajectory(verdict: SuiteVerdict, points: int = 14) -> list[tuple[int, float, float]]:
    """The verdict's interval after k counted cases, for k = 1, 2, 4, … up to ``counted``
    (and the last): how the anytime-valid interval narrowed until it settled. Each point is
    the same computation as the verdict's own interval on that prefix; the grid is
    geometric so a 10,000-case suite costs a few dozen prefixes, not 10,000."""
    values = [CODE_VALUES[code] for code in verdict.codes]
    if not values or verdict.verdict == Verdict.SKIPPED:
        return []
    grid = sorted({min(len(values), 2**i) for i in range(points)} | {len(values)})
    trajectory = []
    for k in grid:
        if verdict.control is not None and verdict.control_pairs:  # the verdict's own method
            low, high = control_bounds(verdict.control_pairs[:k], verdict.population, verdict.control, verdict.alpha, verdict.alpha_fail)
        elif verdict.judge is not None:
            judged = mean_bounds(values[:k], verdict.alpha / 2, alpha_high=verdict.alpha_fail / 2)
            low, high = corrected_bounds(judged, verdict.judge.calibration, verdict.alpha, verdict.alpha_fail)
        elif verdict.population_kind == "distribution":
            low, high = mean_bounds(values[:k], verdict.alpha, alpha_high=verdict.alpha_fail)
        else:
            low, high = confidence_bounds(values[:k], verdict.population, verdict.alpha, alpha_high=verdict.alpha_fail)
        trajectory.append((k, float(low), float(high)))
    return trajectory


def exit_status(pytest_status: int, verdicts: Sequence[SuiteVerdict], other_failures: int) -> int:
    """The process exit status once gates are known.

    ``pytest_status`` is pytest's own; only its "ok" (0) and "tests failed" (1) are
    revisited — interruptions, usage and internal errors stand. ``other_failures``
    counts failed items that are not eval cases (ordinary tests in the same run): they
    fail the build as always. Eval-case failures (errored cases) do not by themselves:
    the error budget, applied by the gate, decides.
    """
    if pytest_status not in (0, 1):
        return pytest_status
    if other_failures or any(verdict.blocks_merge for verdict in verdicts):
        return 1
    return 0
