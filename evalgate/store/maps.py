"""Dependency maps in the store: each map once (content-addressed), each run's union per suite
(what decides whether its cached results still hold), and each suite's latest map (what plans
read).

A map row's id is the digest of its content, checked on every read: a map altered in the
database no longer matches its id and is ignored. Unions and suite maps carry their writer's
ref and signature (:mod:`evalgate.store.trust`).
"""

from __future__ import annotations

import time

from evalgate.store.database import Database
from evalgate.store.deps import DepMap


class DependencyMaps:
    """The ``deps``, ``suite_unions`` and ``suite_maps`` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.tampered = 0
        """Map rows whose content no longer matches their id (reported by the run)."""
        self.unreadable: dict[str, set[str]] = {}
        """Suite → the refs of suite maps :meth:`latest_suite_maps` passed over because this
        run may not read that ref's rows (another branch, or ``local`` before the first
        commit): what a plan says when a suite seems never to have run."""

    def load(self, ids: list[str]) -> dict[str, DepMap]:
        """The dependency maps with these ids (those whose content matches their id)."""
        found: dict[str, DepMap] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for deps_id, text in self.db.query(f"SELECT id, map FROM deps WHERE id IN ({marks})", chunk) or []:
                recorded = DepMap.stored(deps_id, text)
                if recorded is None:
                    self.tampered += 1
                    continue
                found[deps_id] = recorded
        return found

    def unions(self, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], DepMap]:
        """``(run, suite)`` → that run's union of the suite's dependencies (the union of what each
        of its processes recorded), for the pairs whose union this run may trust; a pair without
        one, or with a part that fails verification, is left out (its entries are not reused)."""
        parts: dict[tuple[str, str], list[str]] = {}
        refused: set[tuple[str, str]] = set()
        runs = sorted({run for run, _ in pairs})
        for start in range(0, len(runs), 500):
            chunk = runs[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.query(f"SELECT run_id, suite, part, ref, deps, sig FROM suite_unions WHERE run_id IN ({marks})", chunk)
            for run_id, suite, part, ref, deps_id, sig in rows or []:
                if (run_id, suite) not in pairs:
                    continue
                if self.db.trust.accepts("suite_unions", ref, sig, (run_id, suite, part, deps_id)):
                    parts.setdefault((run_id, suite), []).append(deps_id)
                else:
                    refused.add((run_id, suite))
        maps = self.load(sorted({deps_id for ids in parts.values() for deps_id in ids}))
        found: dict[tuple[str, str], DepMap] = {}
        for pair, ids in parts.items():
            if pair in refused or any(deps_id not in maps for deps_id in ids):
                continue  # a part we cannot trust or read: the union is unknown, nothing is reused
            union = maps[ids[0]]
            for deps_id in ids[1:]:
                union = union.union(maps[deps_id])
            found[pair] = union
        return found

    def save_suite_maps(self, run_id: str, part: str, maps: dict[str, DepMap]) -> None:
        """Keep what this process of a run (``part``: an xdist worker's id, "" for the
        controller) knows of each suite's map; the run's map is the union of its parts."""
        now, trust = time.time(), self.db.trust
        self.db.write_many("INSERT OR IGNORE INTO deps (id, map, created_at) VALUES (?, ?, ?)",
                           [(deps.id, deps.to_json(), now) for deps in maps.values()])
        self.db.write_many(
            "INSERT OR REPLACE INTO suite_maps (suite, run_id, part, recorded_at, deps, ref, sig) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(suite, run_id, part, now, deps.id, trust.ref, trust.sign("suite_maps", trust.ref, (suite, run_id, part, deps.id)))
             for suite, deps in maps.items()],
        )

    def latest_suite_maps(self) -> dict[str, tuple[DepMap, float, str]]:
        """Suite → (its newest map this run may trust — the union of the parts of the newest
        run that recorded one —, when it was recorded, by which run)."""
        rows = self.db.query("SELECT suite, run_id, part, recorded_at, deps, ref, sig FROM suite_maps ORDER BY recorded_at DESC")
        newest: dict[str, tuple[str, float]] = {}
        parts: dict[str, list[str]] = {}
        for suite, run_id, part, recorded, deps_id, ref, sig in rows or []:
            if suite in newest and newest[suite][0] != run_id:
                continue
            if self.db.trust.accepts("suite_maps", ref, sig, (suite, run_id, part, deps_id)):
                newest.setdefault(suite, (run_id, float(recorded)))
                parts.setdefault(suite, []).append(deps_id)
            elif not self.db.trust.may_read(ref):  # (a readable ref's row that fails its signature is not this)
                self.unreadable.setdefault(suite, set()).add(str(ref))
        maps = self.load(sorted({deps_id for ids in parts.values() for deps_id in ids}))
        found: dict[str, tuple[DepMap, float, str]] = {}
        for suite, ids in parts.items():
            known = [maps[deps_id] for deps_id in ids if deps_id in maps]
            if len(known) == len(ids):
                union = known[0]
                for other in known[1:]:
                    union = union.union(other)
                found[suite] = (union, newest[suite][1], newest[suite][0])
        return found
