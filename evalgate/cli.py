"""The ``evalgate`` command: argument parsing and exit codes; the work is elsewhere.

Exit codes: 0 all gates pass; 1 a gate blocks the merge (or a test failed); 2 the
configuration is invalid; other codes are pytest's own (see README, "Exit codes").
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalgate.about import DISTRIBUTION, installed_version
from evalgate.config import find_project_file
from evalgate.errors import EvalgateError
from evalgate.project import Project, discover_project
from evalgate.report import REPORT_FILES
from evalgate.run.sampling import cases_for_tier
from evalgate.untrusted import markdown_text, one_line

if TYPE_CHECKING:
    from evalgate.document import ResultsDocument
    from evalgate.project import Suite
    from evalgate.verdict.judged import JudgeCalibration

EXIT_CONFIG_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every command has help and an example."""
    parser = argparse.ArgumentParser(
        prog="evalgate",
        description="Change-aware evaluation gates for LLM / ML systems, run as pytest tests.",
        epilog="Run 'evalgate COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"evalgate {installed_version()} ({DISTRIBUTION})")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run a project's eval suites at a tier and gate on the verdicts",
        description="Run the eval suites of PROJECT at a tier through pytest, print the "
        "verdict table, and exit 1 if any gate blocks the merge.",
        epilog="example: evalgate run examples/gsm8k --tier full --report reports/\n"
        "         evalgate run . --tier smoke -- -n auto -k safety\n\n"
        "Arguments after '--' are passed to pytest.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _project_arguments(run, positional=True)
    run.add_argument("--tier", default="smoke", help="tier to run (default: smoke)")
    run.add_argument("--config", help="config file (default: evalgate.toml or pyproject.toml in PROJECT)")
    run.add_argument("--report", metavar="DIR", help=f"write the reports ({', '.join(REPORT_FILES)}) here")

    check = commands.add_parser(
        "check",
        help="validate a project's config, tiers, suites and datasets without running models",
        description="Load everything a run would load and report the first problem as one "
        "line naming the file and the fix; on success list the suites and tiers.",
        epilog="example: evalgate check examples/gsm8k",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _project_arguments(check, positional=True)
    check.add_argument("--config", help="config file (default: evalgate.toml or pyproject.toml in PROJECT)")
    plan = commands.add_parser(
        "plan",
        help="classify the git change and say which tier each suite needs, and why",
        description="Analyse the change (merge base of the base revision and HEAD, plus "
        "uncommitted files outside CI), apply the rules and overrides, and print the plan.",
        epilog="example: evalgate plan --base origin/main --format json\n"
        "         evalgate plan --format github   # appends tier= and change= to $GITHUB_OUTPUT\n"
        "         evalgate plan --format gitlab > plan.env   # a GitLab dotenv report",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _project_arguments(plan, positional=True)
    plan.add_argument("--config", help="config file (default: evalgate.toml or pyproject.toml in PROJECT)")
    plan.add_argument("--base", metavar="REV", help="base revision (default: the GitHub event's base, else the default branch)")
    plan.add_argument(
        "--format", choices=("text", "json", "github", "gitlab"), default="text",
        help="output format (default: text); gitlab prints EVALGATE_PLANNED_TIER= and EVALGATE_PLANNED_CHANGE= lines for a "
        "dotenv report (the plan's reasons go to stderr)",
    )
    plan.add_argument(
        "--committed-only",
        action="store_true",
        help="ignore staged, unstaged and untracked files (the default outside CI includes them)",
    )
    deps = commands.add_parser(
        "deps",
        help="show what each suite was recorded using: project files and library versions",
        description="Each suite's dependency map as its last run recorded it (the files its model and "
        "scorer imported or opened, with their digests, and the libraries they imported), and whether "
        "it still holds. Plans and the cache use these maps.",
        epilog="example: evalgate deps qa\n         evalgate deps --format json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    deps.add_argument("suite", nargs="?", help="one suite (default: all)")
    _project_arguments(deps, positional=False)
    deps.add_argument("--config", help="config file (default: evalgate.toml or pyproject.toml in the project)")
    deps.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    init = commands.add_parser(
        "init",
        help="start an eval project here: config, an example suite, the default tiers",
        description="Write evalgate.toml, evals/example.toml with its dataset, a stand-in model "
        "(example_model.py) and tiers/*.toml into PROJECT, so 'pytest --eval-tier=smoke' runs at once. "
        "Never overwrites a file.",
        epilog="example: evalgate init && pytest --eval-tier=smoke",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _project_arguments(init, positional=True)

    report = commands.add_parser(
        "report",
        help="merge shard reports, or publish a report to GitHub Actions",
        description="Work with the reports --eval-report writes.",
        epilog="example: evalgate report merge shard-1 shard-2 shard-3 shard-4 --out reports\n"
        "         evalgate report github reports",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report_commands = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    merge = report_commands.add_parser(
        "merge", help="merge the reports of --eval-shard runs into one verdict set",
        description="Pool the shards' case results and decide every suite once (sequential decisions "
        f"on the merged sampling order); write the reports ({', '.join(REPORT_FILES)}); exit 1 if a gate blocks.",
        epilog="example: evalgate report merge shard-1 shard-2 --out reports",
    )
    merge.add_argument("sources", nargs="+", type=Path, help="report folders (or results.json files) of the shards")
    merge.add_argument("--out", type=Path, required=True, help="folder for the merged reports")
    merge.add_argument(
        "--baseline", type=Path, help="results.json to compare suites whose gate has a baseline with"
    )
    github = report_commands.add_parser(
        "github", help="annotations, step summary and outputs for a GitHub Actions step",
        description="Print ::error/::warning annotations for gates that block or are undecided, append "
        "summary.md to $GITHUB_STEP_SUMMARY and write verdict= and calls-saved= to $GITHUB_OUTPUT.",
        epilog="example: evalgate report github reports",
    )
    github.add_argument("source", type=Path, help="report folder (or results.json)")
    comment = report_commands.add_parser(
        "comment", help="create or update the pull request's evalgate comment",
        description="On a pull_request event, post the verdicts, the plan, cost and flipped cases as one "
        "comment and update it in place on every push (found by a hidden marker). Needs $GITHUB_TOKEN "
        "with pull-requests: write; a refusal is noted in the step summary with GitHub's message "
        "and exits 0. Elsewhere it prints the comment.",
        epilog="example: evalgate report comment reports",
    )
    comment.add_argument("source", type=Path, help="report folder (or results.json)")

    judge_check = commands.add_parser(
        "judge-check",
        help="how far to trust a suite's judge: its verdicts against human labels",
        description="Run the suite's judge scorer on labelled outputs (JSONL: {\"id\": case id, \"output\": "
        "text, \"pass\": true|false}) and report accuracy, Cohen's kappa, Gwet's AC1, the judge's sensitivity "
        "and specificity with the bounds its corrected gate uses, and the confusion matrix; exit 1 when kappa is "
        "below --min-kappa or the judge cannot gate. With --template, write unlabelled cases to label next.",
        epilog="example: evalgate judge-check safety --labels evals/safety-labels.jsonl --min-kappa 0.6\n"
        "         evalgate judge-check safety --labels evals/safety-labels.jsonl --results reports --template next.jsonl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    judge_check.add_argument("suite", help="suite name")
    judge_check.add_argument("--labels", type=Path, required=True, help="JSONL of labelled outputs")
    judge_check.add_argument("--min-kappa", type=float, help="fail below this agreement (Cohen's kappa)")
    judge_check.add_argument("--results", type=Path, metavar="DIR",
                             help="a report folder (or results.json) of a run of the suite: the outputs to label, and "
                             "the judged rate at which to size the labels")
    judge_check.add_argument("--template", type=Path, metavar="FILE",
                             help="write the cases to label next (a seeded random sample of the unlabelled ones) as JSONL "
                             "with \"pass\": null, to fill in and append to the labels")
    judge_check.add_argument("--suggest", type=int, default=20, metavar="N", help="how many cases --template writes (default 20)")
    _project_arguments(judge_check, positional=False)
    judge_check.add_argument("--config", help="config file (default: evalgate.toml or pyproject.toml in the project)")

    cache = commands.add_parser(
        "cache",
        help="inspect and maintain the result cache",
        description="The result cache: one SQLite file (default .evalgate/cache.sqlite; "
        "[tool.evalgate] cache = ... or $EVALGATE_CACHE), or a shared PostgreSQL store "
        "([tool.evalgate.store] url or $EVALGATE_STORE_URL).",
        epilog="example: evalgate cache stats\n"
        "         evalgate cache explain gsm8k-175b-verification gsm8k-test-0001\n"
        "         evalgate cache prune --older-than 30d --max-size 1GB",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _project_arguments(cache, positional=False)
    cache.add_argument("--config", help="config file (default: evalgate.toml or pyproject.toml in the project)")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    cache_commands.add_parser(
        "path", help="print where the cache file is (the CI cache step saves it)",
        description="Print the absolute path of the project's cache file ($EVALGATE_CACHE, else [tool.evalgate] "
        "cache, default .evalgate/cache.sqlite); with a shared store, where its spool file would be kept.",
        epilog="example: evalgate cache path",
    )
    cache_commands.add_parser(
        "stats", help="entries, size on disk, and the hit rate of the last run",
        description="Entries, size on disk, and the hit rate of the last finished run.",
        epilog="example: evalgate cache stats",
    )
    explain = cache_commands.add_parser(
        "explain", help="why a case would miss: which part of its key changed",
        description="Compare a case's cache key now with its newest cached entry and name what changed.",
        epilog="example: evalgate cache explain qa capital-of-france",
    )
    explain.add_argument("suite", help="suite name")
    explain.add_argument("case", help="case id")
    prune = cache_commands.add_parser(
        "prune", help="delete old entries, or the least recently used until the file fits",
        description="Delete entries not used for a while and/or the least recently used ones until "
        "the file is small enough.",
        epilog="example: evalgate cache prune --older-than 30d --max-size 1GB",
    )
    prune.add_argument("--older-than", type=parse_duration, metavar="AGE", help="e.g. 12h, 30d, 2w")
    prune.add_argument("--max-size", type=parse_size, metavar="SIZE", help="e.g. 500MB, 1GB")
    for action, direction in (("push", "from this machine's file to the shared store"),
                              ("pull", "from the shared store into this machine's file")):
        move = cache_commands.add_parser(
            action, help=f"copy cache entries {direction}",
            description=f"Copy cache entries, their dependency maps and the suites' latest maps {direction} "
            "(entries already there are kept). The shared store is [tool.evalgate.store] url, "
            "$EVALGATE_STORE_URL or --store; the file is the project's cache (or $EVALGATE_CACHE).",
            epilog=f"example: evalgate cache {action} --store postgresql://evalgate@db.internal/evalgate",
        )
        move.add_argument("--store", metavar="URL", help="the shared store (default: the project's)")
    return parser


def parse_duration(text: str) -> float:
    """``30d`` → seconds (units s, m, h, d, w)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration; use e.g. 12h, 30d or 2w")
    return float(match.group(1)) * units[match.group(2)]


def parse_size(text: str) -> int:
    """``1GB`` → bytes (B, KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB of 1024)."""
    units = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30}
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in {**units, "": 1}:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size; use e.g. 500MB or 1GB")
    return int(float(match.group(1)) * units.get(match.group(2).lower(), 1))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after "--" goes to pytest untouched (argparse mangles it with subcommands).
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    args = build_parser().parse_args(argv)
    args.pytest_args = extra
    commands = {"run": run, "check": check, "plan": plan, "cache": cache, "report": report, "init": init, "deps": deps, "judge-check": judge_check}
    try:
        return commands[args.command](args)
    except EvalgateError as err:  # the library raises; this edge turns it into one line
        print(f"evalgate: error: {one_line(str(err))}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except BrokenPipeError:  # `evalgate plan --format json | head`: the reader stopped
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except OSError as err:  # a report folder that cannot be written, a file that cannot be read
        where = f" {err.filename}" if err.filename else ""
        print(f"evalgate: error:{one_line(where)}: {err.strerror or err}", file=sys.stderr)
        return EXIT_CONFIG_ERROR


def _project_arguments(parser: argparse.ArgumentParser, positional: bool) -> None:
    """``--project DIR`` on every command; also the positional ``PROJECT`` on those with no
    other positional argument — so neither spelling is ever wrong."""
    if positional:
        parser.add_argument("project", nargs="?", default=".", help="project directory (default: .)")
    parser.add_argument("--project", dest="project_option", metavar="DIR",
                        help="project directory (default: .)" + ("; same as PROJECT" if positional else ""))


def _project_directory(args: argparse.Namespace) -> str:
    return str(getattr(args, "project_option", None) or getattr(args, "project", None) or ".")


def _project(args: argparse.Namespace) -> Project:
    """The project the command's PROJECT (or --project) and --config point at."""
    directory = _project_directory(args)
    return discover_project(Path(directory).resolve(), Path(args.config).resolve() if args.config else None)


def run(args: argparse.Namespace) -> int:
    """``evalgate run``: pytest with the plugin, rooted at the project."""
    project_dir = Path(_project_directory(args)).resolve()
    # "--opt=value" form: pytest looks for its rootdir among arguments that are existing
    # paths before it knows plugin options, so "--eval-report DIR" could be taken for a path.
    pytest_args = [str(project_dir), f"--rootdir={project_dir}", f"--eval-tier={args.tier}"]
    config_file = Path(args.config).resolve() if args.config else find_project_file(project_dir)
    if config_file is not None:  # the project named on the command line, wherever evalgate runs
        pytest_args.append(f"--eval-config={config_file}")
    if args.report:
        pytest_args.append(f"--eval-report={Path(args.report).resolve()}")
    pytest_args += ["-p", "no:cacheprovider", *args.pytest_args]
    import pytest  # here, not at the top: `evalgate plan` in a pre-push hook has no use for it

    return int(pytest.main(pytest_args))


def check(args: argparse.Namespace) -> int:
    """``evalgate check``: load and validate, print what was found — problems first, so an
    error is the first thing read, not the last line after a listing that looks like success."""
    project = _project(args)
    problems = project.readiness_problems()
    for problem in problems:
        print(f"evalgate: error: {one_line(problem)}", file=sys.stderr)
    for suite in project.suites:
        for warning in power_lines(project, suite)[1]:
            print(f"evalgate: warning: {one_line(warning)}", file=sys.stderr)
    for line in describe(project):
        print(line)
    if problems:
        print(f"evalgate check: {len(problems)} problem(s), see above: the config is valid, but a run would stop",
              file=sys.stderr)
        return EXIT_CONFIG_ERROR
    return 0


def plan(args: argparse.Namespace) -> int:
    """``evalgate plan``: the change class and tier per suite, in the chosen format."""
    from evalgate.changes.auto import plan_for_project
    from evalgate.changes.output import github_output, plan_text
    from evalgate.run.usage_maps import load_usage_maps

    project = _project(args)
    maps, why = load_usage_maps(project)
    result = plan_for_project(
        project, base=args.base, include_worktree=False if args.committed_only else None, maps=maps, maps_note=why
    )
    for suite in project.suites:  # before any call: a gate that can never settle what it asks
        if result.suites.get(suite.name):
            for warning in power_lines(project, suite)[1]:
                print(f"evalgate: warning: {one_line(warning)}", file=sys.stderr)
    if args.format == "github":
        from evalgate.report.github import workflow_commands

        path = github_output(result, os.environ)
        print(f"evalgate plan: tier={result.tier or 'none'} change={result.change} (written to {path})")
        for reason in result.reasons:
            print(f"  {one_line(reason)}")
        for line in _cost_lines(_cost_estimates(project, result)):
            print(line)
        fallbacks = [f"unsure, so the full tier: {reason}" for reason in result.fallback_reasons]
        for line in workflow_commands([], fallbacks):
            print(line)
        return 0
    costs = _cost_estimates(project, result)
    if args.format == "json":
        print(json.dumps({**result.to_json(), "estimates": [each.to_json() for each in costs]}, indent=2))
    elif args.format == "gitlab":
        from evalgate.changes.output import dotenv

        print(plan_text(result), file=sys.stderr)
        for line in _cost_lines(costs):
            print(line, file=sys.stderr)
        print(dotenv(result), end="")
    else:
        print(plan_text(result))
        for line in _cost_lines(costs):
            print(line)
    return 0


def _cost_estimates(project: Project, plan: Any) -> list[Any]:
    """Each planned suite's cost, from its recorded calls (none without a store)."""
    from evalgate.run.estimate import estimates
    from evalgate.run.session import EvalSession
    from evalgate.store.location import existing_store

    store = existing_store(project)
    try:
        return estimates(EvalSession.for_plan(project, plan), store)
    finally:
        if store is not None:
            store.close()


def _cost_lines(costs: list[Any]) -> list[str]:
    if not costs:
        return []
    return ["cost (upper bounds: the cache and early stopping spend less):", *(f"  {one_line(each.line())}" for each in costs)]


def deps(args: argparse.Namespace) -> int:
    """``evalgate deps``: the recorded dependency maps."""
    from evalgate.run.usage_maps import age
    from evalgate.store.deps import Digests
    from evalgate.store.location import existing_store

    project = _project(args)
    names = [suite.name for suite in project.suites]
    if args.suite and args.suite not in names:
        print(f"evalgate: error: no suite '{args.suite}' (suites: {', '.join(names)})", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    store = existing_store(project)
    try:
        latest = store.maps.latest_suite_maps() if store is not None else {}
    finally:
        if store is not None:
            store.close()
    digests = Digests(project.root)
    chosen = [args.suite] if args.suite else names
    suite_env = {suite.name: suite.model.env for suite in project.suites}
    if args.format == "json":
        document = {
            name: {
                "recorded_at": latest[name][1], "run_id": latest[name][2], "files": dict(latest[name][0].files),
                "code": {path: sorted(blocks) for path, blocks in latest[name][0].code.items()},
                "distributions": dict(latest[name][0].dists), "env_read": list(latest[name][0].env_read),
                "changed": digests.changes(latest[name][0], name),
            } if name in latest else None
            for name in chosen
        }
        print(json.dumps(document, indent=2))
        return 0
    for name in chosen:
        if name not in latest:
            print(f"{name}: no recorded dependencies yet (run it with the cache on)")
            continue
        recorded, when, run_id = latest[name]
        changed = digests.changes(recorded, name)
        state = f"{len(changed)} changed since" if changed else "all unchanged"
        print(f"{name}: recorded {age(when)} ago by run {run_id[:12]} ({state})")
        for file in sorted(recorded.files):
            print(f"  {one_line(file)}")
        for file, blocks in sorted(recorded.code.items()):
            print(f"  {one_line(file)}: {one_line(', '.join(sorted(blocks)))}")
        for dist, pinned in sorted(recorded.dists.items()):
            print(f"  {dist}=={pinned}")
        undeclared = [n for n in recorded.env_read if not any(fnmatch.fnmatchcase(n, p) for p in suite_env.get(name, []))]
        if undeclared:
            print(f"  warning: reads environment variables its model's env does not declare: {one_line(', '.join(undeclared))}")
        for reason in changed:
            print(f"  changed: {one_line(reason)}")
    return 0


def init(args: argparse.Namespace) -> int:
    """``evalgate init``: the starter project."""
    from evalgate.scaffold import init_project

    directory = Path(_project_directory(args)).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    for path in init_project(directory):
        print(f"wrote {path.relative_to(directory)}")
    print("next: pytest --eval-tier=smoke   (and evalgate check to validate your edits)")
    return 0


def report(args: argparse.Namespace) -> int:
    """``evalgate report merge|github``."""
    from evalgate.document import read_document
    from evalgate.report import RunReport, write_reports
    from evalgate.report.github import append_to, outcome, workflow_commands, write_outputs
    from evalgate.report.terminal import table_lines
    from evalgate.run.merge import merge_reports

    if args.report_command == "merge":
        verdicts, results, tier, prices = merge_reports(args.sources, args.baseline)
        for path in write_reports(args.out, RunReport(verdicts, results, tier, prices=prices)):
            print(f"evalgate report: {path}")
        for line in table_lines(verdicts):
            print(line)
        return 1 if any(verdict.blocks_merge for verdict in verdicts) else 0
    document = read_document(args.source)
    if args.report_command == "comment":
        return _comment(document, os.environ)
    for line in workflow_commands(document.suites, shard=document.shard):
        print(line)
    summary = (args.source if args.source.is_dir() else args.source.parent) / "summary.md"
    if summary.exists():
        append_to(os.environ, "GITHUB_STEP_SUMMARY", summary.read_text(encoding="utf-8"))
    values = outcome(document.suites, document.shard)
    write_outputs(os.environ, values)
    print(f"evalgate: verdict={values['verdict']} calls-saved={values['calls-saved']}")
    return 0


def _comment(document: ResultsDocument, env: Mapping[str, str]) -> int:
    """``evalgate report comment``: the sticky comment on a pull request (see report/comment.py)."""
    from evalgate.ci import append_to
    from evalgate.redact import SECRETS
    from evalgate.report.comment import CommentRefused, PullRequest, comment_markdown, post_sticky

    server, repository, run = env.get("GITHUB_SERVER_URL", "https://github.com"), env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
    run_url = f"{server}/{repository}/actions/runs/{run}" if repository and run else None
    body = comment_markdown(document, run_url)
    number = _pull_request_number(env)
    if number is None or not repository:
        print(body)
        print("evalgate: not a pull_request event: the comment above was not posted", file=sys.stderr)
        return 0
    token = env.get("GITHUB_TOKEN", "")
    SECRETS.add(token)
    if shard := document.shard:
        print(f"evalgate: shard {shard} is partial: comment from the merged report instead")
        return 0
    try:
        if not token:
            raise CommentRefused("no GITHUB_TOKEN in the environment; pass github.token to this step")
        done = post_sticky(PullRequest(env.get("GITHUB_API_URL", "https://api.github.com"), repository, number), token, body)
    except CommentRefused as refused:
        note = f"evalgate: no pull request comment: {refused}"
        print(note)
        if env.get("GITHUB_STEP_SUMMARY"):
            append_to(env, "GITHUB_STEP_SUMMARY", f"\n> {markdown_text(note, limit=None)}\n")  # GitHub's words: data
        return 0
    print(f"evalgate: pull request comment {done}")
    return 0


def _move_entries(project: Project, action: str, url: str | None) -> int:
    """``evalgate cache push|pull``: copy entries between the file and the shared store."""
    from evalgate.project import cache_path, store_url
    from evalgate.store.postgres import display
    from evalgate.store.sqlite import ResultStore
    from evalgate.store.transfer import copy_entries

    shared_url = url or store_url(project)
    if not shared_url:
        print("evalgate: error: no shared store: pass --store postgresql://… or set EVALGATE_STORE_URL "
              "or [tool.evalgate.store] url", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    path = cache_path(project)
    if action == "push" and not path.exists():
        print(f"no cache yet at {path}: nothing to push")
        return 0
    local, shared = ResultStore.open(path), ResultStore.open_url(shared_url)
    source, target = (local, shared) if action == "push" else (shared, local)
    try:
        copied = copy_entries(source, target)
    except Exception as err:  # either backend's error, or a store that did not open
        print(f"evalgate: error: {action} failed: {one_line(str(err), limit=300)}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    finally:
        local.close()
        shared.close()
    where = f"{path} → {display(shared_url)}" if action == "push" else f"{display(shared_url)} → {path}"
    print(f"{action}: {where}: {copied.entries} new entr{'y' if copied.entries == 1 else 'ies'}, {copied.maps} new dependency map(s)")
    return 0


def judge_check(args: argparse.Namespace) -> int:
    """``evalgate judge-check``: the suite's judge against human labels."""
    from evalgate.run.agreement import agreement, read_labels
    from evalgate.run.judging import calibration_lines

    project = _project(args)
    suite = next((s for s in project.suites if s.name == args.suite), None)
    if suite is None:
        print(f"evalgate: error: no suite '{args.suite}' (suites: {', '.join(s.name for s in project.suites)})", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    judges = [part for part in suite.parts if part.name == "judge"]
    if not judges:
        print(f"evalgate: error: suite '{suite.name}' has no judge scorer (kind = \"judge\")", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    labels = read_labels(args.labels)
    result = agreement(judges[0], suite.cases, labels)
    calibration = result.calibration
    alpha = suite.config.gate.alpha
    for line in [*result.lines(), *calibration_lines(calibration, alpha)]:
        print(line)
    if args.results is not None or args.template is not None:
        _labels_to_add(args, suite, {case_id for case_id, _, _ in labels}, calibration, alpha)
    if args.min_kappa is not None and (result.kappa is None or result.kappa < args.min_kappa):
        print(f"evalgate: the judge's agreement is below --min-kappa {args.min_kappa:g}: do not gate on it yet")
        return 1
    return 1 if calibration.refusal(alpha) else 0


def _labels_to_add(
    args: argparse.Namespace, suite: Suite, labelled: set[str], calibration: JudgeCalibration, alpha: float
) -> None:
    """How many labels would make the corrected interval useful, and (``--template``) which
    cases to label: a seeded random sample of the unlabelled ones — a random sample, because
    choosing by the judge's verdict would bias the very errors the labels measure."""
    import random

    from evalgate.document import read_document
    from evalgate.run.judging import labels_needed

    outputs: dict[str, str | None] = {}
    judged_rate = None
    if args.results is not None:
        document = read_document(args.results)
        cases = [c for c in document.cases if c.suite == suite.name and c.variant is None and c.repeat == 0]
        outputs = {c.case_id: c.output for c in cases}
        scored = [c for c in cases if not c.errored]
        judged_rate = sum(bool(c.passed) for c in scored) / len(scored) if scored else None
    if judged_rate is not None:
        margin = abs(judged_rate - suite.config.gate.min_pass_rate) or 0.05
        more = labels_needed(calibration, judged_rate, 2 * margin, alpha)
        wanted = "no number up to 10,000" if more is None else f"about {more} more label(s)"
        print(f"at the judged rate {judged_rate:.1%}, a corrected interval narrow enough to decide against "
              f"{suite.config.gate.min_pass_rate:.1%} needs {wanted} (a random sample, in the proportions seen so far)")
    if args.template is None:
        return
    unlabelled = [case.id for case in suite.cases if case.id not in labelled]
    chosen = random.Random(f"{suite.name}:labels").sample(unlabelled, min(args.suggest, len(unlabelled)))
    with args.template.open("w", encoding="utf-8") as out:
        for case_id in chosen:
            out.write(json.dumps({"id": case_id, "output": outputs.get(case_id), "pass": None}, ensure_ascii=False) + "\n")
    print(f"wrote {len(chosen)} case(s) to label to {args.template}: fill in each \"pass\" (and \"output\" where "
          "it is null) and append them to the labels")


def _pull_request_number(env: Mapping[str, str]) -> int | None:
    """The pull request's number from the event payload, or None off pull_request events."""
    if env.get("GITHUB_EVENT_NAME") not in ("pull_request", "pull_request_target") or not env.get("GITHUB_EVENT_PATH"):
        return None
    try:
        payload = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
        return int(payload["pull_request"]["number"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def cache(args: argparse.Namespace) -> int:
    """``evalgate cache path|stats|explain|prune|push|pull``."""
    from evalgate.run.usage_maps import age
    from evalgate.store.deps import Digests
    from evalgate.store.keys import SuiteKeys, explain_change
    from evalgate.store.location import existing_store, store_name

    project = _project(args)
    if args.cache_command == "path":
        from evalgate.project import cache_path

        print(cache_path(project).resolve())
        return 0
    if args.cache_command in ("push", "pull"):
        return _move_entries(project, args.cache_command, args.store)
    store = existing_store(project)
    if store is None:
        print(f"no cache yet at {store_name(project)}: run the evals once (pytest --eval-tier=smoke) to create it")
        return 0
    for problem in store.problems:
        print(f"evalgate: warning: {problem}", file=sys.stderr)
    try:
        if args.cache_command == "stats":
            stats = store.stats()
            print(f"cache: {stats.path}")
            print(f"entries: {stats.entries}")
            print(f"judge verdicts: {stats.judgements}")
            print(f"size: {stats.size_bytes / 1e6:.2f} MB on disk (with the write-ahead log; 'prune' compacts it)")
            last = stats.last_run
            if last is None:
                print("last run: none finished yet")
            else:
                rate = "-" if last["hit_rate"] is None else f"{last['hit_rate']:.1%}"
                print(f"last run: {last['label']}: {last['hits']} hit(s), {last['misses']} model call(s), hit rate {rate}")
            return 0
        if args.cache_command == "prune":
            if args.older_than is None and args.max_size is None:
                print("evalgate: error: say what to prune: --older-than AGE and/or --max-size SIZE", file=sys.stderr)
                return EXIT_CONFIG_ERROR
            before = store.db.size_bytes()
            removed = store.prune(args.older_than, args.max_size)
            print(f"removed {removed} entr{'y' if removed == 1 else 'ies'}; {before / 1e6:.2f} MB → "
                  f"{store.db.size_bytes() / 1e6:.2f} MB on disk (compacted; with the write-ahead log, as 'stats' counts)")
            return 0
        suite = next((s for s in project.suites if s.name == args.suite), None)
        if suite is None:
            names = ", ".join(s.name for s in project.suites)
            print(f"evalgate: error: no suite '{args.suite}' (suites: {names})", file=sys.stderr)
            return EXIT_CONFIG_ERROR
        case = next((c for c in suite.cases if c.id == args.case), None)
        if case is None:
            print(f"evalgate: error: suite '{suite.name}' has no case '{args.case}'", file=sys.stderr)
            return EXIT_CONFIG_ERROR
        keys = SuiteKeys(project, suite)
        key, parts = keys.key(case, 0), keys.parts(case, 0)
        newest = store.cache.newest_entry(suite.name, case.id)
        if newest is None:
            print(f"{suite.name}::{case.id}: never cached (not run with the cache yet, an error, or pruned)")
            return 0
        digests = Digests(project.root)
        entries = store.cache.lookup_many([key]).get(key, [])
        unions = store.maps.unions({(entry.run_id, entry.suite) for entry in entries})
        if any(not digests.changes(union, suite.name) for union in unions.values()):
            print(f"{suite.name}::{case.id}: cached — the key and every recorded dependency are unchanged, the next run is a hit")
            return 0
        old_parts, created, _, run_id = newest
        union = store.maps.unions({(run_id, suite.name)}).get((run_id, suite.name))
        changed = digests.changes(union, suite.name) if union is not None else ["its run recorded no dependencies this run can trust"]
        reasons = [*explain_change(old_parts, parts), *changed] or ["the key differs in a part evalgate cannot name"]
        print(f"{suite.name}::{case.id}: miss; since the newest entry ({age(created)} ago):")
        for reason in reasons:
            print(f"  - {reason}")
        return 0
    finally:
        store.close()


def describe(project: Project) -> list[str]:
    """Human-readable lines: the config file, suites (with what their gates can settle) and
    what each tier would run."""
    lines = [f"config: {project.config_path}", "suites:"]
    for suite in project.suites:
        concerns = f" concerns={','.join(suite.config.concerns)}" if suite.config.concerns else ""
        kind = suite.config.gate.population or project.config.population
        lines.append(
            f"  {suite.name}: {len(suite.cases)} cases, model {suite.adapter.kind}, "
            f"scorer {suite.scorer.name}, gate ≥ {suite.config.gate.min_pass_rate:.1%} of the {kind}{concerns}"
        )
        lines += [f"    {line}" for line in power_lines(project, suite)[0]]
    lines.append("tiers:")
    for name, tier in sorted(project.tiers.items()):
        suites = project.suites_for(tier)
        cases = sum(len(cases_for_tier(s.cases, tier, project.config.seed, s.config.stratify)) for s in suites)
        variants = f" + variants {', '.join(tier.variants)}" if tier.variants else ""
        lines.append(
            f"  {name}: {len(suites)} suite(s), {cases} case(s) × {tier.repeats}{variants} — {tier.description}"
        )
    return lines


def power_lines(project: Project, suite: Any) -> tuple[list[str], list[str]]:
    """``(lines, warnings)``: what the suite's gates can settle reading every case (the full
    tier), before any call; a warning where a gate can never settle what it asks."""
    from evalgate.verdict.power import FLIPS, needed_for, pass_rate_power, regression_power

    gate, config = suite.config.gate, project.config
    n = len(suite.cases)
    kind = gate.population or config.population
    alpha_fail = gate.alpha / (1 + bool(gate.baseline))
    power = pass_rate_power(kind, n, n, gate.min_pass_rate, gate.alpha, alpha_fail)
    passes = "never (not even at 100%)" if power.pass_from is None else f"from {power.pass_from:.1%}"
    fails = "never (not even at 0%)" if power.fail_below is None else f"below {power.fail_below:.1%}"
    lines = [f"power with all {n} cases at α = {gate.alpha:g}: PASS settles {passes}, FAIL {fails}"]
    warnings = []
    if power.pass_from is None:
        needed = needed_for(gate.min_pass_rate, 1 - gate.min_pass_rate, gate.alpha, alpha_fail) if kind == "distribution" else None
        more = f": needs ~{needed} cases" if needed else ""
        warnings.append(f"{suite.name}: min_pass_rate {gate.min_pass_rate:g} on {n} cases ({kind}) cannot settle a PASS "
                        f"even if every case passes{more}; it will read UNDECIDED — lower min_pass_rate or add cases")
    if gate.baseline is not None:
        regression = gate.regression_population or config.regression_population
        distance = regression_power(regression, n, n, gate.max_regression, gate.alpha, alpha_fail)
        if distance is None:
            lines.append(f"regression ({regression}): no candidate can be settled as no worse with {n} cases")
            warnings.append(f"{suite.name}: max_regression {gate.max_regression:g} on {n} cases ({regression}) cannot be "
                            f"settled whatever the candidate; add cases or raise max_regression")
        else:
            at = distance - gate.max_regression
            lines.append(f"regression ({regression}, δ = {gate.max_regression:.1%}): a candidate settles as no worse from "
                         f"Δ ≥ {at:+.1%} (assuming {FLIPS:.0%} of cases flip)")
            if at > 0:
                warnings.append(f"{suite.name}: max_regression {gate.max_regression:g} on {n} cases ({regression}) cannot "
                                f"be settled for a candidate as good as its baseline (it needs Δ ≥ {at:+.1%}, with "
                                f"{FLIPS:.0%} of cases flipping): it will read UNDECIDED — raise max_regression or add cases")
    return lines, warnings


if __name__ == "__main__":
    sys.exit(main())
