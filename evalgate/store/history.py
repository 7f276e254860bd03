"""Run history: which runs happened where (commit, branch, ref), their results, and which of them
ran a suite completely — what baselines and sharded runs read.

Every row is signed by a run holding the store key and read only when the run may trust its
ref (:mod:`evalgate.store.trust`): a baseline forged into a shared database, or a pull
request's run labelled as main's, is never what a pull request is measured against.
"""

from __future__ import annotations

import time
from typing import Any

from evalgate.results import CaseResult, result_from_json, result_to_json
from evalgate.store.cache import INSERT_RESULT
from evalgate.store.database import Database

INSERT_RUN = ("INSERT OR IGNORE INTO runs (run_id, label, started_at, commit_sha, branch, run_group, ref) "
              "VALUES (?, ?, ?, ?, ?, ?, ?)")
CANDIDATES = 20
"""Newest runs looked at for a baseline before giving up (rows that fail verification are skipped)."""


class RunHistory:
    """The ``runs``, ``results`` and ``run_suites`` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def start_run(self, run_id: str, label: str, commit: str | None = None, branch: str | None = None, group: str | None = None) -> None:
        """Record that a run began, at which commit of which branch (when known), in which run
        group (the shards of one CI run), under this store's ref."""
        row = (run_id, label, time.time(), commit, branch, group, self.db.trust.ref)
        self.db.replay.append((INSERT_RUN, [row]))
        self.db.write_many(INSERT_RUN, [row])

    def finish_run(self, run_id: str, hits: int, misses: int) -> None:
        """Record a run's end and its cache hits and misses; signed, with the run's identity."""
        rows = self.db.query("SELECT label, commit_sha, branch, run_group, ref FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            return
        label, commit, branch, group, ref = rows[0]
        finished = time.time()
        signature = self.db.trust.sign("runs", ref, (run_id, label, commit, branch, group, finished))
        self.db.write_many("UPDATE runs SET finished_at = ?, hits = ?, misses = ?, sig = ? WHERE run_id = ?",
                           [(finished, hits, misses, signature, run_id)])

    def record_results(self, run_id: str, results: list[CaseResult]) -> None:
        """Keep results of a run that came from the cache (batched: losing them in a crash costs
        nothing, the cache still holds them)."""
        now, trust = time.time(), self.db.trust
        rows = []
        for result in results:
            row = (run_id, result.suite, result.row_id, result.repeat, int(result.cached), result_to_json(result))
            rows.append((*row, now, trust.sign("results", trust.ref, row)))
        self.db.write_many(INSERT_RESULT, rows)

    def record_suites(self, run_id: str, suites: list[tuple[str, bool, bool, str]]) -> None:
        """Record, per suite, whether this run ran every case (``complete``), whether its cases
        were a selection (``selected``) and its verdict."""
        trust = self.db.trust
        rows = [(run_id, suite, int(complete), int(selected), verdict) for suite, complete, selected, verdict in suites]
        self.db.write_many(
            "INSERT OR REPLACE INTO run_suites (run_id, suite, complete, selected, verdict, sig) VALUES (?, ?, ?, ?, ?, ?)",
            [(*row, trust.sign("run_suites", trust.ref, row)) for row in rows],
        )

    def run_results(self, run_id: str, suite: str | None = None) -> list[CaseResult]:
        """Every result recorded for a run (of one suite, when given) that this run may trust."""
        where, params = ("results.run_id = ?", [run_id]) if suite is None else ("results.run_id = ? AND results.suite = ?", [run_id, suite])
        rows = self.db.query(
            "SELECT results.run_id, results.suite, results.case_id, results.repeat, results.cached, results.result, "
            f"results.sig, runs.ref FROM results JOIN runs ON runs.run_id = results.run_id WHERE {where} "
            "ORDER BY results.created_at", params)
        found = []
        for *row, sig, ref in rows or []:
            if self.db.trust.accepts("results", ref, sig, tuple(row)):
                found.append(result_from_json(row[5]))
        return found

    def newest_complete_run(self, suite: str, exclude: str | None = None, commit: str | None = None,
                            branch: str | None = None) -> str | None:
        """The id of the newest finished run other than ``exclude``, of a ref this run trusts,
        in which every case of ``suite`` ran — at ``commit`` and/or on ``branch`` when given."""
        where, params = "", [suite, exclude or ""]
        if commit is not None:
            where += " AND runs.commit_sha = ?"
            params.append(commit)
        if branch is not None:
            where += " AND runs.branch = ?"
            params.append(branch)
        rows = self.db.query(
            "SELECT runs.run_id, runs.label, runs.commit_sha, runs.branch, runs.run_group, runs.finished_at, runs.ref, "
            "runs.sig, run_suites.complete, run_suites.selected, run_suites.verdict, run_suites.sig "
            "FROM runs JOIN run_suites ON run_suites.run_id = runs.run_id "
            "WHERE run_suites.suite = ? AND run_suites.complete = 1 AND runs.finished_at IS NOT NULL AND runs.run_id != ?"
            f"{where} ORDER BY runs.finished_at DESC LIMIT {CANDIDATES}", params)
        trust = self.db.trust
        for run_id, label, commit_sha, run_branch, group, finished, ref, sig, complete, selected, verdict, suite_sig in rows or []:
            if (trust.accepts("runs", ref, sig, (run_id, label, commit_sha, run_branch, group, finished))
                    and trust.accepts("run_suites", ref, suite_sig, (run_id, suite, complete, selected, verdict))):
                return str(run_id)
        return None

    def group_results(self, group: str, suite: str, since: float) -> list[tuple[float, CaseResult]]:
        """``(created_at, result)`` of every result of ``suite`` that runs of ``group`` under this
        run's ref recorded at or after ``since``, oldest first: what shards read to stop early
        together."""
        rows = self.db.query(
            "SELECT results.created_at, results.run_id, results.suite, results.case_id, results.repeat, results.cached, "
            "results.result, results.sig, runs.ref FROM results JOIN runs ON runs.run_id = results.run_id "
            "WHERE runs.run_group = ? AND runs.ref = ? AND results.suite = ? AND results.created_at >= ? "
            "ORDER BY results.created_at",
            (group, self.db.trust.ref, suite, since))
        found: list[tuple[float, CaseResult]] = []
        for created, *row, sig, ref in rows or []:
            if self.db.trust.accepts("results", ref, sig, tuple(row)):
                found.append((float(created), result_from_json(row[5])))
        return found

    def last_finished(self) -> dict[str, Any] | None:
        """The newest finished run's label and hit rate, for ``evalgate cache stats``."""
        rows = self.db.query("SELECT run_id, label, started_at, finished_at, hits, misses FROM runs "
                             "WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1")
        if not rows:
            return None
        run_id, label, started, finished, hits, misses = rows[0]
        total = hits + misses
        return {"run_id": run_id, "label": label, "started_at": started, "finished_at": finished,
                "hits": hits, "misses": misses, "hit_rate": hits / total if total else None}
