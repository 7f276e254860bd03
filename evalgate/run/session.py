"""One eval run's state: the plan (which cases run), the results, and the verdicts.

Kept apart from the pytest hooks so the logic is plain Python: the plugin feeds it
collected case ids and results from reports and asks it for verdicts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalgate.cases import Case, CaseText, case_text
from evalgate.checkout import repository_root
from evalgate.config import GateConfig, TierConfig
from evalgate.config_errors import line_of_key
from evalgate.project import Project, Suite
from evalgate.results import CaseResult, variant_label
from evalgate.run.planned import PlannedSuite, safe_nodeid
from evalgate.run.sampling import cases_for_tier
from evalgate.run.sharding import in_shard
from evalgate.variants import load_variants
from evalgate.verdict.gate import SuiteVerdict, Verdict, decide
from evalgate.verdict.judged import JudgeCalibration
from evalgate.verdict.monitor import Baseline, SuiteMonitor, SuiteSpec
from evalgate.verdict.outcomes import PrefixReader
from evalgate.verdict.slices import SlicePlan, cases_to_settle, plan_slices

if TYPE_CHECKING:  # the change analyzer (and GitPython) load only when a run plans
    from evalgate.changes.plan import Plan
    from evalgate.document import MergeInfo


STRICTNESS = ("warn", "estimate", "fail")
"""``undecided`` policies from the most lenient to the strictest."""


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
        self.shard_text = f"{shard[0]}/{shard[1]}" if shard else None
        """``K/N`` as reports write it; None when this is no shard."""
        self.label = label
        """What ran, for reports: a tier name, or ``auto → <tier> (<change> change)``."""
        self.skip_reason = skip_reason
        """Why a suite without a tier does not run."""
        self.planned: dict[Path, PlannedSuite] = {}
        self.judge_failures: dict[str, str] = {}
        """Suite → why its judge cannot gate (:mod:`evalgate.run.judging`)."""
        self.budget_stops: dict[str, str] = {}
        """Suite → why its remaining cases were skipped: a spend cap was reached."""
        self.judge_calibrations: dict[str, JudgeCalibration] = {}
        """Suite → its judge's errors measured on people's labels: the pass rate is corrected."""
        self.notes: list[str] = []
        """What the run decided for the user and says in its header (a repeat it saved)."""
        self.skip_reasons: dict[str, str] = {}
        """Suite → why it does not run, when that is its own choice (``tiers = [...]``)."""
        for suite in project.suites:
            tier_name = assignments.get(suite.name)
            only = suite.config.tiers
            if tier_name and only is not None and tier_name not in only:
                self.skip_reasons[suite.name] = f"runs only in the {' / '.join(only)} tier{'s' if len(only) > 1 else ''} (this run: {tier_name})"
                continue
            if tier_name:
                tier = project.tier(tier_name)
                needs = self._slice_needs(suite, tier, tier_name)
                cases = cases_for_tier(suite.cases, tier, project.config.seed, suite.config.stratify, needs)
                full_order = tuple(case.id for case in cases)
                if shard is not None:
                    cases = [case for case in cases if in_shard(case.id, shard)]
                early_stop = tier.early_stop and shard is None
                repeats = tier.repeats
                if repeats > 1 and suite.adapter.deterministic:
                    repeats = 1  # the same input gives the same answer: a repeat carries no information
                    self.notes.append(
                        f"{suite.name}: its model is deterministic, so each case runs once "
                        f"(the {tier_name} tier's {tier.repeats} repeats would repeat the same answer)"
                    )
                variants = load_variants(tier.variants, project.root, f"tier '{tier_name}'")
                if variants and not suite.adapter.recorded_variants([variant.name for variant in variants]):
                    self.notes.append(
                        f"{suite.name}: its recorded outputs have no rows for robustness variants, so the "
                        f"{tier_name} tier's variants do not run (record them as 'id[variant]' rows to test them)"
                    )
                    variants = ()
                self.planned[suite.path] = PlannedSuite(
                    suite, cases, repeats, tier_name, early_stop, full_order, variants, project.config.seed
                )
        self.by_name = {planned.suite.name: planned for planned in self.planned.values()}
        self._by_nodeid: dict[str, PlannedSuite] | None = None
        """A suite file's node id (:func:`~evalgate.run.planned.safe_nodeid`) → its plan."""
        self.scheduled: dict[str, set[str]] = defaultdict(set)
        """Suite name → case ids (and ``q1[typo]`` variant labels) actually collected, after
        ``-k`` and friends."""
        self.fully_scheduled: set[str] = set()
        """Suites whose every planned case was collected (their id sets are dropped)."""
        self.results: list[CaseResult] = []
        self.spans: dict[str, tuple[float, float]] = {}
        """Suite → (first start, last stop) of its case runs: its wall time."""
        self.live: dict[str, tuple[PrefixReader, SuiteMonitor]] = {}
        """Suites being watched for an early decision: their prefix and monitor."""
        self.undecided: str | None = None
        """``--eval-undecided``: overrides every gate's ``undecided`` policy."""
        self.baselines: dict[str, Baseline] = {}
        """Suite → its baseline, for suites gated against one."""

    def _slice_needs(self, suite: Suite, tier: TierConfig, tier_name: str) -> dict[str, int] | None:
        """For a capped tier and a gate with slices: the cases of each gated slice it needs to
        be able to settle (said in the run's header)."""
        gate = tightened(suite.config.gate, tier)
        plan = slice_plan(gate, suite.cases)
        if plan is None or tier.size(len(suite.cases)) >= len(suite.cases):
            return None
        gated = [each for each in plan.slices if each.gated]
        needs = {each.tag: cases_to_settle(each, gate.alpha / max(1, len(gated))) for each in gated}
        if needs:
            listed = ", ".join(f"{each.tag} {needs[each.tag]}" + (" (all)" if needs[each.tag] >= each.population else "")
                               for each in gated)
            self.notes.append(f"{suite.name}: its slices need at least {listed} case(s) each to be able to settle; "
                              f"the {tier_name} sample is the shortest prefix of the order that holds them")
        return needs

    @classmethod
    def for_tier(cls, project: Project, tier_name: str, shard: tuple[int, int] | None = None) -> EvalSession:
        """Every suite the tier selects runs at that tier."""
        return cls(project, tier_name, project.assign_tier(tier_name), "not selected by this tier", shard)

    @classmethod
    def for_plan(cls, project: Project, plan: Plan, shard: tuple[int, int] | None = None) -> EvalSession:
        """Each suite runs at the tier the change plan chose for it."""
        if plan.override:
            label = f"{plan.tier} (override)"
        elif plan.change == "none":
            label = "auto → none (no relevant change)"
        else:
            label = f"auto → {plan.tier} ({plan.change} change)"
        reason = "skipped: no relevant change" if plan.change == "none" and not plan.override else "not selected by the plan"
        return cls(project, label, plan.suites, reason, shard)

    def describe(self) -> dict[str, object]:
        """What a worker needs to rebuild this session (xdist: plan once, on the controller)."""
        assignments = {p.suite.name: p.tier for p in self.planned.values()}
        return {"label": self.label, "assignments": assignments, "skip_reason": self.skip_reason, "shard": self.shard}

    def planned_suite(self, path: Path) -> PlannedSuite | None:
        """The plan for the suite defined in ``path``; None if the tier does not run it."""
        return self.planned.get(path.resolve())

    def schedule(self, suite: str, case: Case) -> None:
        """Note that a case item (or one of its variants) was collected and will run."""
        self.scheduled[suite].add(variant_label(case.id, case.variant))

    def schedule_nodeid(self, nodeid: str, rootdir: Path) -> bool:
        """Like :meth:`schedule`, from a node id (what xdist workers report); False when
        the node is not an eval case."""
        file_part, sep, name = nodeid.rpartition("::")  # case ids hold no "::"; a file's is escaped
        if self._by_nodeid is None:
            self._by_nodeid = {safe_nodeid(path, rootdir): planned for path, planned in self.planned.items()}
        planned = self._by_nodeid.get(file_part) if sep else None
        if planned is None:
            return False
        found = planned.by_item_name.get(name)
        if found is None:  # --dist loadgroup appends "@<group>" (the suite) to the node id
            found = planned.by_item_name.get(name.removesuffix(f"@{planned.suite.name}"))
        if found is None:
            return False
        self.schedule(planned.suite.name, found[0])
        return True

    def note_time(self, suite: str, started: float, stopped: float) -> None:
        """Widen the suite's wall-clock span with one case run's start and stop."""
        first, last = self.spans.get(suite, (started, stopped))
        self.spans[suite] = (min(first, started), max(last, stopped))

    def record(self, result: CaseResult) -> SuiteMonitor | None:
        """Keep one case result; the suite's monitor when this result just settled it."""
        self.results.append(result)
        planned = self.by_name.get(result.suite)
        if planned is None or not planned.early_stop:
            return None
        live = self.live.get(result.suite)
        if live is None:
            spec = self.spec(planned.suite)
            live = self.live[result.suite] = (PrefixReader(spec.order, spec.repeats, spec.variants), SuiteMonitor(spec))
        reader, monitor = live
        if monitor.settled:
            return None
        for case_id, outcome, consistent in reader.add(result):
            if monitor.add(case_id, outcome, consistent) is not None:
                return monitor
        return None

    def scheduling_done(self) -> None:
        """Collection is over: forget the id sets of suites whose every planned case was
        collected (the common case), so a 100,000-case run does not keep them."""
        for planned in self.planned.values():
            name = planned.suite.name
            if name in self.scheduled and len(self.scheduled[name]) == len(planned.cases) * (1 + len(planned.variants)):
                del self.scheduled[name]
                self.fully_scheduled.add(name)

    def order(self, planned: PlannedSuite) -> list[str]:
        """The suite's scheduled case ids in sampling order."""
        if planned.suite.name in self.fully_scheduled:
            return [case.id for case in planned.cases]
        scheduled = self.scheduled[planned.suite.name]
        return [case.id for case in planned.cases if case.id in scheduled]

    def spec(self, suite: Suite) -> SuiteSpec:
        """What the suite's verdict is about in this run: its planned and selected cases
        in sampling order, and the population — the suite, or the selection when ``-k`` or
        ``--lf`` left some planned cases out."""
        planned = self.planned.get(suite.path)
        gate, total = self.gate(suite), len(suite.cases)
        if planned is None:
            return SuiteSpec(suite.name, gate, (), total, total, skip_reason=self.skip_reasons.get(suite.name, self.skip_reason))
        order = tuple(self.order(planned))
        selected = len(order) < len(planned.cases)
        baseline = self.baselines.get(suite.name)
        chosen = set(order) if selected else None
        cases = [case for case in suite.cases if chosen is None or case.id in chosen]
        # A selection inside a capped tier's sample is a sample of the selection, not all of it:
        # its verdict is about what the selected cases stand for, never exact.
        sampled_selection = selected and len(planned.cases) < total
        return SuiteSpec(
            suite.name, gate, order, len(order) if selected else total, total, selected, planned.repeats,
            baseline=baseline, variants=self.variants_run(planned, order),
            control=control_passes(baseline, [case.id for case in cases]), slices=slice_plan(gate, cases),
            kind="distribution" if sampled_selection or suite.name in self.judge_calibrations else (gate.population or "suite"),
            regression_kind=gate.regression_population or "distribution", alpha_fail_cap=self.alpha_fail_cap(),
            judge=self.judge_calibrations.get(suite.name), stopped=self.budget_stops.get(suite.name),
        )

    def group_spec(self, planned: PlannedSuite) -> SuiteSpec:
        """What the whole run group's verdict of a suite is about — every shard's cases, in the
        full sampling order, the suite as population — as one unsharded run (or a merge) has it."""
        suite = planned.suite
        baseline = self.baselines.get(suite.name)
        gate, total = self.gate(suite), len(suite.cases)
        return SuiteSpec(
            suite.name, gate, planned.full_order, total, total, repeats=planned.repeats, baseline=baseline,
            variants=planned.variant_names, control=control_passes(baseline, [case.id for case in suite.cases]),
            slices=slice_plan(gate, suite.cases),
            kind="distribution" if suite.name in self.judge_calibrations else (gate.population or "suite"),
            regression_kind=gate.regression_population or "distribution", alpha_fail_cap=self.alpha_fail_cap(),
            judge=self.judge_calibrations.get(suite.name),
        )

    def variants_run(self, planned: PlannedSuite, order: tuple[str, ...]) -> tuple[str, ...]:
        """The variants the suite's consistency is about: every one the tier asked for, less
        any that ``-k`` deselected for some case of the order (they are not measured)."""
        name = planned.suite.name
        if name in self.fully_scheduled or not planned.variants:
            return planned.variant_names
        scheduled = self.scheduled[name]
        return tuple(v for v in planned.variant_names if all(variant_label(case, v) in scheduled for case in order))

    def verdicts(self) -> list[SuiteVerdict]:
        """One verdict per project suite (suites outside the tier are SKIPPED)."""
        by_suite: dict[str, list[CaseResult]] = defaultdict(list)
        for result in self.results:
            by_suite[result.suite].append(result)
        verdicts = []
        anchor = repository_root(self.project.root) or self.project.root
        for suite in self.project.suites:
            verdict = decide(self.spec(suite), by_suite[suite.name])
            span = self.spans.get(suite.name)
            verdict = judge_refused(verdict, self.judge_failures.get(suite.name))
            verdicts.append(replace(
                verdict, wall_seconds=span[1] - span[0] if span else None, **suite_location(anchor, suite.path)
            ))
        return verdicts

    def gate(self, suite: Suite) -> GateConfig:
        """The suite's gate, tightened by its tier (``alpha``, ``max_regression``, ``undecided``:
        a tier can only make a gate stricter) and with run-wide overrides applied."""
        gate = suite.config.gate
        planned = self.planned.get(suite.path)
        if planned is not None:
            gate = tightened(gate, self.project.tier(planned.tier))
        project = self.project.config
        resolved: dict[str, object] = {"population": gate.population or project.population,
                                       "regression_population": gate.regression_population or project.regression_population}
        if self.undecided is not None:
            resolved["undecided"] = self.undecided
        return gate.model_copy(update=resolved)

    def alpha_fail_cap(self) -> float | None:
        """Each suite's share of ``run_alpha`` for its FAIL side (Bonferroni over the suites this
        run gates), or None when the run does not bound its family-wise error, or gates one suite."""
        run_alpha, gated = self.project.config.run_alpha, len(self.planned)
        return run_alpha / gated if run_alpha is not None and gated > 1 else None

    def case_texts(self) -> dict[tuple[str, str], CaseText]:
        """What each case that ran asked and expected, for report.html."""
        ran = {(result.suite, result.row_id) for result in self.results}
        texts: dict[tuple[str, str], CaseText] = {}
        for suite in self.project.suites:
            planned = self.planned.get(suite.path)
            for case in suite.cases:
                if (suite.name, case.id) not in ran:
                    continue
                texts[(suite.name, case.id)] = case_text(case)
                for variant in planned.variant_cases(case) if planned else ():
                    texts[(suite.name, variant_label(case.id, variant.variant))] = case_text(variant)
        return texts

    def metadata(self) -> dict[str, MergeInfo]:
        """What ``evalgate report merge`` needs to decide each suite again from merged
        shards: its gate, full planned order, size, repeats and skip reason."""
        from evalgate.document import MergeInfo  # the typed document loads only for reports

        meta: dict[str, MergeInfo] = {}
        for suite in self.project.suites:
            planned = self.planned.get(suite.path)
            order = self.order(planned) if planned else []
            spec = self.spec(suite)
            meta[suite.name] = MergeInfo(
                gate=self.gate(suite),
                order=list(planned.full_order) if planned else [],
                total=len(suite.cases),
                repeats=planned.repeats if planned else 1,
                skip_reason=None if planned else self.skip_reason,
                scheduled=order if planned and len(order) < len(planned.cases) else None,
                variants=list(spec.variants),
                control=spec.control,
                alpha_fail_cap=spec.alpha_fail_cap,
                judge=spec.judge,
                judge_failure=self.judge_failures.get(suite.name),
                slice_tags={case.id: list(case.tags) for case in suite.cases} if planned and suite.config.gate.slices else None,
            )
        return meta


