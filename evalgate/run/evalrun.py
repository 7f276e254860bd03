"""One eval run inside pytest: the hooks registered when a tier is requested.

:func:`start_run` loads the project, plans which cases run (a tier, or the change plan
for ``auto``), opens the result store and registers :class:`EvalRun`, whose hooks feed
collected items and results to the session (:mod:`evalgate.run.session`) and write the
verdicts and reports at the end. Under xdist every worker collects the same items (the
sample is seeded); case results travel back on the reports, and verdicts, reports and
the exit status are computed once, on the controller.
"""

from __future__ import annotations

import fnmatch
import os
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from evalgate.checkout import checkout_identity
from evalgate.errors import EvalgateError
from evalgate.project import Project, discover_project
from evalgate.report.cost import Prices
from evalgate.report.terminal import table_lines
from evalgate.results import CaseResult, result_from_data, result_to_data
from evalgate.run.baselines import baselines_for
from evalgate.run.board import Decisions
from evalgate.run.budget import Budget, Cap, budget_problems, run_cap, share
from evalgate.run.engine import Engine
from evalgate.run.group import GroupWatch, run_group
from evalgate.run.items import CaseNotes, EvalCase, SuiteFile, case_properties, error_text
from evalgate.run.judging import judge_checks
from evalgate.run.junit_gates import add_gates
from evalgate.run.lookahead import LookAhead
from evalgate.run.memory import freeze_collected, freeze_the_run, skip_the_final_sweep
from evalgate.run.planned import safe_nodeid
from evalgate.run.process import RunProcess, ship
from evalgate.run.progress import Progress
from evalgate.run.runner import CaseRunner
from evalgate.run.session import EvalSession
from evalgate.run.sharding import parse_shard
from evalgate.run.workers import auto_workers
from evalgate.store.location import open_store
from evalgate.store.sqlite import ResultStore
from evalgate.untrusted import log_line, one_line
from evalgate.verdict.gate import SuiteVerdict, Verdict, exit_status
from evalgate.verdict.monitor import SuiteMonitor

if TYPE_CHECKING:  # the change analyzer (and GitPython) load only when a run plans
    from evalgate.changes.plan import Plan

NOTES_ATTR = "evalgate_notes"
"""Attribute of a case item's call report holding its notes (see ``EvalCase.notes``)."""
REPORT_ATTR = "evalgate"
"""Attribute of a case item's report holding its CaseResult (as JSON-able data); it
travels with the report from xdist workers to the controller."""


PROJECT = pytest.StashKey["Project"]()
"""The project, when ``-n auto`` loaded it already (so it is loaded once)."""
WORKERS_NOTE = pytest.StashKey[str]()
"""Why ``-n auto`` chose the worker count it did, for the report header."""


def _load_project(config: pytest.Config) -> Project:
    if PROJECT not in config.stash:
        explicit = config.getoption("eval_config")
        config.stash[PROJECT] = discover_project(
            config.invocation_params.dir, Path(explicit).resolve() if explicit else None, fallback=config.rootpath,
            worker=RunProcess.of(config).worker,
        )
    return config.stash[PROJECT]


def auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto``'s worker count for this project (None: pytest-xdist decides)."""
    try:
        project = _load_project(config)
    except EvalgateError:
        return None  # the run reports it, once, when it starts
    count, why = auto_workers(project.suites)
    if count is not None:
        config.stash[WORKERS_NOTE] = why
    return count


