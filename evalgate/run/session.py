"""One eval run's state: the plan (which cases run), the results, and the verdicts.

Kept apart from the pytest hooks so the logic is plain Python: the plugin feeds it
collected case ids and results from reports and asks it for verdicts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

from evalgate.changes.plan import Plan
from evalgate.config import GateConfig
from evalgate.document import MergeInfo
from evalgate.project import Project, Suite
from evalgate.results import CaseResult, case_outcome
from evalgate.run.planned import PlannedSuite
from evalgate.run.sampling import cases_for_tier
from evalgate.run.sharding import in_shard
from evalgate.verdict.gate import SuiteVerdict, decide
from evalgate.verdict.sequential import SequentialTest


class EvalSession:
    """The plan and results of one run: a tier (or none) for each suite."""

    def __init__(
        self,
        project: Project,
        label: str,
        assignments: Mapping[str, str | None],
        skip_reason: str,
        shard: tuple[int, int] | None = None,
    ) -> None:
        self.project = project
        self.shard = shard
        """``(K, N)`` when this run is shard K of N: it runs only its cases, and its
        verdicts are partial until ``evalgate report merge``."""
        self.label = label
        """What ran, for reports: a tier name, or ``auto (<change>)``."""
        self.skip_reason = skip_reason
        """Why a suite without a tier does not run."""
        self.planned: dict[Path, PlannedSuite] = {}
        for suite in project.suites:
            tier_name = assignments.get(suite.name)
            if tier_name:
                tier = project.tier(tier_name)
                cases = cases_for_tier(suite.cases, tier, project.config.seed, suite.config.stratify)
                full_order = tuple(case.id for case in cases)
                if shard is not None:
                    cases = [case for case in cases if in_shard(case.id, shard)]
                early_stop = tier.early_stop and shard is None
                self.planned[suite.path] = PlannedSuite(suite, cases, tier.repeats, tier_name, early_stop, full_order)
        self.by_name = {planned.suite.name: planned for planned in self.planned.values()}
        self.scheduled: dict[str, set[str]] = defaultdict(set)
        """Suite name → case ids actually collected (after ``-k`` and friends)."""
        self.results: list[CaseResult] = []
        self.monitors: dict[str, EarlyStop] = {}
        self.undecided: str | None = None
        """``--eval-undecided``: overrides every gate's ``undecided`` policy."""
        self.baselines: dict[str, dict[str, bool]] = {}
        """Suite → case id → the baseline's outcome, for suites gated against a baseline."""

    @classmethod
    def for_tier(cls, project: Project, tier_name: str, shard: tuple[int, int] | None = None) -> EvalSession:
        """Every suite the tier selects runs at that tier."""
        return cls(project, tier_name, project.assign_tier(tier_name), "not selected by this tier", shard)

    @classmethod
    def for_plan(cls, project: Project, plan: Plan, shard: tuple[int, int] | None = None) -> EvalSession:
        """Each suite runs at the tier the change plan chose for it."""
        label = f"{plan.tier} (override)" if plan.override else f"auto ({plan.change} change)"
        reason = "skipped: no relevant change" if plan.change == "none" and not plan.override else "not selected by the plan"
        return cls(project, label, plan.suites, reason, shard)

    def describe(self) -> dict[str, object]:
        """What a worker needs to rebuild this session (xdist: plan once, on the controller)."""
        assignments = {p.suite.name: p.tier for p in self.planned.values()}
        return {"label": self.label, "assignments": assignments, "skip_reason": self.skip_reason, "shard": self.shard}

    def planned_suite(self, path: Path) -> PlannedSuite | None:
        """The plan for the suite defined in ``path``; None if the tier does not run it."""
        return self.planned.get(path.resolve())

    def schedule(self, suite: str, case_id: str) -> None:
        """Note that a case item was collected and will run."""
        self.scheduled[suite].add(case_id)

    def schedule_nodeid(self, nodeid: str, rootdir: Path) -> bool:
        """Like :meth:`schedule`, from a node id (what xdist workers report); False when
        the node is not an eval case."""
        file_part, sep, name = nodeid.partition("::")
        planned = self.planned.get((rootdir / file_part).resolve()) if sep else None
        if planned is None:
            return False
        found = planned.by_item_name.get(name)
        if found is None:
            return False
        self.schedule(planned.suite.name, found[0].id)
        return True

    def record(self, result: CaseResult) -> SequentialTest | None:
        """Keep one case result; the suite's test when this result just settled it."""
        self.results.append(result)
        planned = self.by_name.get(result.suite)
        if planned is None or not planned.early_stop:
            return None
        monitor = self.monitors.get(result.suite)
        if monitor is None:
            monitor = EarlyStop(
                self.order(planned),
                len(planned.suite.cases),
                self.gate(planned.suite),
                planned.repeats,
                self.baselines.get(result.suite),
            )
            self.monitors[result.suite] = monitor
        return monitor.add(result)

    def order(self, planned: PlannedSuite) -> list[str]:
        """The suite's scheduled case ids in sampling order."""
        scheduled = self.scheduled[planned.suite.name]
        return [case.id for case in planned.cases if case.id in scheduled]

    def verdicts(self) -> list[SuiteVerdict]:
        """One verdict per project suite (suites outside the tier are SKIPPED)."""
        by_suite: dict[str, list[CaseResult]] = defaultdict(list)
        for result in self.results:
            by_suite[result.suite].append(result)
        verdicts = []
        for suite in self.project.suites:
            planned = self.planned.get(suite.path)
            verdicts.append(
                decide(
                    suite.name,
                    self.gate(suite),
                    by_suite[suite.name],
                    order=self.order(planned) if planned else [],
                    total=len(suite.cases),
                    repeats=planned.repeats if planned else 1,
                    skip_reason=None if planned else self.skip_reason,
                    baseline=self.baselines.get(suite.name),
                )
            )
        return verdicts

    def gate(self, suite: Suite) -> GateConfig:
        """The suite's gate, with run-wide overrides applied."""
        if self.undecided is None:
            return suite.config.gate
        return suite.config.gate.model_copy(update={"undecided": self.undecided})

    def metadata(self) -> dict[str, MergeInfo]:
        """What ``evalgate report merge`` needs to decide each suite again from merged
        shards: its gate, full planned order, size, repeats and skip reason."""
        meta: dict[str, MergeInfo] = {}
        for suite in self.project.suites:
            planned = self.planned.get(suite.path)
            meta[suite.name] = MergeInfo(
                gate=self.gate(suite),
                order=list(planned.full_order) if planned else [],
                total=len(suite.cases),
                repeats=planned.repeats if planned else 1,
                skip_reason=None if planned else self.skip_reason,
            )
        return meta