def tightened(gate: GateConfig, tier: TierConfig) -> GateConfig:
    """A gate as a tier runs it: ``alpha``, ``max_regression`` and ``undecided`` only ever stricter."""
    update: dict[str, object] = {}
    if tier.alpha is not None and tier.alpha < gate.alpha:
        update["alpha"] = tier.alpha
    if tier.max_regression is not None and tier.max_regression < gate.max_regression:
        update["max_regression"] = tier.max_regression
    if tier.undecided is not None and STRICTNESS.index(tier.undecided) > STRICTNESS.index(gate.undecided):
        update["undecided"] = tier.undecided
    return gate.model_copy(update=update) if update else gate


def slice_plan(gate: GateConfig, cases: Sequence[Case]) -> SlicePlan | None:
    """The slices of a population of cases, when the gate has ``[gate.slices]``."""
    if gate.slices is None:
        return None
    return plan_slices(gate.slices, gate.min_pass_rate, [(case.id, case.tags) for case in cases])


def judge_refused(verdict: SuiteVerdict, failure: str | None) -> SuiteVerdict:
    """The verdict of a suite whose judge cannot gate (``failure``: why): ERROR, whatever the
    judge alone said — in a run and in a merge of shards alike."""
    if failure is None or verdict.verdict == Verdict.SKIPPED:
        return verdict
    return replace(verdict, verdict=Verdict.ERROR, blocks_merge=True, reason=f"{failure} (by the judge alone: {verdict.verdict})")


def control_passes(baseline: Baseline | None, population: Sequence[str]) -> int | None:
    """The baseline's pass count over the population when it has every case of it (a complete
    run): a known number the pass-rate test uses as a control variate. None otherwise."""
    if baseline is None or not population or any(case not in baseline.outcomes for case in population):
        return None
    return sum(baseline.outcomes[case] == "pass" for case in population)


def suite_location(root: Path, path: Path) -> dict[str, Any]:
    """``file`` (relative to ``root`` — the repository's top, so that CI annotations land on
    the diff when the project lives in a subfolder — POSIX) and ``line`` (of its gate, where
    known) of a suite file."""
    try:
        file = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        file = path.as_posix()
    return {"file": file, "line": line_of_key(path, "gate")}