def start_run(config: pytest.Config, tier: str) -> None:
    """Load the project, plan the run, open the store and register the run's hooks."""
    plan: Plan | None = None
    process = RunProcess.of(config)
    # Discovery (an IDE, --collect-only) lists the items and nothing else: no readiness or
    # judge checks, no store, no run recorded, no reports.
    discovery = bool(config.option.collectonly)
    try:
        project = _load_project(config)
        shard_text = config.getoption("eval_shard")
        shard = parse_shard(shard_text) if shard_text else None
        shipped = process.plan
        if shipped is not None:  # an xdist worker: the controller planned already
            shipped_shard = tuple(shipped["shard"]) if shipped.get("shard") else None
            session = EvalSession(
                project, shipped["label"], shipped["assignments"], shipped["skip_reason"], shipped_shard
            )
        elif tier == "auto":
            from evalgate.changes.auto import plan_for_project
            from evalgate.run.usage_maps import load_usage_maps

            maps, why = load_usage_maps(project)
            plan = plan_for_project(project, base=config.getoption("eval_base"), maps=maps, maps_note=why)
            session = EvalSession.for_plan(project, plan, shard)
        else:
            session = EvalSession.for_tier(project, tier, shard)
        session.undecided = config.getoption("eval_undecided")
        if not process.is_worker and not discovery:
            problems = project.readiness_problems([planned.suite for planned in session.planned.values()])
            if problems:
                raise EvalgateError("; ".join(problems))
    except EvalgateError as err:
        raise pytest.UsageError(one_line(str(err))) from None
    unreached = _add_suite_paths(config, [planned.suite.path for planned in session.planned.values()])
    if unreached is not None and not process.is_worker:
        session.notes = [*session.notes, unreached]
    run_id = process.run_id or uuid.uuid4().hex
    store = None
    group = None
    if not config.getoption("eval_no_cache") and not discovery:
        try:
            store = open_store(project, spool=True, send=not process.is_worker)
        except EvalgateError as err:
            raise pytest.UsageError(one_line(str(err))) from None
        if not process.is_worker:
            group = run_group(config.getoption("eval_run_group"), os.environ, session)
            store.history.start_run(run_id, session.label, *checkout_identity(project.root), group=group)
    runner = CaseRunner(project, store, run_id, refresh=bool(config.getoption("eval_refresh")), part=process.part)
    if not process.is_worker and not discovery:
        try:
            session.baselines = baselines_for(project, config.getoption("eval_baseline"), run_id, plan.base if plan else None)
            checks = judge_checks(project, [planned.suite.name for planned in session.planned.values()])
            session.judge_failures, session.judge_calibrations = checks.failures, checks.calibrations
            session.notes = [*session.notes, *checks.notes]
        except EvalgateError as err:
            raise pytest.UsageError(one_line(str(err))) from None
    budget = _budget(config, project, session, process)
    evalrun = EvalRun(config, process, session, plan, runner, budget)
    if group is not None and store is not None:
        evalrun.group_watch = GroupWatch(store, group, run_id, session)
    config.pluginmanager.register(evalrun, "evalgate-run")
    skip_the_final_sweep()


