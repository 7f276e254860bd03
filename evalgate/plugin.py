"""pytest hooks: options, ``-n auto``'s worker count, and one ``pytest_configure`` that
starts an eval run. Nothing else.

This module is imported by every pytest run of every project that has evalgate
installed, so it imports nothing but pytest, the standard library and the report folder's file
names (:data:`evalgate.report.REPORT_FILES`, a constant). Without
``--eval-tier`` (or ``$EVALGATE_TIER``, or the ``eval_tier`` ini value) it does nothing;
with one, it imports the machinery (:mod:`evalgate.run.evalrun`) and registers the run's
hooks — the way pytest-xdist imports ``DSession`` only when ``-n`` is given.
"""

from __future__ import annotations

import os

import pytest

from evalgate.report import REPORT_FILES


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    leave_unrewritten(pluginmanager)
    group = parser.getgroup("evalgate", "eval gates (evalgate)")
    group.addoption(
        "--eval-tier",
        dest="eval_tier",
        metavar="NAME",
        help="run eval suites at this tier (smoke, full, deep-dive, one in tiers/, or auto: "
        "chosen from the git change); default $EVALGATE_TIER; without it no eval items are collected",
    )
    group.addoption(
        "--eval-base",
        dest="eval_base",
        metavar="REV",
        help="with --eval-tier=auto: compare with the merge base of REV and HEAD "
        "(default: the GitHub event's base, else origin/HEAD, origin/main, main or master)",
    )
    group.addoption(
        "--eval-config",
        dest="eval_config",
        metavar="PATH",
        help="evalgate.toml or pyproject.toml to use (default: found in the rootdir)",
    )
    group.addoption(
        "--eval-report",
        dest="eval_report",
        metavar="DIR",
        help=f"write the reports ({', '.join(REPORT_FILES)}) into DIR",
    )
    group.addoption(
        "--eval-baseline",
        dest="eval_baseline",
        metavar="PATH",
        help="gate every suite against a baseline on the same cases: a results.json from an "
        "earlier run, or 'store' for the newest finished run in the result store",
    )
    group.addoption(
        "--eval-shard",
        dest="eval_shard",
        metavar="K/N",
        help="run only shard K of N of the cases (split by case-id hash); merge the shards' "
        "reports with 'evalgate report merge'",
    )
    group.addoption(
        "--eval-run-group",
        dest="eval_run_group",
        metavar="NAME",
        help="the run the shards belong to (default: $EVALGATE_RUN_GROUP, else the CI run's id): shards of "
        "one group that share a result store stop early together",
    )
    group.addoption(
        "--eval-undecided",
        dest="eval_undecided",
        choices=("warn", "estimate", "fail"),
        help="override every gate's policy for UNDECIDED verdicts",
    )
    group.addoption(
        "--eval-max-cost",
        dest="eval_max_cost",
        type=float,
        metavar="AMOUNT",
        help="stop starting model calls once the run has spent this much (in the models' price currency); "
        "unsettled verdicts are then INCOMPLETE (overrides [tool.evalgate] max_cost)",
    )
    group.addoption(
        "--eval-max-tokens",
        dest="eval_max_tokens",
        type=int,
        metavar="N",
        help="as --eval-max-cost, in tokens (input and output, models and judges)",
    )
    group.addoption(
        "--eval-no-cache",
        dest="eval_no_cache",
        action="store_true",
        help="neither read nor write the result cache",
    )
    group.addoption(
        "--eval-refresh",
        dest="eval_refresh",
        action="store_true",
        help="run every case again and overwrite its cached result",
    )
    parser.addini("eval_tier", "default for --eval-tier", default="")
    parser.addini("eval_progress_seconds", "seconds between progress lines on long runs", default="5")
    parser.addini("eval_report", "default for --eval-report", default="")


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` with a tier: no worker processes when every suite waits on its model
    (see :mod:`evalgate.run.workers`); otherwise pytest-xdist counts the CPUs."""
    tier = requested_tier(config)
    if not tier:
        return None
    from evalgate.run.memory import freeze_start_up

    freeze_start_up()  # this hook comes before pytest_configure: the imports start here
    from evalgate.run.evalrun import auto_num_workers

    return auto_num_workers(config)


def pytest_configure(config: pytest.Config) -> None:
    # Registered in every run, so ``-m "not eval"`` and ``--strict-markers`` work with or without a tier.
    config.addinivalue_line("markers", "eval: an evalgate eval case (one run of one case of a suite)")
    tier = requested_tier(config)
    if not tier:
        return
    from evalgate.run.memory import freeze_start_up

    freeze_start_up(config)
    from evalgate.run.evalrun import start_run

    start_run(config, tier)


def leave_unrewritten(pluginmanager: pytest.PytestPluginManager) -> None:
    """Keep pytest's assertion rewriting away from evalgate's own modules.

    pytest marks every module of an installed plugin's distribution for rewriting (a plugin's
    asserts are often its users' test helpers). evalgate's asserts are internal invariants,
    and rewritten modules bypass CPython's byte-code: where byte-code is not written
    (``PYTHONDONTWRITEBYTECODE=1``, common in container images) every run, and every xdist
    worker, parses and compiles evalgate's ~110 modules again (~0.25 s a run). pytest has no
    public way to unmark a package, so this drops the mark where pytest keeps it and does
    nothing where it does not (an editable install is never marked)."""
    hook = getattr(pluginmanager, "rewrite_hook", None)
    marked = getattr(hook, "_must_rewrite", None)
    if isinstance(marked, set) and __package__ in marked:
        marked.discard(__package__)
        seen = getattr(hook, "_marked_for_rewrite_cache", None)
        if isinstance(seen, dict):
            for name in [name for name in seen if name == __package__ or name.startswith(f"{__package__}.")]:
                del seen[name]


def requested_tier(config: pytest.Config) -> str:
    """``--eval-tier``, else ``EVALGATE_TIER``, else the ``eval_tier`` ini value."""
    return str(
        config.getoption("eval_tier") or os.environ.get("EVALGATE_TIER", "") or config.getini("eval_tier")
    )
