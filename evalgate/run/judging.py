"""A judge earns its gate: before a suite's verdicts count, its judge is checked against the
outputs people labelled (``judge_labels``), and a judge that agrees less than
``min_judge_kappa`` (Cohen's κ) turns the suite's verdict into ERROR — a gate that trusts a
judge people disagree with is confidently wrong. The judge's verdicts on the labels are kept in
the result store like any other, so the check costs judge calls only when the labels, the
judge or its rubric change.
"""

from __future__ import annotations

from evalgate.project import Project
from evalgate.scorers.agreement import agreement, read_labels
from evalgate.sources import project_file


def judge_checks(project: Project, suites: list[str]) -> tuple[dict[str, str], list[str]]:
    """``(failures, notes)``: per suite whose judge falls short of its ``min_judge_kappa``, why;
    and one line per suite whose judge was checked and passed."""
    failures: dict[str, str] = {}
    notes: list[str] = []
    for suite in project.suites:
        labels_file = suite.config.judge_labels
        judges = [part for part in suite.parts if part.name == "judge"]
        if suite.name not in suites or labels_file is None or not judges:
            continue
        path = project_file(project.root, labels_file, "judge labels", project.config.allow_outside_project)
        result = agreement(judges[0], suite.cases, read_labels(path))
        kappa, wanted = result.kappa, suite.config.min_judge_kappa
        said = "-" if kappa is None else f"{kappa:.3f}"
        line = f"the judge agrees with people on {result.judged} labelled output(s) at Cohen's kappa {said} (needs {wanted:g})"
        if kappa is None or kappa < wanted:
            failures[suite.name] = f"{line}: its verdicts cannot gate; improve the rubric or the judge (evalgate judge-check)"
        else:
            notes.append(f"{suite.name}: {line}")
    return failures, notes