class EvalRun:
    """The hooks of a run with a tier; registered only then."""

    def __init__(self, config: pytest.Config, process: RunProcess, session: EvalSession, plan: Plan | None,
                 runner: CaseRunner, budget: Budget | None = None) -> None:
        self.config = config
        self.budget = budget or Budget(Cap(), {}, {})
        """The spend caps of this process and what it spent (:mod:`evalgate.run.budget`)."""
        self.session = session
        self.plan = plan
        self.runner = runner
        # Calls dispatched ahead are what a settled suite may still spend: twice the endpoint's
        # concurrency keeps it busy without spending more (the pool's spare threads only wait
        # out backoffs; they do not widen the window).
        concurrency = [p.suite.adapter.concurrency for p in session.planned.values()]
        self.engine = Engine(runner, window=2 * max(concurrency or [1]))
        self.lookahead = LookAhead(config, process.is_worker)
        self.local_results: dict[str, CaseResult] = {}
        board = process.board
        if board is not None:
            self.decisions = Decisions(Path(board))
        elif config.getoption("numprocesses", None):
            self.decisions = Decisions.shared()
        else:
            self.decisions = Decisions()
        self.progress = Progress(total=0, interval=float(config.getini("eval_progress_seconds")))
        self.cache_hits = 0
        self.model_calls = 0
        self.cache_problems: list[str] = list(runner.store.problems) if runner.store else []
        self.is_worker = process.is_worker
        self.group_watch: GroupWatch | None = None
        """Set for a shard of a run group with a store: reads the other shards' results."""
        self.other_failures = 0
        """Failed items that are not eval cases: they fail the build as usual."""
        self.case_errors = 0
        """Errored cases so far: reported skipped, but ``-x`` / ``--maxfail`` count them."""
        self.pytest_session: pytest.Session | None = None
        self.verdicts: list[SuiteVerdict] | None = None
        self.reports: list[Path] = []
        self.reported_reasons: dict[str, int] = {}
        self.not_reused: dict[str, int] = {}
        """Why cached results were not reused, gathered from every process."""
        self.dependency_notes: list[str] = []
        """What the recorded dependencies cannot see, per suite (undeclared environment
        variables, code imported before evalgate could watch)."""
        self.report_error: str | None = None
        self.xdist_scheduled = False
        self.junit_properties = bool(getattr(config.option, "xmlpath", None)) and _junit_family(config) in ("legacy", "xunit1")
        """Per-case properties go on reports only when pytest writes a JUnit whose schema has a
        place for them: ``junit_family = xunit1`` (or ``legacy``). pytest's default, xunit2,
        follows the Jenkins xunit schema, which allows no ``<properties>`` in a test case —
        pytest's own rule for ``record_property``."""

    def pytest_report_header(self) -> list[str]:
        lines = [f"evalgate: {self.config.stash[WORKERS_NOTE]}"] if WORKERS_NOTE in self.config.stash else []
        lines += [f"evalgate: {one_line(note)}" for note in self.session.notes]
        if self.plan is None:
            return lines
        plan = self.plan
        base, head = (sha[:12] if sha else "none" for sha in (plan.base, plan.head))
        lines += [f"evalgate plan: change={plan.change} tier={plan.tier or 'none'} base={base} head={head}"]
        lines += [f"  {one_line(reason)}" for reason in plan.reasons]
        return lines

    def _post_decision(self, suite: str, monitor: SuiteMonitor, where: str = "") -> None:
        spec = monitor.spec
        if monitor.decision == "ERROR":
            reason = f"verdict settled{where}: {suite} ERROR: {monitor.error_reason()}"
        else:
            reason = (
                f"verdict settled{where}: {suite} {monitor.decision} after {monitor.decided_at} of {spec.population} cases "
                f"(anytime-valid test, α = {spec.gate.alpha:g})"
            )
        self.decisions.post(suite, one_line(reason))
        self.engine.cancel_suite(suite)

    def _poll_group(self) -> None:
        """Shards of one run group: settle suites on the whole group's prefix (:mod:`evalgate.run.group`)."""
        if self.group_watch is None:
            return
        for suite, monitor in self.group_watch.poll():
            self._post_decision(suite, monitor, " across shards")

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        folder = self.decisions.folder
        ship(node, self.session.describe(), self.runner.run_id, str(folder) if folder is not None else None)

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> SuiteFile | None:
        if file_path.suffix != ".toml":
            return None
        planned = self.session.planned_suite(file_path)
        if planned is None:
            return None
        return SuiteFile.from_parent(parent, path=file_path, planned=planned, execute=self.execute,
                                     nodeid=safe_nodeid(file_path, self.config.rootpath))

    def execute(self, item: EvalCase) -> CaseResult:
        """Run one eval item through the engine, starting calls for the items after it;
        skip it when its suite's verdict is already settled."""
        self._poll_group()
        reason = self.decisions.reason(item.suite_name)
        if reason is not None:
            self.engine.cancel_suite(item.suite_name)
            pytest.skip(reason)
        store = self.runner.store
        known_problems = len(store.problems) if store else 0
        spent = self.budget.reached(item.suite_name) if self.budget.active else None
        if spent is not None and not self.engine.knows(item.job.nodeid):  # a call already made is paid for: used
            self.engine.cancel_suite(item.suite_name)
            item.notes.budget_stop = spent
            pytest.skip(f"budget reached: {spent}")
        upcoming = [
            i.job for i in self.lookahead.after(item, self.engine.window)
            if isinstance(i, EvalCase) and not self.engine.knows(i.job.nodeid)
            and not (self.budget.active and self.budget.reached(i.suite_name))
        ]
        result = self.engine.result(item.job, upcoming)
        if self.budget.active:
            self.budget.add(result)
        if store is not None:
            item.notes.cache_warnings.extend(store.problems[known_problems:])
        for reason, count in self.runner.not_reused.items():  # why cached results did not count
            if self.reported_reasons.get(reason) != count:
                self.reported_reasons[reason] = count
                item.notes.not_reused[reason] = count
        return result

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.pytest_session = session
        self.lookahead.index(session.items)
        for item in session.items:
            if isinstance(item, EvalCase):
                self.session.schedule(item.suite_name, item.case)
                self.progress.total += 1
        self.session.scheduling_done()
        freeze_collected()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if self.xdist_scheduled:
            return
        self.xdist_scheduled = True  # every worker collects the same ids
        for nodeid in ids:
            self.progress.total += self.session.schedule_nodeid(nodeid, self.config.rootpath)
        self.session.scheduling_done()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if not isinstance(item, EvalCase):
            return report
        # A case item's keywords (its names, tags, concerns) serve -k at collection; its
        # reports need none, and a 100k-case run keeps 300k reports.
        report.keywords = _NO_KEYWORDS
        if call.when == "call" and item.notes:
            setattr(report, NOTES_ATTR, item.notes.to_data())
        if call.when == "call" and item.result is not None:
            if self.is_worker:  # the result travels to the controller on the report
                setattr(report, REPORT_ATTR, result_to_data(item.result))
            else:
                self.local_results[item.nodeid] = item.result
        elif call.when == "teardown" and item.result is not None and self.junit_properties:
            report.user_properties.extend(case_properties(item.result))  # junitxml reads teardown's
        return report

    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, Any] | None:
        if report.when != "call":
            return None
        result = self.local_results.get(report.nodeid)
        if result is not None:
            return _status(result.errored, result.passed)
        data = getattr(report, REPORT_ATTR, None)
        return None if data is None else _status(data["error"] is not None, data["passed"])

    @pytest.hookimpl(trylast=True)  # after the terminal reporter and junitxml have read the report
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        notes = report.__dict__.pop(NOTES_ATTR, None)
        if notes is not None:
            self._take_notes(CaseNotes.from_data(notes))
        case_result = self.local_results.pop(report.nodeid, None) if report.when == "call" else None
        data = report.__dict__.pop(REPORT_ATTR, None)  # consumed: the report is kept until the end
        if case_result is None and data is not None:
            case_result = result_from_data(data)
        if case_result is not None:
            if case_result.errored:
                self._count_towards_maxfail()
            self.session.note_time(case_result.suite, report.start, report.stop)
            settled = self.session.record(case_result)
            if settled is not None:
                self._post_decision(case_result.suite, settled)
            self._poll_group()
            self.progress.update(case_result)
            if self.progress.due():
                reporter = self.config.pluginmanager.get_plugin("terminalreporter")
                in_flight = None if self.config.getoption("numprocesses", None) else self.engine.in_flight
                if reporter is not None:
                    reporter.write_line(self.progress.line(in_flight))
            if case_result.cached:
                self.cache_hits += 1
            else:
                self.model_calls += 1
        elif report.failed:
            self.other_failures += 1

    def _count_towards_maxfail(self) -> None:
        """``-x`` / ``--maxfail``: an errored case is a skip, not a failure, but whoever asked to
        stop at the first problem means it too (pytest-xdist counts only its own failures)."""
        self.case_errors += 1
        maxfail = int(self.config.getoption("maxfail") or 0)
        session = self.pytest_session
        if maxfail and session is not None and session.testsfailed + self.case_errors >= maxfail:
            session.shouldfail = f"stopping after {self.case_errors} case error(s) and {session.testsfailed} failure(s)"

    def _take_notes(self, notes: CaseNotes) -> None:
        if notes.budget_stop is not None:
            self.session.budget_stops.setdefault(notes.suite, notes.budget_stop)
        self.cache_problems += [problem for problem in notes.cache_warnings if problem not in self.cache_problems]
        for reason, count in notes.not_reused.items():
            self.not_reused[reason] = max(self.not_reused.get(reason, 0), count)

    @pytest.hookimpl(tryfirst=True)  # before pytest's JUnit writer writes: the gates join its file
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.engine.shutdown()  # -x, Ctrl-C or the end: queued calls are dropped
        self.runner.flush()
        store = self.runner.store
        if store is not None:
            store.maps.save_suite_maps(self.runner.run_id, self.runner.part, self.runner.suite_maps())
        if self.is_worker:
            if store is not None:
                store.close()
            return
        self.decisions.remove()
        if self.config.option.collectonly:  # discovery (IDEs, --co): no verdicts, no reports
            if store is not None:
                store.close()
            return
        self.verdicts = self.session.verdicts()
        shard = self.session.shard_text
        add_gates(self.config, self.verdicts, self._suite_nodeids(), shard, self.junit_properties)
        if store is not None:
            suites = [
                (v.suite, v.cases_run >= v.cases_total and not v.selected, v.selected, str(v.verdict))
                for v in self.verdicts
                if v.verdict != Verdict.SKIPPED
            ]
            store.history.record_suites(self.runner.run_id, suites)
            store.history.finish_run(self.runner.run_id, self.cache_hits, self.model_calls)
            self.dependency_notes = _dependency_notes(self.runner, store, {v.suite for v in self.verdicts})
            self.cache_problems += [p for p in store.problems if p not in self.cache_problems]
            store.close()
        report_dir = self.config.getoption("eval_report") or self.config.getini("eval_report")
        if report_dir:
            directory = self.config.invocation_params.dir / report_dir
            try:
                from evalgate.document import PlanReport  # the writers load only when reports are written
                from evalgate.report.cost import Prices
                from evalgate.report.writer import RunReport, write_reports

                prices = {suite.name: Prices(suite.model.price, suite.judge_price) for suite in self.session.project.suites}

                plan = None
                if self.plan is not None:
                    plan = PlanReport(change=str(self.plan.change), tier=self.plan.tier, base=self.plan.base,
                                      head=self.plan.head, reasons=list(self.plan.reasons))
                self.reports = write_reports(directory, RunReport(
                    self.verdicts, self.session.results, self.session.label, self.session.metadata(), shard,
                    prices, plan, self.session.case_texts(),
                ))
            except OSError as err:  # the verdicts still print; the step must not pass without its reports
                self.report_error = f"cannot write the reports to {directory}: {err.strerror or err}; fix --eval-report"
        status = int(session.exitstatus)
        if status == pytest.ExitCode.NO_TESTS_COLLECTED and self.plan and self.plan.change == "none":
            status = pytest.ExitCode.OK  # nothing to evaluate is a success, not an empty run
        # A shard's verdicts are partial: the merged report gates; a shard fails only on errors.
        gated = [] if self.session.shard else self.verdicts
        session.exitstatus = exit_status(status, gated, self.other_failures)
        if self.report_error is not None:
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
        freeze_the_run()

    def _suite_nodeids(self) -> dict[str, tuple[str, Path]]:
        """Each suite's file as pytest names it (node id, path from the rootdir)."""
        root = self.config.rootpath
        found = {}
        for suite in self.session.project.suites:
            try:
                relative = suite.path.relative_to(root)
            except ValueError:
                relative = suite.path
            found[suite.name] = (safe_nodeid(suite.path, root), relative)
        return found

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.verdicts is None:
            return
        shard = self.session.shard_text
        title = f"evalgate verdicts (tier: {self.session.label})"
        if shard:
            title = f"evalgate shard {shard}: partial verdicts, not gated (merge with 'evalgate report merge')"
        terminalreporter.write_sep("=", title)
        lines = table_lines(self.verdicts, shard)
        terminalreporter.write_line(lines[0], bold=True)
        for verdict, line in zip(self.verdicts, lines[1:], strict=False):
            terminalreporter.write_line(line, **{_COLOURS.get(verdict.verdict, "red"): True})
        for line in lines[1 + len(self.verdicts) :]:
            terminalreporter.write_line(line)
        errored = [result for result in self.session.results if result.error is not None]
        if errored:  # reported skipped (their gates count them): name the first ones here
            terminalreporter.write_line(f"evalgate: {len(errored)} case error(s), counted by their gates; the first:", red=True)
            for result in errored[:CASE_ERRORS_SHOWN]:
                assert result.error is not None
                where = f"{result.suite}::{result.case_id}" + (f"[{result.variant}]" if result.variant else "")
                terminalreporter.write_line(f"  {one_line(where)}: {error_text(result.error)[:300]}")
                if result.error.traceback and (self.config.get_verbosity() > 0 or self.config.option.tbstyle == "long"):
                    for line in result.error.traceback.splitlines():  # the user's own frames, escaped for CI logs
                        terminalreporter.write_line(f"    {log_line(line)}")
        store = self.runner.store
        if store is not None:
            terminalreporter.write_line(
                f"evalgate cache: {self.cache_hits} hit(s), {self.model_calls} model call(s) ({store.location})"
            )
            for notice in store.notices:
                terminalreporter.write_line(f"evalgate cache: {one_line(notice)}")
        if self.budget.active:
            total = Budget(Cap(), {}, self.budget.prices)  # every process's calls: the controller has all results
            for result in self.session.results:
                total.add(result)
            caps = ", ".join(part for part in (
                f"max_cost {self.budget.run.max_cost:g}" if self.budget.run.max_cost is not None else "",
                f"max_tokens {self.budget.run.max_tokens:,}" if self.budget.run.max_tokens is not None else "") if part)
            terminalreporter.write_line(f"evalgate budget: {total.spent.calls} call(s) spent {total.spent.money:.4g} "
                                        f"and {total.spent.tokens:,} token(s)" + (f" (run caps: {caps})" if caps else ""))
            for suite, why in self.session.budget_stops.items():
                terminalreporter.write_line(f"evalgate budget: {suite}: {one_line(why)}", yellow=True)
        for reason, count in sorted(self.not_reused.items(), key=lambda item: -item[1])[:5]:
            terminalreporter.write_line(f"evalgate cache: {count} cached result(s) not reused: {one_line(reason)}")
        for problem in self.cache_problems:
            terminalreporter.write_line(f"evalgate cache warning: {one_line(problem)}", yellow=True)
        for note in self.dependency_notes:
            terminalreporter.write_line(f"evalgate dependencies: {one_line(note)}", yellow=True)
        for path in self.reports:
            terminalreporter.write_line(f"evalgate report: {path}")
        if self.report_error is not None:
            terminalreporter.write_line(f"evalgate: error: {one_line(self.report_error)}", red=True, bold=True)


