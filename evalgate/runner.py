"""Running one case: cache lookup, model call, then scorer, into a CaseResult.

Failures of the model or scorer become an errored CaseResult rather than an exception,
so one bad case is reported as such and never stops, or passes, the rest.
"""

from __future__ import annotations

import time

from evalgate.cache import ResultStore
from evalgate.errors import ModelError, ScorerError
from evalgate.fingerprint import SuiteKeys
from evalgate.models import ModelAdapter
from evalgate.project import Project
from evalgate.results import CaseError, CaseResult
from evalgate.scorers import Scorer
from evalgate.session import PlannedSuite
from evalgate.suites import Case


def run_case(suite: str, case: Case, adapter: ModelAdapter, scorer: Scorer, repeat: int = 0) -> CaseResult:
    """Generate and score one case; errors are captured in the result."""
    started = time.perf_counter()
    try:
        output = adapter.generate(case)
    except ModelError as err:
        return CaseResult(
            suite=suite,
            case_id=case.id,
            repeat=repeat,
            error=CaseError.from_exception(err),
            latency=time.perf_counter() - started,
        )
    latency = time.perf_counter() - started
    try:
        score = scorer.score(output.text, case)
    except ScorerError as err:
        return CaseResult(
            suite=suite,
            case_id=case.id,
            repeat=repeat,
            output=output.text,
            error=CaseError.from_exception(err),
            latency=latency,
            usage=output.usage,
        )
    return CaseResult(
        suite=suite,
        case_id=case.id,
        repeat=repeat,
        output=output.text,
        score=score.value,
        passed=score.passed,
        explanation=score.explanation,
        latency=latency,
        usage=output.usage,
    )


class CaseRunner:
    """Runs cases through the cache: a hit costs no model call, a miss is stored at once.

    One per process (the controller, or each xdist worker). The first case of a suite
    fetches the cached results of all its planned cases in one query, so hits cost a
    dictionary lookup, not a database round trip.
    """

    HIT_BATCH = 500

    def __init__(self, project: Project, store: ResultStore | None, run_id: str, refresh: bool = False) -> None:
        self.project = project
        self.store = store
        self.run_id = run_id
        self.refresh = refresh
        self.keys: dict[str, SuiteKeys] = {}
        self.prefetched: dict[str, dict[str, CaseResult]] = {}
        self.hit_keys: list[str] = []
        self.pending_hits: list[CaseResult] = []

    def run(self, planned: PlannedSuite, case: Case, repeat: int) -> CaseResult:
        """The result of one case run, from the cache or from the model."""
        suite = planned.suite
        if self.store is None or not self.store.enabled:
            return run_case(suite.name, case, suite.adapter, suite.scorer, repeat)
        keys = self._keys(planned)
        key, parts = keys.key(case, repeat)
        hit = None if self.refresh else self.prefetched[suite.name].get(key)
        if hit is not None:
            # The key says nothing of suite names: another suite's identical case is a valid hit.
            update = {"cached": True, "suite": suite.name, "case_id": case.id, "repeat": repeat, "latency": 0.0}
            result = hit.model_copy(update=update)
            self.hit_keys.append(key)
            self.pending_hits.append(result)
            if len(self.pending_hits) >= self.HIT_BATCH:
                self.flush()
            return result
        result = run_case(suite.name, case, suite.adapter, suite.scorer, repeat)
        self.store.store(self.run_id, key, parts, result)
        if not result.errored:
            # Later repeats of a deterministic case reuse this result within the run too.
            self.prefetched[suite.name][key] = result
        return result

    def flush(self) -> None:
        """Write buffered cache hits to the results store and mark their keys used."""
        if self.store is None:
            return
        if self.pending_hits:
            self.store.record_results(self.run_id, self.pending_hits)
            self.pending_hits = []
        if self.hit_keys:
            self.store.touch(self.hit_keys)
            self.hit_keys = []

    def _keys(self, planned: PlannedSuite) -> SuiteKeys:
        name = planned.suite.name
        if name not in self.keys:
            keys = SuiteKeys(self.project, planned.suite)
            self.keys[name] = keys
            wanted = [keys.key(case, repeat)[0] for _, case, repeat in planned.item_names()]
            assert self.store is not None
            self.prefetched[name] = {} if self.refresh else self.store.lookup_many(wanted)
        return self.keys[name]
