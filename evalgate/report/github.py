"""GitHub Actions: annotations, step outputs and the step summary.

Workflow commands go to stdout (``::error file=evals/qa.toml,line=3,title=…::message``,
placed on the suite's file so the pull request's diff shows them); GitHub shows at most
10 errors and 10 warnings per step, so evalgate emits nine of each and one line that
counts the rest. Outputs and the summary are appended to the files GitHub names in
``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY``.

A shard's results (``shard`` set) are partial: no gate blocks there, so they give no
``::error`` and the ``verdict`` output is ``partial``; the merged report decides.
"""

from __future__ import annotations

from collections.abc import Sequence

from evalgate.ci import append_to, escape_data, escape_property, write_outputs
from evalgate.document import SuiteReport

LIMIT = 10


def workflow_commands(
    suites: Sequence[SuiteReport], fallbacks: Sequence[str] = (), shard: str | None = None
) -> list[str]:
    """``::error`` for gates that block, ``::warning`` for undecided gates and plan
    fallbacks — at most ``LIMIT`` of each kind, the rest counted in the last one. A shard's
    gates are partial: they warn at most, and say so."""
    blocking = [suite for suite in suites if suite.blocks_merge]
    undecided = [suite for suite in suites if suite.verdict == "UNDECIDED" and not suite.blocks_merge]
    if shard:
        blocking, undecided = [], [*blocking, *undecided]
    partial = f" (shard {shard}, partial: the merged report decides)" if shard else ""
    errors = [_annotation(suite, "") for suite in blocking]
    warnings = [_annotation(suite, partial) for suite in undecided]
    warnings += [({"title": "evalgate plan"}, reason) for reason in fallbacks]
    return _capped("error", errors) + _capped("warning", warnings)


def _annotation(suite: SuiteReport, note: str) -> tuple[dict[str, str], str]:
    where = {"file": suite.file} if suite.file else {}
    if suite.file and suite.line:
        where["line"] = str(suite.line)
    return {**where, "title": f"evalgate gate {suite.suite}"}, f"{suite.verdict}: {suite.reason}{note}"


def _capped(kind: str, items: Sequence[tuple[dict[str, str], str]]) -> list[str]:
    shown = items if len(items) <= LIMIT else items[: LIMIT - 1]
    lines = [f"::{kind} {_properties(where)}::{escape_data(message)}" for where, message in shown]
    if len(items) > LIMIT:
        lines.append(f"::{kind} title=evalgate::{len(items) - len(shown)} more; see the step summary")
    return lines


def _properties(values: dict[str, str]) -> str:
    return ",".join(f"{name}={escape_property(value)}" for name, value in values.items())


def outcome(suites: Sequence[SuiteReport], shard: str | None = None) -> dict[str, str]:
    """The action's outputs: ``verdict`` (pass, fail, skipped; ``partial`` for a shard,
    whose verdicts cover some cases only), ``blocking`` (the suites that block the merge,
    comma-separated; empty for a shard), ``calls-saved``, and ``artifact-suffix``
    (``-shard-2-of-4`` for a shard: each matrix leg's artifact needs its own name)."""
    ran = [suite for suite in suites if suite.verdict != "SKIPPED"]
    verdict = "skipped" if not ran else ("fail" if any(suite.blocks_merge for suite in suites) else "pass")
    if shard:
        verdict = "partial"
    suffix = "-shard-" + shard.replace("/", "-of-") if shard else ""
    saved = sum(suite.calls_saved.cache + suite.calls_saved.sampling + suite.calls_saved.early_stop for suite in suites)
    blocking = "" if shard else ",".join(suite.suite for suite in suites if suite.blocks_merge)
    return {"verdict": verdict, "blocking": blocking, "calls-saved": str(saved), "artifact-suffix": suffix}


__all__ = ["append_to", "escape_data", "escape_property", "outcome", "workflow_commands", "write_outputs"]