_COLOURS = {Verdict.PASS: "green", Verdict.SKIPPED: "yellow"}
CASE_ERRORS_SHOWN = 5
"""Errored cases named after the verdict table (all of them are in results.json and report.html)."""


def _budget(config: pytest.Config, project: Project, session: EvalSession, process: RunProcess) -> Budget:
    """This process's spend caps (its share under xdist); a cap that cannot be counted stops
    the run before any call, with the reason."""
    run = run_cap(project.config.max_cost, project.config.max_tokens,
                  config.getoption("eval_max_cost"), config.getoption("eval_max_tokens"))
    suites = [planned.suite for planned in session.planned.values()]
    caps = {suite.name: Cap(suite.config.max_cost, suite.config.max_tokens) for suite in suites}
    if not process.is_worker and not config.option.collectonly:
        problems = budget_problems(suites, run)
        if problems:
            raise pytest.UsageError(one_line("; ".join(problems)))
    run, caps = share(run, caps, process.worker)
    return Budget(run, caps, {suite.name: Prices(suite.model.price, suite.judge_price) for suite in suites})


def _dependency_notes(runner: CaseRunner, store: ResultStore, suites: set[str]) -> list[str]:
    """What the user should know the cache cannot see for the suites of this run: environment
    variables their code read that their model's ``env`` does not declare (all processes of the
    run, from the maps they stored), and code imported before evalgate could watch it."""
    notes = []
    latest = store.maps.latest_suite_maps()
    for suite in runner.project.suites:
        if suite.name not in suites:
            continue
        recorded = latest.get(suite.name)
        if recorded is not None and recorded[2] == runner.run_id:
            names = [n for n in recorded[0].env_read if not any(fnmatch.fnmatchcase(n, p) for p in suite.model.env)]
            if names:
                shown = ", ".join(names[:8]) + (" …" if len(names) > 8 else "")
                notes.append(f"{suite.name}: its code read environment variables its model does not declare: {shown}; "
                             f"a change to them is not seen by the cache — list those that matter in the model's env = [...]")
    for name, modules in runner.preloaded_code(suites).items():
        notes.append(f"{name}: {', '.join(modules)} was imported before evalgate could watch its import (by a conftest "
                     "or a test module?): files it read while being imported are not recorded — declare them as components")
    return notes


