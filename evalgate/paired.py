"""Baseline gates: is the candidate no worse than a baseline, on the same cases?

"No regression larger than δ" is a statement about the paired difference
Δ = rate(candidate) − rate(baseline) over the suite's cases. Each case contributes
D = x_candidate − x_baseline ∈ {−1, 0, 1}; (D + 1) / 2 lies in [0, 1] with mean (Δ + 1) / 2,
so the same anytime-valid betting test that gates pass rates (:mod:`evalgate.sequential`)
tests "Δ ≥ −δ" at threshold (1 − δ) / 2, valid however often it is checked. Only the
discordant cases move the statistic, as in McNemar's test, whose exact p-value (for
"no difference at all") is reported beside it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from evalgate.cache import ResultStore
from evalgate.project import Project, cache_path
from evalgate.errors import ConfigError
from evalgate.results import CaseResult, case_outcome
from evalgate.sequential import SequentialTest, confidence_interval
from evalgate.stats import mcnemar_exact

STORE = "store"
"""``baseline = "store"``: the newest finished run in the results store."""


@dataclass(frozen=True)
class Comparison:
    """A candidate-vs-baseline comparison on the cases both have."""

    pairs: int
    candidate_rate: float
    baseline_rate: float
    difference: float
    interval: tuple[float, float]
    """Anytime-valid interval for the difference over the paired cases."""
    max_regression: float
    decision: str | None
    """``PASS`` (no regression beyond δ), ``FAIL`` (a regression beyond δ), None (undecided)."""
    decided_at: int | None
    worse: int
    """Cases the baseline passed and the candidate failed."""
    better: int
    """Cases the candidate passed and the baseline failed."""
    mcnemar_p: float
    method: str = "paired anytime-valid betting test; exact McNemar p for Δ = 0"


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
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        results = [CaseResult.model_validate(case) for case in document["cases"]]
    except FileNotFoundError:
        raise ConfigError(f"{path}: baseline results not found; point 'baseline' at a results.json from an earlier run") from None
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"{path}: not an evalgate results.json ({err}); use the file --eval-report writes") from None
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



def compare(
    order: Sequence[str],
    candidate: Mapping[str, bool | None],
    baseline: Mapping[str, bool],
    max_regression: float,
    alpha: float,
) -> Comparison:
    """The paired comparison over the cases of ``order`` (sampling order) that both sides
    have; errored candidate cases count as failed (``None``)."""
    paired = [case_id for case_id in order if case_id in baseline]
    population = len(paired)
    values: list[float] = []
    test = SequentialTest(max(population, 1), (1 - max_regression) / 2, alpha)
    worse = better = cand = base = 0
    for case_id in paired:
        if case_id not in candidate:
            break  # the prefix ends here
        x, y = bool(candidate[case_id]), baseline[case_id]
        cand, base = cand + x, base + y
        worse, better = worse + (y and not x), better + (x and not y)
        value = (int(x) - int(y) + 1) / 2
        values.append(value)
        if test.decision is None:
            test.update(value)
    seen = len(values)
    low, high = confidence_interval(values[: test.decided_at or seen], max(population, 1), alpha) if seen else (0.0, 1.0)
    return Comparison(
        pairs=seen,
        candidate_rate=cand / seen if seen else 0.0,
        baseline_rate=base / seen if seen else 0.0,
        difference=(cand - base) / seen if seen else 0.0,
        interval=(2 * low - 1, 2 * high - 1),
        max_regression=max_regression,
        decision=test.decision if seen else None,
        decided_at=test.decided_at,
        worse=worse,
        better=better,
        mcnemar_p=mcnemar_exact(worse, better),
    )


def _newest_run(store: ResultStore, current_run: str | None) -> list[CaseResult]:
    if store.connection is None:
        raise ConfigError(f"the result store {store.path} cannot be read: {'; '.join(store.problems)}")
    row = store.connection.execute(
        "SELECT run_id FROM runs WHERE finished_at IS NOT NULL AND run_id != ? ORDER BY finished_at DESC LIMIT 1",
        (current_run or "",),
    ).fetchone()
    if row is None:
        raise ConfigError(f"the result store {store.path} has no finished run to compare with yet")
    return store.run_results(row[0])


def _outcomes(results: Sequence[CaseResult]) -> dict[str, dict[str, bool]]:
    runs: dict[str, dict[str, list[CaseResult]]] = defaultdict(lambda: defaultdict(list))
    for result in results:
        runs[result.suite][result.case_id].append(result)
    return {
        suite: {case_id: bool(case_outcome(case_runs)) for case_id, case_runs in cases.items() if case_outcome(case_runs) is not None}
        for suite, cases in runs.items()
    }
