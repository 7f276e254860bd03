"""A plan for humans (text) and for GitHub Actions (``$GITHUB_OUTPUT``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from evalgate.changes.plan import Plan
from evalgate.ci import write_outputs
from evalgate.untrusted import log_line


def plan_text(plan: Plan) -> str:
    """A readable explanation of the decision."""
    base = plan.base[:12] if plan.base else "none"
    head = plan.head[:12] if plan.head else "none"
    lines = [
        f"change: {plan.change}" + (" (fallback: unsure, so the larger tier)" if plan.fallback else ""),
        f"tier:   {plan.tier or 'none'}" + (f"  (override: {plan.override})" if plan.override else ""),
        f"base:   {base}   head: {head}",
        "suites:",
        *(f"  {name}: {tier or 'none'}" for name, tier in plan.suites.items()),
        "why:",
        *(f"  - {reason}" for reason in plan.reasons),
    ]
    if plan.files:
        lines.append(f"files ({len(plan.files)}):")
        lines.extend(f"  {line}" for line in plan.files[:50])
        if len(plan.files) > 50:
            lines.append(f"  … and {len(plan.files) - 50} more")
    # Reasons quote file names, git's messages, labels and trailers: each line stays one line.
    return "\n".join(log_line(line) for line in lines)


def github_output(plan: Plan, env: Mapping[str, str]) -> Path:
    """Append ``tier=`` and ``change=`` to ``$GITHUB_OUTPUT``."""
    return write_outputs(env, {"tier": plan.tier or "none", "change": plan.change})


def dotenv(plan: Plan) -> str:
    """``EVALGATE_PLANNED_TIER=…`` and ``EVALGATE_PLANNED_CHANGE=…`` lines for a GitLab
    ``dotenv`` report (``artifacts: reports: dotenv``), so later jobs see the plan as
    variables. Never ``EVALGATE_TIER``: that is evalgate's own override, and a later job
    that runs pytest would take it as one (``none`` is no tier; ``smoke`` would make a plain
    ``pytest tests`` collect the eval suites)."""
    return f"EVALGATE_PLANNED_TIER={plan.tier or 'none'}\nEVALGATE_PLANNED_CHANGE={plan.change}\n"
