"""GitHub Actions: annotations, step outputs and the step summary.

Workflow commands go to stdout (``::error title=…::message``); GitHub shows at most 10
errors and 10 warnings per step, so evalgate emits nine of each and one line that counts
the rest. Outputs and the summary are appended to the files GitHub names in
``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from evalgate.document import SuiteReport
from evalgate.errors import EvalgateError

LIMIT = 10


def escape_data(text: str) -> str:
    """Escape a workflow command's message (GitHub's rules for ``%``, CR and LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command property value (also ``:`` and ``,``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


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


def append_to(env: Mapping[str, str], variable: str, text: str) -> Path:
    """Append ``text`` to the file named by the environment variable ``variable``."""
    target = env.get(variable)
    if not target:
        raise EvalgateError(f"{variable} is not set: this runs inside a GitHub Actions step")
    path = Path(target)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
    return path


def write_outputs(env: Mapping[str, str], values: Mapping[str, str]) -> Path:
    """Append ``name=value`` lines to ``$GITHUB_OUTPUT``."""
    return append_to(env, "GITHUB_OUTPUT", "".join(f"{name}={value}\n" for name, value in values.items()))
