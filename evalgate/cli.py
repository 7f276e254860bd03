"""The ``evalgate`` command: argument parsing and exit codes; the work is elsewhere.

Exit codes: 0 all gates pass; 1 a gate blocks the merge (or a test failed); 2 the
configuration is invalid; other codes are pytest's own (see README, "Exit codes").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from evalgate import __version__
from evalgate.errors import EvalgateError
from evalgate.project import Project, discover_project
from evalgate.sampling import cases_for_tier

EXIT_CONFIG_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every command has help and an example."""
    parser = argparse.ArgumentParser(
        prog="evalgate",
        description="Change-aware evaluation gates for LLM / ML systems, run as pytest tests.",
        epilog="Run 'evalgate COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"evalgate {__version__}")
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
    run.add_argument("project", nargs="?", default=".", help="project directory (default: .)")
    run.add_argument("--tier", default="smoke", help="tier to run (default: smoke)")
    run.add_argument("--config", help="config file (default: evalgate.toml or pyproject.toml in PROJECT)")
    run.add_argument("--report", metavar="DIR", help="write junit.xml, summary.md and results.json here")

    check = commands.add_parser(
        "check",
        help="validate a project's config, tiers, suites and datasets without running models",
        description="Load everything a run would load and report the first problem as one "
        "line naming the file and the fix; on success list the suites and tiers.",
        epilog="example: evalgate check examples/gsm8k",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("project", nargs="?", default=".", help="project directory (default: .)")
    check.add_argument("--config", help="config file (default: evalgate.toml or pyproject.toml in PROJECT)")
    plan = commands.add_parser(
        "plan",
        help="classify the git change and say which tier each suite needs, and why",
        description="Analyse the change (merge base of the base revision and HEAD, plus "
        "uncommitted files outside CI), apply the rules and overrides, and print the plan.",
        epilog="example: evalgate plan --base origin/main --format json\n"
        "         evalgate plan --format github   # appends tier= and change= to $GITHUB_OUTPUT",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plan.add_argument("project", nargs="?", default=".", help="project directory (default: .)")
    plan.add_argument("--config", help="config file (default: evalgate.toml or pyproject.toml in PROJECT)")
    plan.add_argument("--base", metavar="REV", help="base revision (default: the GitHub event's base, else the default branch)")
    plan.add_argument("--format", choices=("text", "json", "github"), default="text", help="output format (default: text)")
    plan.add_argument(
        "--committed-only",
        action="store_true",
        help="ignore staged, unstaged and untracked files (the default outside CI includes them)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after "--" goes to pytest untouched (argparse mangles it with subcommands).
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    args = build_parser().parse_args(argv)
    args.pytest_args = extra
    if args.command == "run":
        return run(args)
    if args.command == "plan":
        return plan(args)
    return check(args)


def run(args: argparse.Namespace) -> int:
    """``evalgate run``: pytest with the plugin, rooted at the project."""
    project_dir = Path(args.project).resolve()
    pytest_args = [str(project_dir), "--rootdir", str(project_dir), "--eval-tier", args.tier]
    if args.config:
        pytest_args += ["--eval-config", str(Path(args.config).resolve())]
    if args.report:
        pytest_args += ["--eval-report", str(Path(args.report).resolve())]
    pytest_args += ["-p", "no:cacheprovider", *args.pytest_args]
    return int(pytest.main(pytest_args))


def check(args: argparse.Namespace) -> int:
    """``evalgate check``: load and validate, print what was found."""
    try:
        project = discover_project(
            Path(args.project).resolve(), Path(args.config).resolve() if args.config else None
        )
    except EvalgateError as err:
        print(f"evalgate: error: {err}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    for line in describe(project):
        print(line)
    return 0


def plan(args: argparse.Namespace) -> int:
    """``evalgate plan``: the change class and tier per suite, in the chosen format."""
    from evalgate.autotier import plan_for_project
    from evalgate.plan_output import github_output, plan_text

    try:
        project = discover_project(
            Path(args.project).resolve(), Path(args.config).resolve() if args.config else None
        )
        result = plan_for_project(
            project, base=args.base, include_worktree=False if args.committed_only else None
        )
        if args.format == "github":
            path = github_output(result, os.environ)
            print(f"evalgate plan: tier={result.tier or 'none'} change={result.change} (written to {path})")
            for reason in result.reasons:
                print(f"  {reason}")
            return 0
    except EvalgateError as err:
        print(f"evalgate: error: {err}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(plan_text(result))
    return 0


def describe(project: Project) -> list[str]:
    """Human-readable lines: the config file, suites and what each tier would run."""
    lines = [f"config: {project.config_path}", "suites:"]
    for suite in project.suites:
        concerns = f" concerns={','.join(suite.config.concerns)}" if suite.config.concerns else ""
        lines.append(
            f"  {suite.name}: {len(suite.cases)} cases, model {suite.adapter.kind}, "
            f"scorer {suite.scorer.name}, gate ≥ {suite.config.gate.min_pass_rate:.1%}{concerns}"
        )
    lines.append("tiers:")
    for name, tier in sorted(project.tiers.items()):
        suites = project.suites_for(tier)
        cases = sum(len(cases_for_tier(s.cases, tier, project.config.seed)) for s in suites)
        lines.append(
            f"  {name}: {len(suites)} suite(s), {cases} case(s) × {tier.repeats} — {tier.description}"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
