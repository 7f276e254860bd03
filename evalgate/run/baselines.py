"""Finding a suite's baseline: a results.json from an earlier run, or the result store.

Loading lives here, with the run, so that the verdict code stays a pure function of
outcomes: it is handed ``case id → passed`` and never opens a file or a database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from evalgate.document import read_document
from evalgate.errors import ConfigError
from evalgate.project import Project, cache_path
from evalgate.results import CaseResult, case_outcome
from evalgate.store.sqlite import ResultStore

STORE = "store"
"""``baseline = "store"``: the newest finished run in the results store."""


def load_baseline(source: str, project_root: Path, store_path: Path | None, current_run: str | None) -> dict[str, dict[str, bool]]:
    """``suite → case id → passed`` from a results.json file or the results store."""
    if source == STORE:
        if store_path is None or not store_path.exists():
            raise ConfigError("baseline = \"store\" needs the result cache; run once with the cache on first")
        store = ResultStore.open(store_path)
        try:
            results = _newest_run(store, current_run)
        finally:
            store.close()
        return _outcomes(results)
    path = (project_root / source).resolve()
    if not path.exists():
        raise ConfigError(f"{path}: baseline results not found; point 'baseline' at a results.json from an earlier run", path=path)
    results = read_document(path).cases
    return _outcomes(results)


def baselines_for(project: Project, override: str | None, run_id: str) -> dict[str, dict[str, bool]]:
    """Each suite's baseline outcomes, from ``--eval-baseline`` or its gate's ``baseline``."""
    loaded: dict[str, dict[str, dict[str, bool]]] = {}
    chosen: dict[str, dict[str, bool]] = {}
    for suite in project.suites:
        source = override or suite.config.gate.baseline
        if not source:
            continue
        if source not in loaded:
            loaded[source] = load_baseline(source, project.root, cache_path(project), run_id)
        chosen[suite.name] = loaded[source].get(suite.name, {})
    return chosen


def _newest_run(store: ResultStore, current_run: str | None) -> list[CaseResult]:
    if not store.enabled:
        raise ConfigError(f"the result store {store.path} cannot be read: {'; '.join(store.problems)}")
    run_id = store.newest_finished_run(exclude=current_run)
    if run_id is None:
        raise ConfigError(f"the result store {store.path} has no finished run to compare with yet")
    return store.run_results(run_id)


def _outcomes(results: Sequence[CaseResult]) -> dict[str, dict[str, bool]]:
    runs: dict[str, dict[str, list[CaseResult]]] = defaultdict(lambda: defaultdict(list))
    for result in results:
        runs[result.suite][result.case_id].append(result)
    return {
        suite: {case_id: bool(case_outcome(case_runs)) for case_id, case_runs in cases.items() if case_outcome(case_runs) is not None}
        for suite, cases in runs.items()
    }
