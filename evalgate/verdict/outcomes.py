"""From case runs to outcomes, read in sampling order.

A case's *outcome* is ``pass``, ``fail`` or ``error`` (every run of it errored); with
repeats, a case passes when a strict majority of its scored runs pass. Decisions read the
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


class PrefixReader:
    """Collects a suite's results as they arrive (in any order) and hands out the cases
    of the completed prefix of ``order``, each once, in order."""

    def __init__(self, order: Sequence[str], repeats: int) -> None:
        self.order = order
        self.repeats = repeats
        self.runs: dict[str, list[CaseResult]] = defaultdict(list)
        self.position = 0

    def add(self, result: CaseResult) -> list[tuple[str, Outcome]]:
        """Take one result; the cases it completed at the front of the order."""
        self.runs[result.case_id].append(result)
        return self.advance()

    def advance(self) -> list[tuple[str, Outcome]]:
        """The cases of the prefix completed since the last call, in order."""
        completed = []
        while self.position < len(self.order):
            case_id = self.order[self.position]
            runs = self.runs.get(case_id, ())
            if len(runs) < self.repeats:
                break
            completed.append((case_id, case_outcome(runs)))
            self.position += 1
        return completed
