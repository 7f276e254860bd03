"""A judge earns its gate: before a suite's verdicts count, its judge is checked against the
outputs people labelled (``judge_labels``). Its measured errors (sensitivity, specificity)
then correct the suite's pass rate (:mod:`evalgate.verdict.judged`); a judge the labels cannot
tell from chance, one that answered one class on every label, or one that agrees less than
``min_judge_kappa`` (Cohen's κ) turns the suite's verdict into ERROR — a gate that trusts a
judge people disagree with is confidently wrong. The judge's verdicts on the labels are kept in
the result store like any other, so the check costs judge calls only when the labels, the
judge or its rubric change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evalgate.project import Project
from evalgate.run.agreement import agreement, read_labels
from evalgate.sources import project_file
from evalgate.verdict.judged import JudgeCalibration, corrected_bounds


@dataclass
class JudgeChecks:
    """What the judge checks found, per suite."""

    failures: dict[str, str] = field(default_factory=dict)
    """Why a suite's judge cannot gate (its verdict becomes ERROR)."""
    calibrations: dict[str, JudgeCalibration] = field(default_factory=dict)
    """The judge's measured errors, which correct the suite's pass rate."""
    notes: list[str] = field(default_factory=list)
    """One line per suite whose judge was checked (and any prevalence warning)."""


def judge_checks(project: Project, suites: list[str]) -> JudgeChecks:
    """Check the judge of every suite of ``suites`` that has labels."""
    found = JudgeChecks()
    for suite in project.suites:
        labels_file = suite.config.judge_labels
        judges = [part for part in suite.parts if part.name == "judge"]
        if suite.name not in suites or labels_file is None or not judges:
            continue
        path = project_file(project.root, labels_file, "judge labels", project.config.allow_outside_project)
        result = agreement(judges[0], suite.cases, read_labels(path))
        calibration = result.calibration
        kappa, wanted = result.kappa, suite.config.min_judge_kappa
        said = "-" if kappa is None else f"{kappa:.3f}"
        line = (f"the judge agrees with people on {result.judged} labelled output(s) at Cohen's kappa {said} "
                f"(needs {wanted:g}; Gwet's AC1 {'-' if calibration.ac1 is None else f'{calibration.ac1:.3f}'})")
        refusal = calibration.refusal(suite.config.gate.alpha)
        if kappa is None or kappa < wanted:
            found.failures[suite.name] = f"{line}: its verdicts cannot gate; improve the rubric or the judge (evalgate judge-check)"
        elif refusal is not None:
            found.failures[suite.name] = f"{refusal}: its verdicts cannot gate; label more outputs or improve the judge (evalgate judge-check)"
        else:
            found.calibrations[suite.name] = calibration
            found.notes.append(f"{suite.name}: {line}; its pass rate is corrected for its errors ({calibration.describe()})")
        warning = calibration.prevalence_warning()
        if warning:
            found.notes.append(f"{suite.name}: {warning}")
    return found


def calibration_lines(calibration: JudgeCalibration, alpha: float) -> list[str]:
    """What ``evalgate judge-check`` adds to the confusion matrix: agreement that survives skew,
    the judge's rates with the exact bounds the corrected gate uses, and whether it can gate."""
    s_low, s_high = calibration.sensitivity_bounds(alpha / 4)
    f_low, f_high = calibration.false_pass_bounds(alpha / 4)
    ac1 = "-" if calibration.ac1 is None else f"{calibration.ac1:.3f}"
    sensitivity = "-" if calibration.sensitivity is None else f"{calibration.sensitivity:.1%}"
    specificity = "-" if calibration.specificity is None else f"{calibration.specificity:.1%}"
    refusal = calibration.refusal(alpha)
    warning = calibration.prevalence_warning()
    return [
        f"Gwet's AC1 {ac1} (agreement beyond chance that survives skewed labels)",
        f"sensitivity {sensitivity} [{s_low:.2f}, {s_high:.2f}], specificity {specificity} [{1 - f_high:.2f}, {1 - f_low:.2f}] "
        f"(exact bounds at α/4 = {alpha / 4:g} each, as the corrected gate uses them)",
        *([f"warning: {warning}"] if warning else []),
        f"as a gate: {refusal}" if refusal else "as a gate: the suite's pass rate is corrected for these errors",
    ]


def labels_needed(calibration: JudgeCalibration, judged_rate: float, width: float, alpha: float) -> int | None:
    """About how many more labels — a random sample of the outputs, in the proportions seen so
    far — would bring the corrected interval at ``judged_rate`` (judged exactly) within ``width``;
    None when no number up to 10,000 would."""
    if not calibration.labels:
        return None
    for more in (0, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        grown = _scaled(calibration, (calibration.labels + more) / calibration.labels)
        low, high = corrected_bounds((judged_rate, judged_rate), grown, alpha, alpha)
        if high - low <= width:
            return more
    return None


def _scaled(calibration: JudgeCalibration, factor: float) -> JudgeCalibration:
    return JudgeCalibration(round(calibration.true_pass * factor), round(calibration.missed_pass * factor),
                            round(calibration.false_pass * factor), round(calibration.true_fail * factor))
