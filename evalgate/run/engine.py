"""Concurrency below pytest's item loop: model calls for upcoming cases run ahead.

pytest runs items one at a time. If each item called the model itself, one process
would keep at most one request in flight. Instead, when an eval item runs, the engine
looks at the items this process will run next and starts their model calls on a pool
per model (``concurrency`` threads each), up to a bounded window. The item then only
waits for its own result, which is usually ready. xdist adds processes on top; it is
not needed for speed.

Cache lookups and hit bookkeeping happen on pytest's thread; pool threads only call the
model, score, and write the fresh result to the store (which is thread-safe), so a
result is on disk as soon as its call completes. Pool threads are daemons and queued
calls are cancelled on ``-x``, Ctrl-C or a decided suite, so the run ends promptly.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from evalgate.cases import Case
from evalgate.models.base import ModelAdapter
from evalgate.results import CaseResult
from evalgate.run.planned import PlannedSuite
from evalgate.run.runner import CaseRunner


@dataclass(frozen=True)
class Job:
    """One case run the engine knows about."""

    nodeid: str
    planned: PlannedSuite
    case: Case
    repeat: int


@dataclass
class _Pending:
    suite: str
    kind: str
    """``hit`` (from the cache), ``call`` (a model call), ``shared`` (same key as a call
    already in flight: a deterministic repeat)."""
    key: str | None
    future: Future[CaseResult]


class DaemonPool:
    """A fixed-size pool of daemon threads: unlike ThreadPoolExecutor, a hung call cannot
    keep the interpreter alive after pytest is done."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self.jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []

    def submit(self, function: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self.jobs.put((future, function))
        if len(self.threads) < self.size:
            thread = threading.Thread(target=self._work, name=f"evalgate-{self.name}-{len(self.threads)}", daemon=True)
            self.threads.append(thread)
            thread.start()
        return future

    def cancel_queued(self) -> None:
        """Cancel every call that has not started."""
        while True:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                job[0].cancel()

    def shutdown(self) -> None:
        self.cancel_queued()
        for _ in self.threads:
            self.jobs.put(None)

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            future, function = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function())
            except BaseException as err:  # delivered to the waiting item, never lost
                future.set_exception(err)


class Engine:
    """Dispatches model calls for upcoming jobs; hands each job its result."""

    def __init__(self, runner: CaseRunner, window: int) -> None:
        self.runner = runner
        self.window = window
        self.pools: dict[int, DaemonPool] = {}
        self.adapters: dict[int, ModelAdapter[Any]] = {}
        self.pending: dict[str, _Pending] = {}
        self.inflight: dict[str, Future[CaseResult]] = {}
        self.cancelled: set[str] = set()

    def result(self, job: Job, upcoming: Sequence[Job] = ()) -> CaseResult:
        """The result of ``job``, after starting calls for up to ``window`` upcoming jobs."""
        for other in upcoming[: self.window]:
            if other.planned.suite.adapter.concurrency > 1:
                self._submit(other)
        if job.nodeid not in self.pending and job.planned.suite.adapter.concurrency == 1:
            # One call at a time: run it here, no thread hand-off (instant adapters stay instant).
            return self.runner.run(job.planned, job.case, job.repeat)
        self._submit(job)
        pending = self.pending.pop(job.nodeid, None)
        if pending is None:  # its suite was cancelled, so nothing was dispatched: run it here
            return self.runner.run(job.planned, job.case, job.repeat)
        result = pending.future.result()
        if pending.kind != "call":
            return self.runner.note_hit(pending.key, result, job.planned.suite.name, job.case, job.repeat)
        if pending.key is not None and self.inflight.get(pending.key) is pending.future:
            del self.inflight[pending.key]
        return result

    def knows(self, nodeid: str) -> bool:
        """True when the job is already dispatched (or answered from the cache)."""
        return nodeid in self.pending

    @property
    def in_flight(self) -> int:
        """Calls started or queued and not finished."""
        return sum(1 for p in self.pending.values() if p.kind == "call" and not p.future.done())

    def cancel_suite(self, suite: str) -> None:
        """Stop dispatching a suite's calls (its verdict is decided); queued ones are dropped."""
        self.cancelled.add(suite)
        for nodeid, pending in list(self.pending.items()):  # this suite's only: others keep their place
            if pending.suite == suite and pending.kind == "call" and pending.future.cancel():
                del self.pending[nodeid]
        # A cancelled call must not be shared by a later repeat of the same case.
        self.inflight = {key: future for key, future in self.inflight.items() if not future.cancelled()}

    def shutdown(self) -> None:
        """Cancel queued calls, tell adapters to send nothing more, and let the pools'
        threads go (they are daemons)."""
        for pool in self.pools.values():
            pool.shutdown()
        for adapter in self.adapters.values():
            adapter.stop()
        for pending in self.pending.values():
            pending.future.cancel()
        self.pending.clear()

    def _submit(self, job: Job) -> None:
        if job.nodeid in self.pending or job.planned.suite.name in self.cancelled:
            return
        key, hit = self.runner.lookup(job.planned, job.case, job.repeat)
        if hit is not None:
            done: Future[CaseResult] = Future()
            done.set_result(hit)
            self.pending[job.nodeid] = _Pending(job.planned.suite.name, "hit", key, done)
            return
        if key is not None and key in self.inflight:
            self.pending[job.nodeid] = _Pending(job.planned.suite.name, "shared", key, self.inflight[key])
            return
        suite = job.planned.suite
        pool = self.pools.get(id(suite.adapter))
        if pool is None:
            pool = DaemonPool(suite.adapter.pool_size, suite.adapter.kind)
            self.pools[id(suite.adapter)] = pool
            self.adapters[id(suite.adapter)] = suite.adapter
        future: Future[CaseResult] = pool.submit(
            lambda: self.runner.compute(job.planned, job.case, job.repeat, key)
        )
        if key is not None and suite.adapter.deterministic:
            self.inflight[key] = future
        self.pending[job.nodeid] = _Pending(suite.name, "call", key, future)
