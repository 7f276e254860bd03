"""Finding a suite's baseline: a results.json from an earlier run, or the result store.

Loading lives here, with the run, so that the verdict code stays a pure function of
outcomes: it is handed a :class:`~evalgate.verdict.monitor.Baseline` — outcomes by case
id, and whether they cover the whole suite or a fair random sample of it — and never
opens a file or a database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from evalgate.checkout import baseline_anchor
from evalgate.errors import ConfigError
from evalgate.project import Project
from evalgate.results import CaseResult
from evalgate.store.location import existing_store
from evalgate.store.sqlite import ResultStore
from evalgate.verdict.monitor import Baseline
from evalgate.verdict.outcomes import Outcome, case_outcome

STORE = "store"
BASE = "base"
"""The newest complete run at the change's merge base, else on its base branch."""
"""``baseline = "store"``: for each suite, the newest run in the result store that ran
every case of it."""


def load_baselines(
    source: str, project_root: Path, store: Callable[[], ResultStore | None] | None, current_run: str | None, suites: Iterable[str]
) -> dict[str, Baseline]:
    """Suite → baseline, from a results.json file (``source``) or the result store."""
    if source == STORE:
        return _from_store(store, current_run, suites)
    from evalgate.document import read_document  # the typed document loads only for file baselines

    path = (project_root / source).resolve()
    if not path.exists():
        raise ConfigError(f"{path}: baseline results not found; point 'baseline' at a results.json from an earlier run", path=path)
    document = read_document(path)
    outcomes = _outcomes(document.cases)
    baselines = {}
    for report in document.suites:
        if report.suite in outcomes:
            baselines[report.suite] = Baseline(
                outcomes[report.suite], complete=report.complete, random=not report.selected, source=str(path)
            )
    return baselines


def baselines_for(project: Project, override: str | None, run_id: str, plan_base: str | None = None) -> dict[str, Baseline]:
    """Each suite's baseline, from ``--eval-baseline`` or its gate's ``baseline``; a suite
    whose source has none of it gets an empty one (its comparison is then undecided).
    ``plan_base``: the merge base the change plan found, for ``baseline = "base"``."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for suite in project.suites:
        source = override or suite.config.gate.baseline
        if source:
            wanted[source].append(suite.name)
    chosen: dict[str, Baseline] = {}
    for source, names in wanted.items():
        if source == BASE:
            loaded = _from_base(project, plan_base, run_id, names)
        else:
            loaded = load_baselines(source, project.root, lambda: existing_store(project), run_id, names)
        for name in names:
            chosen[name] = loaded.get(name) or Baseline({}, complete=False, random=False, source=source)
    return chosen


def _from_store(opener: Callable[[], ResultStore | None] | None, current_run: str | None, suites: Iterable[str]) -> dict[str, Baseline]:
    store = opener() if opener is not None else None
    if store is None:
        raise ConfigError('baseline = "store" needs the result store; run the suites once with the cache on first')
    try:
        if not store.enabled:
            raise ConfigError(f"the result store {store.location} cannot be read: {'; '.join(store.problems)}")
        baselines = {}
        for suite in suites:
            run_id = store.history.newest_complete_run(suite, exclude=current_run)
            if run_id is not None:
                outcomes = _outcomes(store.history.run_results(run_id, suite)).get(suite, {})
                baselines[suite] = Baseline(outcomes, complete=True, random=True, source=f"store run {run_id[:12]}")
        return baselines
    finally:
        store.close()


def _from_base(project: Project, plan_base: str | None, current_run: str, suites: Iterable[str]) -> dict[str, Baseline]:
    """Main's runs as the control of a pull request: per suite, the newest complete run at the
    merge base; when that commit has none, the newest complete run on the base branch
    (nearby, not exact — the source says which)."""
    commit, branch = baseline_anchor(project.root, plan_base)
    store = existing_store(project)
    if store is None or not store.enabled:
        raise ConfigError('baseline = "base" needs the result store with complete runs of the base branch; '
                          "run the full tier there with the cache on (the example workflow does on main)")
    try:
        baselines = {}
        for suite in suites:
            run_id = store.history.newest_complete_run(suite, exclude=current_run, commit=commit) if commit else None
            source = f"the merge base {commit[:12]} (run {run_id[:12]})" if commit and run_id else ""
            if run_id is None and branch:
                run_id = store.history.newest_complete_run(suite, exclude=current_run, branch=branch)
                where = f"merge base {commit[:12]}" if commit else "the merge base"
                source = f"the newest complete run on {branch} (run {run_id[:12]}; none at {where})" if run_id else ""
            if run_id is not None:
                outcomes = _outcomes(store.history.run_results(run_id, suite)).get(suite, {})
                baselines[suite] = Baseline(outcomes, complete=True, random=True, source=source)
            else:
                missing = f"no complete run of {branch or 'the base branch'} in {store.location}: run the full tier there with the cache on"
                baselines[suite] = Baseline({}, complete=False, random=False, source=missing)
        return baselines
    finally:
        store.close()


def _outcomes(results: Iterable[CaseResult]) -> dict[str, dict[str, Outcome]]:
    runs: dict[str, dict[str, list[CaseResult]]] = defaultdict(lambda: defaultdict(list))
    for result in results:
        if result.variant is None:  # a variant is not the case the baseline pairs with
            runs[result.suite][result.case_id].append(result)
    return {suite: {case_id: case_outcome(case_runs) for case_id, case_runs in cases.items()} for suite, cases in runs.items()}