class EarlyStop:
    """Feeds a suite's results to its sequential tests in sampling order, as they arrive
    (possibly out of order, from xdist workers): only the completed prefix counts. With a
    baseline, the suite is settled only when the baseline comparison is settled too."""

    def __init__(
        self, order: list[str], total: int, gate: GateConfig, repeats: int, baseline: dict[str, bool] | None = None
    ) -> None:
        self.order = order
        self.repeats = repeats
        self.runs: dict[str, list[CaseResult]] = defaultdict(list)
        self.position = 0
        self.test = SequentialTest(total, gate.min_pass_rate, gate.alpha)
        self.baseline = baseline
        paired = sum(case_id in baseline for case_id in order) if baseline is not None else 0
        self.paired = SequentialTest(max(paired, 1), (1 - gate.max_regression) / 2, gate.alpha)
        self.settled = False

    def add(self, result: CaseResult) -> SequentialTest | None:
        """Take a result; the threshold test when the suite has just been settled, else None."""
        if self.settled:
            return None
        self.runs[result.case_id].append(result)
        while self.position < len(self.order):
            case_id = self.order[self.position]
            case_runs = self.runs.get(case_id, [])
            if len(case_runs) < self.repeats:
                break
            self.position += 1
            outcome = bool(case_outcome(case_runs))
            self.test.update(outcome)
            if self.baseline is not None and case_id in self.baseline and self.paired.decision is None:
                self.paired.update((int(outcome) - int(self.baseline[case_id]) + 1) / 2)
            baseline_done = self.baseline is None or self.paired.decision is not None
            if self.test.decision is not None and baseline_done:
                self.settled = True
                return self.test
        return None
