"""Early stopping across shards: every shard of a run reads the whole suite's prefix from the store.

A shard (``--eval-shard K/N``) holds a hash-chosen slice of each suite's cases, so on its own
it never sees the completed prefix of the sampling order and cannot stop early. Shards that
share a result store — a PostgreSQL server, or one SQLite file on one machine — and a *run
group* (the CI run they belong to) can: each shard writes its results to the store as they
land and, every :data:`POLL_SECONDS` or :data:`POLL_RESULTS` results, reads every result of its group for the suites
not yet settled, feeding the same :class:`~evalgate.verdict.monitor.SuiteMonitor` the
unsharded run and ``evalgate report merge`` use, over the suite's full sampling order. When
the prefix settles a suite, the shard skips the rest of its cases with the reason; the other
shards see the same prefix on their next poll. So the run stops as soon as the unsharded one
would, within the cases already in flight, and the merge decides on a prefix that contains
the one that settled it — the same verdict.

Only results that exist are ever read: a result that arrives late, or a clock that skews the
incremental reads, can only delay a stop, never cause a wrong one.

The group is ``--eval-run-group`` / ``EVALGATE_RUN_GROUP``, else the CI run's identity
(GitHub Actions run and attempt, a GitLab pipeline, a Buildkite build, a Jenkins build tag),
combined with the run's label, its shard count and a digest of its plan, so two different
evalgate jobs of one CI run never mix their results.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping

from evalgate.results import CaseResult
from evalgate.run.session import EvalSession
from evalgate.store.sqlite import ResultStore
from evalgate.verdict.monitor import SuiteMonitor
from evalgate.verdict.outcomes import PrefixReader

POLL_SECONDS = 0.25
"""Time after which the next result triggers a read of the group's results..."""
POLL_RESULTS = 4
"""... or this many new results of this shard, whichever comes first (a fast shard must not
finish between two timed reads)."""
OVERLAP_SECONDS = 10.0
"""How far back each incremental read looks before the newest result seen: writers on other
machines stamp their own clocks (CI runners keep theirs within a second by NTP; a result
stamped further back is missed, which only delays a stop)."""
ENV_GROUP = "EVALGATE_RUN_GROUP"

_CI_RUNS = (
    ("GITHUB_RUN_ID", ("GITHUB_REPOSITORY", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT")),
    ("CI_PIPELINE_ID", ("CI_PROJECT_ID", "CI_PIPELINE_ID")),
    ("BUILDKITE_BUILD_ID", ("BUILDKITE_BUILD_ID", "BUILDKITE_RETRY_COUNT")),
    ("BUILD_TAG", ("BUILD_TAG",)),
)


def run_group(explicit: str | None, env: Mapping[str, str], session: EvalSession) -> str | None:
    """The group this shard's run belongs to, or None (not a shard, or no group known)."""
    if session.shard is None:
        return None
    base = explicit or env.get(ENV_GROUP, "").strip()
    if not base:
        for marker, names in _CI_RUNS:
            if env.get(marker):
                base = ":".join(env.get(name, "") for name in names)
                break
    if not base:
        return None
    plan = hashlib.sha256()
    for planned in sorted(session.planned.values(), key=lambda p: p.suite.name):
        plan.update(f"{planned.suite.name}\0{planned.tier}\0{len(planned.full_order)}\0".encode())
        plan.update("\0".join(planned.full_order).encode())
    return f"{base}|{session.label}|{session.shard[1]}|{plan.hexdigest()[:16]}"


class GroupWatch:
    """Reads the group's results from the store and says which suites its prefix settled."""

    def __init__(self, store: ResultStore, group: str, run_id: str, session: EvalSession) -> None:
        self.store, self.group, self.run_id, self.session = store, group, run_id, session
        self.last_poll = 0.0
        self.written = 0
        """How many of this shard's results were written to the store already."""
        self.newest: dict[str, float] = {}
        """Suite → the newest ``created_at`` read so far."""
        self.seen: dict[str, set[tuple[str, int]]] = {}
        self.watched: dict[str, tuple[PrefixReader, SuiteMonitor]] = {}
        for planned in session.planned.values():
            if not session.project.tier(planned.tier).early_stop:
                continue
            spec = session.group_spec(planned)
            self.watched[spec.name] = (PrefixReader(spec.order, spec.repeats, spec.variants), SuiteMonitor(spec))
            self.seen[spec.name] = set()

    def poll(self, now: float | None = None) -> list[tuple[str, SuiteMonitor]]:
        """Write this shard's new results, read the group's, and return the suites that just
        settled (once every :data:`POLL_SECONDS` or :data:`POLL_RESULTS` new results)."""
        now = time.monotonic() if now is None else now
        due = now - self.last_poll >= POLL_SECONDS or len(self.session.results) - self.written >= POLL_RESULTS
        if not self.watched or not due or not self.store.enabled:
            return []
        self.last_poll = now
        fresh = self.session.results[self.written :]
        if fresh:
            self.store.history.record_results(self.run_id, list(fresh))
            self.written += len(fresh)
        settled = []
        for name, (reader, monitor) in list(self.watched.items()):
            since = self.newest.get(name, 0.0) - OVERLAP_SECONDS
            for created, result in self.store.history.group_results(self.group, name, since):
                self.newest[name] = max(self.newest.get(name, 0.0), created)
                if self._take(name, result, reader, monitor) and monitor.settled:
                    settled.append((name, monitor))
                    del self.watched[name]
                    break
        return settled

    def _take(self, name: str, result: CaseResult, reader: PrefixReader, monitor: SuiteMonitor) -> bool:
        """Feed one result (each case run once, whichever shard or retry wrote it)."""
        key = (result.row_id, result.repeat)
        if key in self.seen[name]:
            return False
        self.seen[name].add(key)
        for case_id, outcome, consistent in reader.add(result):
            if monitor.add(case_id, outcome, consistent) is not None:
                return True
        return False
