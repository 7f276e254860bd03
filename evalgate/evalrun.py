"""One eval run inside pytest: the hooks registered when a tier is requested.

:func:`start_run` loads the project, plans which cases run (a tier, or the change plan
for ``auto``), opens the result store and registers :class:`EvalRun`, whose hooks feed
collected items and results to the session (:mod:`evalgate.run.session`) and write the
verdicts and reports at the end. Under xdist every worker collects the same items (the
sample is seeded); case results travel back on the reports, and verdicts, reports and
the exit status are computed once, on the controller.
"""

from __future__ import annotations

import atexit
import fnmatch
import functools
import gc
import os
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from evalgate.checkout import checkout_identity
from evalgate.errors import EvalgateError
from evalgate.items import EvalCase, SuiteFile, case_properties
from evalgate.models.sharing import current_worker
from evalgate.project import Project, discover_project
from evalgate.report.terminal import table_lines
from evalgate.results import CaseResult, result_from_data, result_to_data
from evalgate.run.baselines import baselines_for
from evalgate.run.board import Decisions
from evalgate.run.engine import Engine
from evalgate.run.group import GroupWatch, run_group
from evalgate.run.judging import judge_checks
from evalgate.run.lookahead import LookAhead
from evalgate.run.planned import safe_nodeid
from evalgate.run.progress import Progress
from evalgate.run.runner import CaseRunner
from evalgate.run.session import EvalSession
from evalgate.run.sharding import parse_shard
from evalgate.run.workers import auto_workers
from evalgate.store.location import open_store
from evalgate.store.sqlite import ResultStore
from evalgate.untrusted import one_line
from evalgate.verdict.gate import SuiteVerdict, Verdict, exit_status
from evalgate.verdict.monitor import SuiteMonitor

if TYPE_CHECKING:  # the change analyzer (and GitPython) load only when a run plans
    from evalgate.changes.plan import Plan

WORKER_RUN_ID = "evalgate_run_id"
"""Key of the run id the controller hands its workers: one run in the results store."""
WORKER_BOARD = "evalgate_board"
"""Key of the folder where the controller posts settled suites for xdist workers."""
WORKER_PLAN = "evalgate_plan"
"""Key of the plan the xdist controller hands its workers in ``workerinput``."""
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
            worker=current_worker(getattr(config, "workerinput", None)),
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
    try:
        project = _load_project(config)
        shard_text = config.getoption("eval_shard")
        shard = parse_shard(shard_text) if shard_text else None
        shipped = getattr(config, "workerinput", {}).get(WORKER_PLAN)
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
        if not hasattr(config, "workerinput"):
            problems = project.readiness_problems([planned.suite for planned in session.planned.values()])
            if problems:
                raise EvalgateError("; ".join(problems))
    except EvalgateError as err:
        raise pytest.UsageError(one_line(str(err))) from None
    _add_suite_paths(config, [planned.suite.path for planned in session.planned.values()])
    run_id = getattr(config, "workerinput", {}).get(WORKER_RUN_ID) or uuid.uuid4().hex
    store = None
    group = None
    if not config.getoption("eval_no_cache"):
        try:
            store = open_store(project, spool=True, send=not hasattr(config, "workerinput"))
        except EvalgateError as err:
            raise pytest.UsageError(one_line(str(err))) from None
        if not hasattr(config, "workerinput"):
            group = run_group(config.getoption("eval_run_group"), os.environ, session)
            store.history.start_run(run_id, session.label, *checkout_identity(project.root), group=group)
    part = str(getattr(config, "workerinput", {}).get("workerid", ""))
    runner = CaseRunner(project, store, run_id, refresh=bool(config.getoption("eval_refresh")), part=part)
    if not hasattr(config, "workerinput"):
        try:
            session.baselines = baselines_for(project, config.getoption("eval_baseline"), run_id, plan.base if plan else None)
            failures, notes = judge_checks(project, [planned.suite.name for planned in session.planned.values()])
            session.judge_failures, session.notes = failures, [*session.notes, *notes]
        except EvalgateError as err:
            raise pytest.UsageError(one_line(str(err))) from None
    evalrun = EvalRun(config, session, plan, runner)
    if group is not None and store is not None:
        evalrun.group_watch = GroupWatch(store, group, run_id, session)
    config.pluginmanager.register(evalrun, "evalgate-run")
    _skip_the_final_sweep()


def _freeze_the_run() -> None:
    """Collect the run's garbage now — finalizers' unraisable exceptions reach pytest's hook as
    ever — then freeze what is still alive (reports, items, results: ~100k objects for 1,000
    cases), so pytest's five end-of-run collections (``unraisableexception``) walk only what the
    end of the run creates: a tenth of a 2-second run. The config cleanup the plugin registers
    before pytest's own, so run after them, unfreezes it all: an in-process run (pytester)
    leaks nothing."""
    gc.collect()
    gc.collect()
    gc.freeze()


@functools.cache  # once per process, however many runs it holds
def _skip_the_final_sweep() -> None:
    """At exit, spare the interpreter its last garbage collection over everything the run
    kept (pytest's reports, items, results: ~100k objects for 1,000 cases, 0.1 s — a tenth
    of a cached run). ``gc.freeze`` moves them out of the collector's reach; the process
    frees its memory as it ends all the same. Registered at start, so it runs after every
    handler registered later (LIFO) and after pytest's own end-of-run collections, which
    report unraisable exceptions as before."""
    atexit.register(gc.freeze)