def _add_suite_paths(config: pytest.Config, suite_paths: list[Path]) -> str | None:
    """Paths given on the command line choose what runs, as for any pytest test:
    ``pytest tests/test_unit.py --eval-tier=smoke`` collects no eval case (a note says so).
    Without paths, the tier's suite files are collected even when ``testpaths`` point
    elsewhere (``testpaths = ["tests"]`` with suites in evals/)."""
    base = config.invocation_params.dir
    given = [(base / arg.split("::")[0]).resolve() for arg in config.args]
    outside = [path for path in suite_paths if not any(path == arg or arg in path.parents for arg in given)]
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        if outside and len(outside) == len(suite_paths):
            return ("the paths given hold none of the tier's suites, so no eval case runs; give no path, or the "
                    "suites' folder, to run them")
        return None
    config.args.extend(str(path) for path in outside)
    return None


_NO_KEYWORDS: dict[str, Any] = {}
"""Shared by every case report (nothing writes to a report's keywords after it is made)."""


def _status(errored: bool, passed: bool | None) -> tuple[str, str, Any] | None:
    """pytest's status of a case item: an errored or failed case has a status of its own."""
    if errored:  # reported skipped (its gate counts it), shown as what it is
        return "case error", "e", ("CASE ERROR", {"red": True})
    if not passed:
        return "case failed", "f", ("CASE FAILED", {"yellow": True})
    return None


def _junit_family(config: pytest.Config) -> str:
    try:
        return str(config.getini("junit_family"))
    except ValueError:  # the junitxml plugin is disabled
        return "xunit2"
