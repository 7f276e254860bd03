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
from evalgate.scorers.base import Scorer
from evalgate.sources import import_usage
from evalgate.store.cache import Entry
from evalgate.store.deps import EMPTY, DepMap, Digests
from evalgate.store.keys import SuiteKeys
from evalgate.store.sqlite import ResultStore
from evalgate.tracing import Usage, outliving, recording, traced


def run_case(suite: str, case: Case, adapter: ModelAdapter[Any], scorer: Scorer, repeat: int = 0) -> CaseResult:
    """Generate and score one case; errors are captured in the result."""
    identity: dict[str, Any] = {"suite": suite, "case_id": case.id, "repeat": repeat, "variant": case.variant}
    started = time.perf_counter()
    try:
        with traced(bool(adapter.code())):  # only the project's own code is a dependency, never evalgate's
            output = adapter.generate(case)
    except ModelError as err:
        return CaseResult(**identity, error=CaseError.from_exception(err), latency=time.perf_counter() - started)
    # The output is scored as the model gave it, but kept with secrets redacted: a server
    # that echoes the Authorization header must not put the key into a report or the cache.
    done = {**identity, "output": SECRETS(output.text), "latency": time.perf_counter() - started, "usage": output.usage}
    try:
        with traced(bool(scorer.code)):
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
    dictionary lookup. What a suite depends on is a *union*: everything any of its calls (and
    the import of its model and scorer code) read or executed, recorded as they run
    (:mod:`evalgate.tracing`). A cached result counts only if the union of the run that
    produced it still holds — every file the same content, every executed block of code the
    same source, every library the same version — and its writer is one this run trusts.
    :meth:`lookup` and :meth:`note_hit` run on pytest's thread; :meth:`compute` may run on the
    engine's pool threads.
    """

    HIT_BATCH = 500

    def __init__(self, project: Project, store: ResultStore | None, run_id: str, refresh: bool = False, part: str = "") -> None:
        self.project = project
        self.store = store
        self.run_id = run_id
        self.refresh = refresh
        self.part = part
        """This process's name within the run (an xdist worker's id; "" for the controller)."""
        self.keys: dict[str, SuiteKeys] = {}
        self.prefetched: dict[str, dict[str, Entry]] = {}
        self.hit_keys: list[tuple[str, str]] = []
        """Cache entries (key, producing run) this process reused, to mark used."""
        self.pending_hits: list[CaseResult] = []
        self.lock = threading.Lock()
        self.mapping = threading.Lock()
        """Held while a dependency map is made (:meth:`dependency_map`)."""
        self.digests = Digests(project.root)
        self.excluded = [store.path] if store is not None and store.url is None else []
        if store is not None and not refresh:  # judges reuse verdicts on texts they judged before
            for suite in project.suites:
                for part_scorer in suite.parts:
                    if part_scorer.memo is not None:
                        part_scorer.memo.bind(store.judgements.get, store.judgements.put)
        self.static: dict[str, DepMap] = {}
        """Suite → what every result depends on before any call: declared files and what
        importing its model and scorer code read and executed."""
        self.maps: dict[tuple[str, Any], DepMap] = {}
        """(suite, what a call used) → the call's map: calls that used the same things share one."""
        self.unions: dict[str, DepMap] = {}
        """Suite → this process's union of its calls' maps in this run."""
        self.merged: dict[str, set[str]] = {}
        """Suite → ids of the maps already in its union."""
        self.union_checks: dict[tuple[str, str], list[str]] = {}
        """(producing run, suite) → what changed in that run's union since (empty: it holds)."""
        self.loaded_unions: dict[tuple[str, str], DepMap] = {}
        self.hit_unions: dict[str, dict[str, DepMap]] = {}
        """Suite → the unions of the runs whose entries this process may reuse."""
        self.not_reused: dict[str, int] = {}
        """Why cached results were not reused (a reason → how many), for the run's summary."""

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
            if entry.run_id != self.run_id:
                self.hit_keys.append((key, entry.run_id))
        return key, entry.result

    def compute(self, planned: PlannedSuite, case: Case, repeat: int, key: str | None) -> CaseResult:
        """Call the model, score, and store the result with what the call used, at once
        (thread-safe)."""
        suite = planned.suite
        if key is None or self.store is None:
            return _call(suite, case, repeat)
        with recording(trace=False) as usage:  # run_case traces the project's code inside
            result = _call(suite, case, repeat)
        deps = self.dependency_map(suite, usage)
        late = outliving()  # threads kept between calls: every later call may depend on them
        if late is not None:
            deps = self._joined(deps, self.dependency_map(suite, late))
        union = self._grow_union(suite, deps)
        self.store.cache.store(self.run_id, key, self.keys[suite.name].parts(case, repeat), result, deps, union, self.part)
        if not result.errored and planned.repeats > 1 and suite.adapter.deterministic:
            with self.lock:  # later repeats of a deterministic case reuse it within the run
                self.prefetched.setdefault(suite.name, {})[key] = Entry(result, deps.id, self.run_id, suite.name)
        return result

    def dependency_map(self, suite: Suite, usage: Usage) -> DepMap:
        """The map of one call: what the call read and executed."""
        memo = (suite.name, usage.signature())
        with self.lock:
            known = self.maps.get(memo)
        if known is not None:
            return known
        # One thread makes a map; the others that need the same one wait for it (64 threads
        # each reading every installed distribution's metadata took 20 s of CPU).
        with self.mapping:
            with self.lock:
                known = self.maps.get(memo)
            if known is not None:
                return known
            deps = self.digests.map_of_usage(usage, self.excluded)
            with self.lock:
                self.maps[memo] = deps
        return deps

    def _joined(self, deps: DepMap, other: DepMap) -> DepMap:
        """``deps ∪ other``, made once per pair (a big map's id costs a serialisation)."""
        memo = ("joined", (deps.id, other.id))
        with self.lock:
            known = self.maps.get(memo)
        if known is None:
            known = deps.union(other)
            with self.lock:
                self.maps[memo] = known
        return known

    def _grow_union(self, suite: Suite, deps: DepMap) -> DepMap | None:
        """Merge a call's map into the suite's union for this run; the new union when it grew
        (it is stored with the result, in the same transaction), else None."""
        with self.lock:
            merged = self.merged.setdefault(suite.name, set())
            if deps.id in merged:
                return None
        static = self._static(suite)
        with self.lock:
            if deps.id in merged:
                return None
            merged.add(deps.id)
            before = self.unions.get(suite.name, static)
            union = before.union(deps)
            if suite.name in self.unions and union.id == before.id:
                return None
            self.unions[suite.name] = union
            return union

    def _static(self, suite: Suite) -> DepMap:
        with self.lock:
            known = self.static.get(suite.name)
        if known is not None:
            return known
        usage = Usage()
        for path in [*suite.adapter.dependencies(), *suite.scorer.files]:
            usage.files.add(str(path))
        for spec in (*suite.adapter.code(), *suite.scorer.code):
            usage.merge(import_usage(spec)[0])
        with self.mapping:
            deps = self.digests.map_of_usage(usage, self.excluded)
        with self.lock:
            self.static[suite.name] = deps
        return deps

    def preloaded_code(self, suites: set[str]) -> dict[str, list[str]]:
        """Suite → its code modules that were imported before evalgate could watch their import."""
        found: dict[str, list[str]] = {}
        for suite in self.project.suites:
            if suite.name in suites:
                modules = [spec.partition(":")[0] for spec in (*suite.adapter.code(), *suite.scorer.code) if import_usage(spec)[1]]
                if modules:
                    found[suite.name] = sorted(set(modules))
        return found

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
        """Write buffered cache hits to the results store and mark their entries used."""
        if self.store is None:
            return
        if self.pending_hits:
            self.store.history.record_results(self.run_id, self.pending_hits)
            self.pending_hits = []
        if self.hit_keys:
            self.store.cache.touch(self.hit_keys)
            self.hit_keys = []

    def suite_maps(self, others: dict[str, DepMap] | None = None) -> dict[str, DepMap]:
        """Each suite's map for plans: this run's union (with ``others``, the unions the run's
        other processes stored) and the unions of the runs whose entries it reused, under
        the lock files the project has now (its results hold under them)."""
        lock = self.digests.lock()
        found: dict[str, DepMap] = {}
        for name in {*self.unions, *self.hit_unions, *(others or {})}:
            union = self.unions.get(name, EMPTY)
            for other in [*self.hit_unions.get(name, {}).values(), *([others[name]] if others and name in others else [])]:
                union = union.union(other)
            found[name] = DepMap(union.files, union.dists, lock, union.code, union.env_read)
        return found

    def _keys(self, planned: PlannedSuite) -> SuiteKeys:
        name = planned.suite.name
        if name not in self.keys:
            keys = SuiteKeys(self.project, planned.suite)
            wanted = [keys.key(case, repeat) for _, case, repeat in planned.items()]
            assert self.store is not None
            found = {} if self.refresh else self.store.cache.lookup_many(wanted)
            usable = self._still_valid(found, name)
            with self.lock:
                self.prefetched[name] = usable
            self.keys[name] = keys
        return self.keys[name]

    def _still_valid(self, found: dict[str, list[Entry]], suite: str) -> dict[str, Entry]:
        """Per key, the newest trusted entry whose producing run's union still holds; a key with
        none misses, and why (its newest entry's changes) is counted for the run's summary. An
        entry whose run recorded no union never counts: nothing says what it depended on."""
        assert self.store is not None
        pairs = {(entry.run_id, entry.suite) for entries in found.values() for entry in entries} - set(self.union_checks)
        for pair, union in self.store.maps.unions(pairs).items():
            self.union_checks[pair] = self.digests.changes(union, pair[1])
            self.loaded_unions[pair] = union
        unknown = ["its run recorded no dependencies this run can trust"]
        usable: dict[str, Entry] = {}
        for key, entries in found.items():
            valid = next((entry for entry in entries if self.union_checks.get((entry.run_id, entry.suite), unknown) == []), None)
            if valid is not None:
                usable[key] = valid
                self.hit_unions.setdefault(suite, {})[valid.run_id] = self.loaded_unions[(valid.run_id, valid.suite)]
                continue
            for reason in self.union_checks.get((entries[0].run_id, entries[0].suite), unknown)[:3]:
                self.not_reused[reason] = self.not_reused.get(reason, 0) + 1
        return usable
