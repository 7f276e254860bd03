"""Gates: a suite's case results → one verdict, and the verdicts → the exit status.

A case failing its scorer is a measurement, not a build failure. What blocks a merge is
a suite's *gate*: its pass rate below the threshold, its errors over the error budget,
or a run cut short before every planned case ran.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from evalgate.config import GateConfig
from evalgate.results import CaseResult
from evalgate.stats import WILSON, wilson_interval

CONFIDENCE = 0.95


class Verdict(StrEnum):
    """A suite gate's outcome."""

    PASS = "PASS"
    """Pass rate at or above the threshold, errors within budget."""
    FAIL = "FAIL"
    """Pass rate below the threshold."""
    ERROR = "ERROR"
    """More errored cases than the error budget allows."""
    INCOMPLETE = "INCOMPLETE"
    """The run stopped before every planned case ran (``-x``, Ctrl-C, a crash)."""
    SKIPPED = "SKIPPED"
    """No case of the suite ran (not in the tier, or all deselected)."""


BLOCKING = frozenset({Verdict.FAIL, Verdict.ERROR, Verdict.INCOMPLETE})


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

    @property
    def pass_rate(self) -> float | None:
        """Share of scored cases that passed; None when nothing was scored."""
        return self.passed / self.scored if self.scored else None

    @property
    def blocks_merge(self) -> bool:
        """True when this verdict must fail the build."""
        return self.verdict in BLOCKING


def decide(
    suite: str,
    gate: GateConfig,
    results: Iterable[CaseResult],
    planned: int,
    total: int,
    skip_reason: str | None = None,
) -> SuiteVerdict:
    """The verdict of one suite from its case results.

    ``planned`` is how many cases the run meant to execute (after tier sampling and
    ``-k``); ``total`` how many the suite has; ``skip_reason`` says why the suite does
    not run at all (not in the tier, no relevant change), None when it runs.
    """
    runs: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        runs[result.case_id].append(result)
    passed = scored = errors = hits = calls = 0
    seconds = 0.0
    for case_runs in runs.values():
        hits += sum(run.cached for run in case_runs)
        calls += sum(not run.cached for run in case_runs)
        seconds += sum(run.latency for run in case_runs)
        outcomes = [run.passed for run in case_runs if not run.errored]
        if not outcomes:
            errors += 1
            continue
        scored += 1
        # Majority of scored repeats; a tie is not a pass (see TierConfig.repeats).
        if 2 * sum(bool(outcome) for outcome in outcomes) > len(outcomes):
            passed += 1
    if skip_reason is not None:
        verdict, reason = Verdict.SKIPPED, skip_reason
    else:
        verdict, reason = _verdict(gate, passed, scored, errors, len(runs), planned, total)
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
        cases_planned=planned,
        cases_total=total,
        interval=wilson_interval(passed, scored, CONFIDENCE),
        method=f"{WILSON} {CONFIDENCE:.0%}",
        confidence=CONFIDENCE,
        seconds=seconds,
        cache_hits=hits,
        model_calls=calls,
    )


def _verdict(
    gate: GateConfig, passed: int, scored: int, errors: int, ran: int, planned: int, total: int
) -> tuple[Verdict, str]:
    if planned == 0:
        return Verdict.SKIPPED, "all its cases were deselected (-k, --lf, ...)"
    if errors > gate.max_errors:
        return (
            Verdict.ERROR,
            f"{errors} errored case(s) exceed the error budget of {gate.max_errors} (max_errors)",
        )
    if ran < planned:
        return Verdict.INCOMPLETE, f"only {ran} of {planned} planned cases ran; the run stopped early"
    if scored == 0:
        return Verdict.FAIL, "no case could be scored"
    rate = passed / scored
    sample = ""
    if planned < total:
        sample = f" on a sample of {planned} of {total} cases"
        low, high = wilson_interval(passed, scored, CONFIDENCE)
        if low < gate.min_pass_rate <= high:
            # Honest about what a sample can say: the point estimate decides, but the
            # full suite could land on the other side.
            sample += f" (the {CONFIDENCE:.0%} interval includes the threshold; the full suite may differ)"
    if rate >= gate.min_pass_rate:
        return Verdict.PASS, f"pass rate {rate:.1%} ≥ {gate.min_pass_rate:.1%}{sample}"
    return Verdict.FAIL, f"pass rate {rate:.1%} < {gate.min_pass_rate:.1%}{sample}"


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
