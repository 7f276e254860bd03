"""How far to trust a judge: its verdicts against human labels.

``evalgate judge-check SUITE --labels FILE`` runs the suite's judge on labelled outputs (one
JSON object per line: ``{"id": case id, "output": the text judged, "pass": true|false}``) and
reports accuracy, Cohen's κ (agreement beyond chance) and the confusion matrix. Cases the
judge could not judge are counted apart, never as agreement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evalgate.cases import Case
from evalgate.errors import ConfigError, ScorerError
from evalgate.scorers.base import Scorer
from evalgate.verdict.judged import JudgeCalibration


@dataclass(frozen=True)
class Agreement:
    """Judge vs human on the labelled cases: the counts the gate's correction reads, and the
    labels the judge could not judge (counted apart, never as agreement)."""

    calibration: JudgeCalibration
    errored: int

    @property
    def judged(self) -> int:
        return self.calibration.labels

    @property
    def accuracy(self) -> float | None:
        matrix = self.calibration
        return (matrix.true_pass + matrix.true_fail) / matrix.labels if matrix.labels else None

    @property
    def kappa(self) -> float | None:
        return self.calibration.kappa

    def lines(self) -> list[str]:
        accuracy = "-" if self.accuracy is None else f"{self.accuracy:.1%}"
        kappa = "-" if self.kappa is None else f"{self.kappa:.3f}"
        matrix = self.calibration
        return [
            f"judged {self.judged} labelled case(s); the judge could not judge {self.errored}",
            f"accuracy {accuracy}, Cohen's kappa {kappa}",
            "                 human pass  human fail",
            f"judge pass       {matrix.true_pass:>10}  {matrix.false_pass:>10}",
            f"judge fail       {matrix.missed_pass:>10}  {matrix.true_fail:>10}",
        ]


def read_labels(path: Path) -> list[tuple[str, str, bool]]:
    """``(case id, output, human pass)`` rows of a labels file; a bad row is one clear error."""
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read the labels {path}: {err}", path=path) from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            row = None
        if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("output"), str) or not isinstance(row.get("pass"), bool):
            raise ConfigError(
                f'{path}:{number}: a label is {{"id": case id, "output": the text judged, "pass": true or false}}', path=path
            )
        rows.append((str(row["id"]), row["output"], row["pass"]))
    return rows


def agreement(judge: Scorer, cases: Sequence[Case], labels: Sequence[tuple[str, str, bool]]) -> Agreement:
    """Run ``judge`` on every labelled output of ``cases`` and count how it agrees."""
    by_id = {case.id: case for case in cases}
    unknown = [case_id for case_id, _, _ in labels if case_id not in by_id]
    if unknown:
        raise ConfigError(f"labels name cases the suite does not have: {', '.join(unknown[:5])}")
    counts = {"true_pass": 0, "missed_pass": 0, "false_pass": 0, "true_fail": 0}
    errored = 0
    for case_id, output, human in labels:
        try:
            verdict = judge.score(output, by_id[case_id]).passed
        except ScorerError:
            errored += 1
            continue
        key = ("true_pass" if verdict else "missed_pass") if human else ("false_pass" if verdict else "true_fail")
        counts[key] += 1
    return Agreement(JudgeCalibration(**counts), errored)
