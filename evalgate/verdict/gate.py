"""Gates: a suite's case results → one verdict, and the verdicts → the exit status.

A case failing its scorer is a measurement, not a build failure. What blocks a merge is
a suite's *gate*: its pass rate below the threshold, its errors over the error budget,
or a run cut short before every planned case ran.

Decisions from a sample read the cases in *sampling order* and stop at the first case
after which an anytime-valid test (:mod:`evalgate.verdict.sequential`) settles "the suite's pass
rate is at least the threshold" at the gate's α. The same function decides during the
run (to skip what is no longer needed) and afterwards (for the reports), so a verdict
depends only on the results and their order, never on when they arrived.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from evalgate.config import GateConfig
from evalgate.results import CaseResult, case_outcome
from evalgate.verdict.paired import Comparison, compare
from evalgate.verdict.sequential import SequentialTest, confidence_interval

EXACT = "exact: every case ran"
ANYTIME = "anytime-valid {confidence} CS"
"""A betting confidence sequence for sampling without replacement (see evalgate.verdict.sequential)."""


class Verdict(StrEnum):
    """A suite gate's outcome."""

    PASS = "PASS"
    """Pass rate at or above the threshold (settled), errors within budget."""
    FAIL = "FAIL"
    """Pass rate below the threshold (settled)."""
    UNDECIDED = "UNDECIDED"
    """A capped sample that cannot settle the verdict at α; the gate's ``undecided``
    policy says whether it blocks."""
    ERROR = "ERROR"
    """More errored cases than the error budget allows."""
    INCOMPLETE = "INCOMPLETE"
    """The run stopped before the verdict was settled (``-x``, Ctrl-C, a crash)."""
    SKIPPED = "SKIPPED"
    """No case of the suite ran (not in the tier, no relevant change, all deselected)."""


@dataclass(frozen=True)
class SuiteVerdict:
    """A suite's verdict with the numbers behind it."""

    suite: str
    verdict: Verdict
    reason: str
    threshold: float
    max_errors: int
    passed: int
    """Cases that passed (a case with repeats passes when most of its scored repeats do)."""
    scored: int
    """Cases with at least one scored run."""
    errors: int
    """Cases with no scored run because every run errored."""
    cases_run: int
    cases_planned: int
    cases_total: int
    interval: tuple[float, float]
    method: str
    confidence: float
    seconds: float
    """Time spent in model calls for this suite."""
    cache_hits: int = 0
    """Case runs answered by the cache: model calls saved."""
    model_calls: int = 0
    """Case runs that called the model."""
    alpha: float = 0.05
    decided_at: int | None = None
    """Cases (in sampling order) the decision needed; None when not settled."""
    repeats: int = 1
    blocks: bool = False
    """Whether this verdict fails the build (see ``blocks_merge``)."""
    comparison: Comparison | None = None
    """The baseline comparison, when the gate has a baseline."""

    @property
    def pass_rate(self) -> float | None:
        """Share of the cases run that passed (an errored case is not a pass); None when
        no case ran."""
        ran = self.scored + self.errors
        return self.passed / ran if ran else None

    @property
    def blocks_merge(self) -> bool:
        """True when this verdict must fail the build."""
        return self.blocks

    @property
    def saved_by_sampling(self) -> int:
        """Case runs the tier's cap left out."""
        return (self.cases_total - self.cases_planned) * self.repeats if self.verdict != Verdict.SKIPPED else 0

    @property
    def saved_by_early_stop(self) -> int:
        """Planned case runs skipped because the verdict was already settled."""
        if self.decided_at is None:
            return 0
        return max(0, self.cases_planned - self.cases_run) * self.repeats


def prefix_outcomes(order: Sequence[str], runs: dict[str, list[CaseResult]], repeats: int) -> list[bool]:
    """Outcomes of the longest prefix of ``order`` whose cases have all their runs.
    An errored case counts as not passed: errors never help a suite pass."""
    outcomes = []
    for case_id in order:
        case_runs = runs.get(case_id, [])
        if len(case_runs) < repeats:
            break
        outcomes.append(bool(case_outcome(case_runs)))
    return outcomes


def settle(outcomes: Iterable[bool], total: int, gate: GateConfig) -> SequentialTest:
    """Run the anytime-valid test over outcomes in sampling order until it decides."""
    test = SequentialTest(total, gate.min_pass_rate, gate.alpha)
    for outcome in outcomes:
        if test.update(outcome) is not None:
            break
    return test