class EvalRun:
    """The hooks of a run with a tier; registered only then."""

    def __init__(self, config: pytest.Config, session: EvalSession, plan: Plan | None, runner: CaseRunner) -> None:
        self.config = config
        self.session = session
        self.plan = plan
        self.runner = runner
        # Calls dispatched ahead are what a settled suite may still spend: twice the endpoint's
        # concurrency keeps it busy without spending more (the pool's spare threads only wait
        # out backoffs; they do not widen the window).
        concurrency = [p.suite.adapter.concurrency for p in session.planned.values()]
        self.engine = Engine(runner, window=2 * max(concurrency or [1]))
        self.lookahead = LookAhead(config)
        self.local_results: dict[str, CaseResult] = {}
        board = getattr(config, "workerinput", {}).get(WORKER_BOARD)
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
        self.is_worker = hasattr(config, "workerinput")
        self.group_watch: GroupWatch | None = None
        """Set for a shard of a run group with a store: reads the other shards' results."""
        self.other_failures = 0
        """Failed items that are not eval cases: they fail the build as usual."""
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
        node.workerinput[WORKER_PLAN] = self.session.describe()
        node.workerinput[WORKER_RUN_ID] = self.runner.run_id
        if self.decisions.folder is not None:
            node.workerinput[WORKER_BOARD] = str(self.decisions.folder)

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
        upcoming = [
            i.job for i in self.lookahead.after(item, self.engine.window) if isinstance(i, EvalCase) and not self.engine.knows(i.job.nodeid)
        ]
        result = self.engine.result(item.job, upcoming)
        if store is not None:
            item.notes.extend(("cache_warning", p) for p in store.problems[known_problems:])
        for reason, count in self.runner.not_reused.items():  # why cached results did not count
            if self.reported_reasons.get(reason) != count:
                self.reported_reasons[reason] = count
                item.notes.append(("cache_not_reused", f"{reason}|{count}"))
        return result

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.lookahead.index(session.items)
        for item in session.items:
            if isinstance(item, EvalCase):
                self.session.schedule(item.suite_name, item.case)
                self.progress.total += 1
        self.session.scheduling_done()
        gc.freeze()  # the collected items join start-up's objects, out of the collector's reach (plugin.py)

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
            setattr(report, NOTES_ATTR, item.notes)
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
        for name, value in report.__dict__.pop(NOTES_ATTR, ()):
            if name == "cache_warning" and value not in self.cache_problems:
                self.cache_problems.append(str(value))
            elif name == "cache_not_reused":
                reason, _, count = str(value).rpartition("|")
                self.not_reused[reason] = max(self.not_reused.get(reason, 0), int(count))
        case_result = self.local_results.pop(report.nodeid, None) if report.when == "call" else None
        data = report.__dict__.pop(REPORT_ATTR, None)  # consumed: the report is kept until the end
        if case_result is None and data is not None:
            case_result = result_from_data(data)
        if case_result is not None:
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
        self.verdicts = self.session.verdicts()
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
            shard = f"{self.session.shard[0]}/{self.session.shard[1]}" if self.session.shard else None
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
        _freeze_the_run()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.verdicts is None:
            return
        title = f"evalgate verdicts (tier: {self.session.label})"
        if self.session.shard:
            title = f"evalgate shard {self.session.shard[0]}/{self.session.shard[1]}: partial verdicts, not gated (merge with 'evalgate report merge')"
        terminalreporter.write_sep("=", title)
        lines = table_lines(self.verdicts)
        terminalreporter.write_line(lines[0], bold=True)
        for verdict, line in zip(self.verdicts, lines[1:], strict=False):
            terminalreporter.write_line(line, **{_COLOURS.get(verdict.verdict, "red"): True})
        for line in lines[1 + len(self.verdicts) :]:
            terminalreporter.write_line(line)
        store = self.runner.store
        if store is not None:
            terminalreporter.write_line(
                f"evalgate cache: {self.cache_hits} hit(s), {self.model_calls} model call(s) ({store.location})"
            )
            for notice in store.notices:
                terminalreporter.write_line(f"evalgate cache: {one_line(notice)}")
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


def _add_suite_paths(config: pytest.Config, suite_paths: list[Path]) -> None:
    """Make sure the tier's suite files are collected even when the command line or
    ``testpaths`` point elsewhere (e.g. ``testpaths = ["tests"]`` with suites in evals/)."""
    base = config.invocation_params.dir
    given = [(base / arg.split("::")[0]).resolve() for arg in config.args]
    for path in suite_paths:
        if not any(path == arg or arg in path.parents for arg in given):
            config.args.append(str(path))


_NO_KEYWORDS: dict[str, Any] = {}
"""Shared by every case report (nothing writes to a report's keywords after it is made)."""


def _status(errored: bool, passed: bool | None) -> tuple[str, str, Any] | None:
    """pytest's status of a case item: an error fails it, a failed case has its own status."""
    if errored:
        return "failed", "F", ("CASE ERROR", {"red": True})
    if not passed:
        return "case failed", "f", ("CASE FAILED", {"yellow": True})
    return None


def _junit_family(config: pytest.Config) -> str:
    try:
        return str(config.getini("junit_family"))
    except ValueError:  # the junitxml plugin is disabled
        return "xunit2"
