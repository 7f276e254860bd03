"""Running one case: cache lookup, model call, then scorer, into a CaseResult.

Failures of the model or scorer become an errored CaseResult rather than an exception,
so one bad case is reported as such and never stops, or passes, the rest.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from evalgate.cases import Case
from evalgate.errors import ModelError, ScorerError
from evalgate.models.base import ModelAdapter
from evalgate.project import Project, Suite
from evalgate.redact import SECRETS
from evalgate.results import CaseError, CaseResult
from evalgate.run.planned import PlannedSuite
from evalgate.run.recording import Usage, import_closure, recording
from evalgate.scorers.base import Scorer
from evalgate.store.deps import DepMap, Digests
from evalgate.store.keys import SuiteKeys
from evalgate.store.sqlite import ResultStore


def run_case(suite: str, case: Case, adapter: ModelAdapter[Any], scorer: Scorer, repeat: int = 0) -> CaseResult:
    """Generate and score one case; errors are captured in the result."""
    identity: dict[str, Any] = {"suite": suite, "case_id": case.id, "repeat": repeat, "variant": case.variant}
    started = time.perf_counter()
    try:
        output = adapter.generate(case)
    except ModelError as err:
        return CaseResult(**identity, error=CaseError.from_exception(err), latency=time.perf_counter() - started)
    # The output is scored as the model gave it, but kept with secrets redacted: a server
    # that echoes the Authorization header must not put the key into a report or the cache.
    done = {**identity, "output": SECRETS(output.text), "latency": time.perf_counter() - started, "usage": output.usage}
    try:
        score = scorer.score(output.text, case)
    except ScorerError as err:
        return CaseResult(**done, error=CaseError.from_exception(err))
    return CaseResult(**done, score=score.value, passed=score.passed, explanation=SECRETS(score.explanation),
                      judge_usage=score.usage, scores=score.parts)


def _call(suite: Suite, case: Case, repeat: int) -> CaseResult:
    """One call, holding a cross-process slot when the run's workers share a small
    ``concurrency`` (:mod:`evalgate.models.sharing`)."""
    guard = suite.adapter.process_slots
    if guard is None:
        return run_case(suite.name, case, suite.adapter, suite.scorer, repeat)
    with guard:
        return run_case(suite.name, case, suite.adapter, suite.scorer, repeat)


class CaseRunner:
    """Runs cases through the cache: a hit costs no model call, a miss is stored at once.

    One per process (the controller, or each xdist worker). The first case of a suite
    fetches the cached results of all its planned cases in one query, so hits cost a
    dictionary lookup, not a database round trip. A cached result counts only if the
    dependency map it was produced under still holds — every project file it used has the
    same content, every library the same version (checked once per map per run). Each call
    is recorded (:mod:`evalgate.run.recording`) and its map stored with its result.
    :meth:`lookup` and :meth:`note_hit` run on pytest's thread; :meth:`compute` may run on
    the engine's pool threads.
    """

    HIT_BATCH = 500

    def __init__(self, project: Project, store: ResultStore | None, run_id: str, refresh: bool = False) -> None:
        self.project = project
        self.store = store
        self.run_id = run_id
        self.refresh = refresh
        self.keys: dict[str, SuiteKeys] = {}
        self.prefetched: dict[str, dict[str, tuple[CaseResult, str | None]]] = {}
        self.hit_keys: list[tuple[str, str | None]] = []
        """Cache entries (key, map id) this process reused, to mark used."""
        self.pending_hits: list[CaseResult] = []
        self.lock = threading.Lock()
        self.mapping = threading.Lock()
        """Held while a dependency map is made (:meth:`dependency_map`)."""
        self.digests = Digests(project.root)
        self.excluded = [store.path] if store is not None and store.url is None else []
        if store is not None and not refresh:  # judges reuse verdicts on texts they judged before
            for suite in project.suites:
                for part in suite.parts:
                    if part.memo is not None:
                        part.memo.bind(store.judgement, store.save_judgement)
        self.static: dict[str, Usage] = {}
        """Suite → the files and modules its model and scorer use by their source alone."""
        self.maps: dict[tuple[str, frozenset[str], frozenset[str]], DepMap] = {}
        self.stale: dict[str, list[str]] = {}
        """Dependency map id → what changed since (empty: the map holds)."""
        self.not_reused: dict[str, int] = {}
        """Why cached results were not reused (a reason → how many), for the run's summary."""
        self.seen_deps: dict[str, set[str]] = {}
        """Suite → ids of the maps its results had this run (fresh or cached)."""

    @property
    def caching(self) -> bool:
        """True while the cache is in use (it turns itself off after a failure)."""
        return self.store is not None and self.store.enabled

    def run(self, planned: PlannedSuite, case: Case, repeat: int) -> CaseResult:
        """The result of one case run, from the cache or from the model, synchronously."""
        key, hit = self.lookup(planned, case, repeat)
        if hit is not None:
            return self.note_hit(key, hit, planned.suite.name, case, repeat)
        return self.compute(planned, case, repeat, key)

    def lookup(self, planned: PlannedSuite, case: Case, repeat: int) -> tuple[str | None, CaseResult | None]:
        """``(key, cached result or None)``; the key is None without a cache."""
        if not self.caching:
            return None, None
        keys = self._keys(planned)
        # A key serves one item unless deterministic repeats share it: then it is let go as
        # soon as it is used, so a 100,000-case run does not hold every key and hit to the end.
        shared = planned.repeats > 1 and keys.deterministic
        key = keys.key(case, repeat) if shared else keys.take(case, repeat)
        with self.lock:
            found = self.prefetched[planned.suite.name]
            entry = None if self.refresh else (found.get(key) if shared else found.pop(key, None))
            if entry is None:
                return key, None
            if entry[1] is not None:
                self.seen_deps.setdefault(planned.suite.name, set()).add(entry[1])
            self.hit_keys.append((key, entry[1]))
        return key, entry[0]

    def compute(self, planned: PlannedSuite, case: Case, repeat: int, key: str | None) -> CaseResult:
        """Call the model, score, and store the result with its dependency map at once
        (thread-safe)."""
        suite = planned.suite
        if key is None or self.store is None:
            return _call(suite, case, repeat)
        with recording() as usage:
            result = _call(suite, case, repeat)
        deps = self.dependency_map(suite, usage)
        self.store.store(self.run_id, key, self.keys[suite.name].parts(case, repeat), result, deps)
        with self.lock:
            self.seen_deps.setdefault(suite.name, set()).add(deps.id)
            if not result.errored and planned.repeats > 1 and suite.adapter.deterministic:
                # later repeats of a deterministic case reuse it within the run
                self.prefetched.setdefault(suite.name, {})[key] = (result, deps.id)
        return result

    def dependency_map(self, suite: Suite, usage: Usage) -> DepMap:
        """The map of one call: what the suite's code uses by its source, plus what the call
        opened and imported. Calls that used the same things share one map."""
        memo = (suite.name, frozenset(usage.files), frozenset(usage.modules))
        with self.lock:
            known = self.maps.get(memo)
        if known is not None:
            return known
        # One thread makes a map; the others that need the same one wait for it. The first
        # calls of a run all finish together, and 64 threads making one map each (reading
        # every installed distribution's metadata) took 20 s of CPU for a 1-second run.
        with self.mapping:
            with self.lock:
                known = self.maps.get(memo)
            if known is not None:
                return known
            static = self._static(suite)
            files = self.digests.relative(static.files | usage.files, self.excluded)
            deps = self.digests.map_of(files, self.digests.distributions(static.modules | usage.modules))
            with self.lock:
                self.maps[memo] = deps
        return deps

    def _static(self, suite: Suite) -> Usage:
        with self.lock:
            known = self.static.get(suite.name)
        if known is not None:
            return known
        usage = Usage()
        for path in [*suite.adapter.dependencies(), *suite.scorer.files]:
            if path.suffix == ".py":
                usage.merge(import_closure(path, self.project.root))
            else:
                usage.files.add(str(path))
        with self.lock:
            self.static[suite.name] = usage
        return usage

    def note_hit(self, key: str | None, hit: CaseResult, suite: str, case: Case, repeat: int) -> CaseResult:
        """The result a reused outcome gives this case run (pytest's thread only)."""
        labels = {"suite": suite, "case_id": case.id, "repeat": repeat, "variant": case.variant}
        if hit.errored:  # a deterministic repeat that shared a failed call: the same error
            return hit.replace(**labels)
        # The key says nothing of suite names (another suite's identical case is a valid
        # hit) nor of variants (a perturbation that left the text alone asks the same).
        update = {"cached": True, **labels, "latency": 0.0}
        result = hit.replace(**update)
        self.pending_hits.append(result)
        if len(self.pending_hits) >= self.HIT_BATCH:
            self.flush()
        return result

    def flush(self) -> None:
        """Write buffered cache hits to the results store, mark their keys used, and note
        the dependency maps this process's results had."""
        if self.store is None:
            return
        if self.pending_hits:
            self.store.record_results(self.run_id, self.pending_hits)
            self.pending_hits = []
        if self.hit_keys:
            self.store.touch(self.hit_keys)
            self.hit_keys = []
        with self.lock:
            seen, self.seen_deps = self.seen_deps, {}
        self.store.record_run_deps(self.run_id, seen)

    def _keys(self, planned: PlannedSuite) -> SuiteKeys:
        name = planned.suite.name
        if name not in self.keys:
            keys = SuiteKeys(self.project, planned.suite)
            wanted = [keys.key(case, repeat) for _, case, repeat in planned.items()]
            assert self.store is not None
            found = {} if self.refresh else self.store.lookup_many(wanted)
            usable = self._still_valid(found, name)
            with self.lock:
                self.prefetched[name] = usable
            self.keys[name] = keys
        return self.keys[name]

    def _still_valid(
        self, found: dict[str, list[tuple[CaseResult, str | None]]], suite: str
    ) -> dict[str, tuple[CaseResult, str | None]]:
        """Per key, the newest cached result whose dependency map still holds; a key with
        none misses, and why (its newest entry's changes) is counted for the run's summary.
        A result stored without a map (an older evalgate) never counts: nothing says what
        it depended on."""
        assert self.store is not None
        ids = sorted({deps for entries in found.values() for _, deps in entries if deps is not None and deps not in self.stale})
        for deps_id, recorded in self.store.load_deps(ids).items():
            self.stale[deps_id] = self.digests.changes(recorded, suite)
        usable: dict[str, tuple[CaseResult, str | None]] = {}
        for key, entries in found.items():
            valid = next(((result, deps) for result, deps in entries if deps is not None and not self.stale.get(deps, ["?"])), None)
            if valid is not None:
                usable[key] = valid
                continue
            newest = entries[0][1]
            reasons = self.stale.get(newest, ["no recorded dependency map"]) if newest is not None else ["no recorded dependency map"]
            for reason in reasons[:3]:
                self.not_reused[reason] = self.not_reused.get(reason, 0) + 1
        return usable
