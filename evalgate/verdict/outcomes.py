"""From case runs to outcomes, read in sampling order.

A case's *outcome* is ``pass``, ``fail`` or ``error`` (every run of it errored); with
repeats, a case passes when a strict majority of its scored runs pass. With robustness
variants a case also has a *consistency* outcome: ``pass`` when every variant's outcome
equals the case's own, ``fail`` when one differs, ``error`` when any of them errored (then
nothing is known of it). Decisions read the
*completed prefix* of the sampling order — the longest run of cases, from the first, whose
every repeat is in — so the order in which concurrent calls or xdist workers deliver
results can never bias a verdict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

from evalgate.results import CaseResult

Outcome = Literal["pass", "fail", "error"]


def case_outcome(runs: Sequence[CaseResult]) -> Outcome:
    """A case's outcome over its runs: ``pass`` when a strict majority of the scored runs
    passed, ``error`` when no run could be scored."""
    scored = [run.passed for run in runs if not run.errored]
    if not scored:
        return "error"
    return "pass" if 2 * sum(bool(passed) for passed in scored) > len(scored) else "fail"


OUTCOME_VALUES: dict[Outcome, tuple[int, int]] = {"pass": (1, 1), "fail": (0, 0), "error": (0, 1)}
"""A case's ``(low, high)`` for the betting tests: an errored case is a fail to the PASS side
and a pass to the FAIL side — never evidence."""


def paired_values(candidate: Outcome, baseline: Outcome) -> tuple[int, int]:
    """``(low, high)`` of D + 1 = candidate − baseline + 1 in {0, 1, 2}, each at its least
    favourable for the side it could help: an error counts against the comparison's conclusion."""
    low = 1 + int(candidate == "pass") - int(baseline != "fail")
    high = 1 + int(candidate != "fail") - int(baseline == "pass")
    return low, high


def consistency_outcome(outcome: Outcome, variants: Sequence[Outcome]) -> Outcome:
    """Whether a case's variants agree with it: ``error`` when any side errored."""
    if outcome == "error" or "error" in variants:
        return "error"
    return "pass" if all(variant == outcome for variant in variants) else "fail"


Read = tuple[str, Outcome, Outcome | None]
"""A case of the prefix: its id, its outcome, and its consistency (None without variants)."""


class PrefixReader:
    """Collects a suite's results as they arrive (in any order) and hands out the cases
    of the completed prefix of ``order``, each once, in order. With ``variants``, a case is
    complete when its own runs and every variant's are in."""

    def __init__(self, order: Sequence[str], repeats: int, variants: Sequence[str] = ()) -> None:
        self.order = order
        self.repeats = repeats
        self.variants = tuple(variants)
        self.runs: dict[str, list[CaseResult]] = defaultdict(list)
        """Case id → the runs of the case as written."""
        self.variant_runs: dict[tuple[str, str], list[CaseResult]] = defaultdict(list)
        """``(case id, variant)`` → that variant's runs."""
        self.flips: list[tuple[int, str, str]] = []
        """``(position, case id, variant)`` of every variant read whose pass/fail differed
        from its case's, for the reports."""
        self.position = 0

    def add(self, result: CaseResult) -> list[Read]:
        """Take one result; the cases it completed at the front of the order."""
        self.take(result)
        return self.advance()

    def take(self, result: CaseResult) -> None:
        """File one result under its case or its variant."""
        if result.variant is None:
            self.runs[result.case_id].append(result)
        else:
            self.variant_runs[(result.case_id, result.variant)].append(result)

    def advance(self) -> list[Read]:
        """The cases of the prefix completed since the last call, in order."""
        completed: list[Read] = []
        while self.position < len(self.order):
            case_id = self.order[self.position]
            runs = self.runs.get(case_id, ())
            if len(runs) < self.repeats:
                break
            consistent = None
            if self.variants:
                variant_runs = [self.variant_runs.get((case_id, variant), ()) for variant in self.variants]
                if any(len(found) < self.repeats for found in variant_runs):
                    break
                outcome = case_outcome(runs)
                outcomes = [case_outcome(found) for found in variant_runs]
                consistent = consistency_outcome(outcome, outcomes)
                self.flips += [
                    (self.position, case_id, variant)
                    for variant, other in zip(self.variants, outcomes, strict=True)
                    if "error" not in (outcome, other) and other != outcome
                ]
            completed.append((case_id, case_outcome(runs), consistent))
            self.position += 1
        return completed