def decide(
    suite: str,
    gate: GateConfig,
    results: Iterable[CaseResult],
    order: Sequence[str],
    total: int,
    repeats: int = 1,
    skip_reason: str | None = None,
    baseline: Mapping[str, bool] | None = None,
) -> SuiteVerdict:
    """The verdict of one suite.

    ``order`` lists the case ids the run planned (after tier sampling and ``-k``), in
    sampling order; ``total`` is how many cases the suite has; ``skip_reason`` says why
    the suite does not run at all, None when it runs; ``baseline`` maps case ids to a
    baseline run's outcomes, for the "no regression larger than max_regression" gate.
    """
    runs: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        runs[result.case_id].append(result)
    passed = scored = errors = hits = calls = 0
    seconds = 0.0
    for case_runs in runs.values():
        seconds += sum(run.latency for run in case_runs)
        hits += sum(run.cached for run in case_runs)
        calls += sum(not run.cached for run in case_runs)
        outcome = case_outcome(case_runs)
        if outcome is None:
            errors += 1
        else:
            scored += 1
            passed += outcome
    prefix = prefix_outcomes(order, runs, repeats)
    test = settle(prefix, total, gate)
    used = prefix[: test.decided_at] if test.decided_at is not None else prefix
    if len(runs) >= total:
        interval, method = (passed / total, passed / total), EXACT
    else:
        interval, method = confidence_interval(used, total, gate.alpha), ANYTIME
    verdict, reason, blocks = _verdict(gate, test, passed, scored, errors, len(runs), len(order), total, skip_reason)
    comparison = None
    if baseline is not None and verdict not in (Verdict.SKIPPED, Verdict.ERROR, Verdict.INCOMPLETE):
        complete = {case_id: case_outcome(case_runs) for case_id, case_runs in runs.items() if len(case_runs) >= repeats}
        comparison = compare(order, complete, baseline, gate.max_regression, gate.alpha)
        verdict, reason, blocks = _with_baseline(gate, comparison, verdict, reason, blocks, len(runs) >= total)
    return SuiteVerdict(
        suite=suite,
        verdict=verdict,
        reason=reason,
        threshold=gate.min_pass_rate,
        max_errors=gate.max_errors,
        passed=passed,
        scored=scored,
        errors=errors,
        cases_run=len(runs),
        cases_planned=len(order),
        cases_total=total,
        interval=(float(interval[0]), float(interval[1])),
        method=method.format(confidence=f"{1 - 2 * gate.alpha:.0%}"),
        confidence=1 - 2 * gate.alpha if method == ANYTIME else 1.0,
        seconds=seconds,
        cache_hits=hits,
        model_calls=calls,
        alpha=gate.alpha,
        decided_at=test.decided_at,
        repeats=repeats,
        blocks=blocks,
        comparison=comparison,
    )


def _with_baseline(
    gate: GateConfig, comparison: Comparison, verdict: Verdict, reason: str, blocks: bool, everything: bool
) -> tuple[Verdict, str, bool]:
    """Combine the threshold verdict with the baseline comparison: a regression beyond
    ``max_regression`` fails the gate; an unsettled comparison leaves it UNDECIDED."""
    delta = f"Δ = {comparison.difference:+.1%} over {comparison.pairs} paired cases"
    margin = f"{gate.max_regression:.1%}"
    if comparison.pairs == 0:
        return Verdict.UNDECIDED, f"{reason}; no case in common with the baseline", gate.undecided != "pass"
    exact = everything and comparison.decided_at in (None, comparison.pairs)
    if comparison.decision == "FAIL" or (exact and comparison.difference < -gate.max_regression):
        return Verdict.FAIL, f"regression vs baseline larger than {margin}: {delta}", True
    if comparison.decision == "PASS" or exact:
        return verdict, f"{reason}; no regression vs baseline larger than {margin} ({delta})", blocks
    if verdict == Verdict.FAIL:
        return verdict, reason, blocks
    estimate_ok = comparison.difference >= -gate.max_regression
    undecided_blocks = {"fail": True, "pass": False, "estimate": blocks or not estimate_ok}[gate.undecided]
    return (
        Verdict.UNDECIDED,
        f"{reason}; the baseline comparison is not settled at α = {gate.alpha:g} ({delta}); "
        f"policy '{gate.undecided}' {'blocks the merge' if undecided_blocks else 'does not block'}",
        undecided_blocks,
    )


def _verdict(
    gate: GateConfig,
    test: SequentialTest,
    passed: int,
    scored: int,
    errors: int,
    ran: int,
    planned: int,
    total: int,
    skip_reason: str | None,
) -> tuple[Verdict, str, bool]:
    """``(verdict, reason, blocks the merge)``."""
    if skip_reason is not None:
        return Verdict.SKIPPED, skip_reason, False
    if planned == 0:
        return Verdict.SKIPPED, "all its cases were deselected (-k, --lf, ...)", False
    if errors > gate.max_errors:
        return Verdict.ERROR, f"{errors} errored case(s) exceed the error budget of {gate.max_errors} (max_errors)", True
    threshold = f"{gate.min_pass_rate:.1%}"
    if ran >= total:
        rate = passed / total
        relation = "≥" if rate >= gate.min_pass_rate else "<"
        verdict = Verdict.PASS if rate >= gate.min_pass_rate else Verdict.FAIL
        return verdict, f"pass rate {rate:.1%} {relation} {threshold} (all {total} cases)", verdict == Verdict.FAIL
    if test.decision is not None:
        assert test.decided_at is not None
        rate = test.passed / test.decided_at
        relation = "≥" if test.decision == "PASS" else "<"
        return (
            Verdict(test.decision),
            f"pass rate {relation} {threshold}: settled after {test.decided_at} of {total} cases "
            f"({rate:.1%} so far) by an anytime-valid test at α = {gate.alpha:g}",
            test.decision == "FAIL",
        )
    if ran < planned:
        return Verdict.INCOMPLETE, f"only {ran} of {planned} planned cases ran; the run stopped early", True
    if scored == 0:
        return Verdict.FAIL, "no case could be scored", True
    rate = passed / ran
    estimate_passes = rate >= gate.min_pass_rate
    blocks = {"fail": True, "pass": False, "estimate": not estimate_passes}[gate.undecided]
    effect = "blocks the merge" if blocks else "does not block"
    return (
        Verdict.UNDECIDED,
        f"a sample of {planned} of {total} cases cannot settle pass rate ≥ {threshold} at α = {gate.alpha:g} "
        f"(estimate {rate:.1%}); policy '{gate.undecided}' {effect}",
        blocks,
    )


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
