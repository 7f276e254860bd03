"""GitHub Actions: annotations, step outputs and the step summary.

Workflow commands go to stdout (``::error title=…::message``); GitHub shows at most 10
errors and 10 warnings per step, so evalgate emits nine of each and one line that counts
the rest. Outputs and the summary are appended to the files GitHub names in
``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

from collections.abc import Sequence

from evalgate.ci import append_to, escape_data, escape_property, write_outputs
from evalgate.document import SuiteReport

LIMIT = 10


def workflow_commands(suites: Sequence[SuiteReport], fallbacks: Sequence[str] = ()) -> list[str]:
    """``::error`` for gates that block, ``::warning`` for undecided gates and plan
    fallbacks — at most ``LIMIT`` of each kind, the rest counted in the last one."""
    errors = [
        (f"evalgate gate {suite.suite}", f"{suite.verdict}: {suite.reason}") for suite in suites if suite.blocks_merge
    ]
    warnings = [
        (f"evalgate gate {suite.suite}", f"{suite.verdict}: {suite.reason}")
        for suite in suites
        if suite.verdict == "UNDECIDED" and not suite.blocks_merge
    ]
    warnings += [("evalgate plan", reason) for reason in fallbacks]
    return _capped("error", errors) + _capped("warning", warnings)


def _capped(kind: str, items: Sequence[tuple[str, str]]) -> list[str]:
    shown = items if len(items) <= LIMIT else items[: LIMIT - 1]
    lines = [f"::{kind} title={escape_property(title)}::{escape_data(message)}" for title, message in shown]
    if len(items) > LIMIT:
        lines.append(f"::{kind} title=evalgate::{len(items) - len(shown)} more; see the step summary")
    return lines


def outcome(suites: Sequence[SuiteReport]) -> dict[str, str]:
    """The action's outputs: ``verdict`` (pass, fail, skipped) and ``calls-saved``."""
    ran = [suite for suite in suites if suite.verdict != "SKIPPED"]
    verdict = "skipped" if not ran else ("fail" if any(suite.blocks_merge for suite in suites) else "pass")
    saved = sum(suite.calls_saved.cache + suite.calls_saved.sampling + suite.calls_saved.early_stop for suite in suites)
    return {"verdict": verdict, "calls-saved": str(saved)}


__all__ = ["append_to", "escape_data", "escape_property", "outcome", "workflow_commands", "write_outputs"]
