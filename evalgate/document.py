"""results.json: the typed document one run writes and another reads.

Written by ``--eval-report`` (and ``evalgate report merge``); read back by ``report
merge`` (shards), ``report github`` (annotations, outputs) and baseline gates. Every
reader goes through :func:`read_document`, which validates against these models, so a
wrong or foreign file is one clear error naming the file and the field — never a
KeyError deep inside. The JSON Schema in ``docs/results.schema.json`` is generated from
these models (``python -m evalgate.document``; a test keeps it current).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, computed_field

from evalgate.config import GateConfig, PriceConfig
from evalgate.errors import ConfigError
from evalgate.results import CaseResult
from evalgate.untrusted import one_line
from evalgate.verdict.gate import SuiteVerdict
from evalgate.verdict.judged import JudgeCalibration

SCHEMA_VERSION = 2
"""Bumped when a field is renamed or removed, or its meaning changes; readers refuse other
versions with a message saying which evalgate wrote the file."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class CostReport(_Model):
    """Tokens and money of a suite's model calls (see :mod:`evalgate.report.cost`)."""

    calls: int
    """Case runs that called the model in this run."""
    calls_with_usage: int
    """Of those, the calls whose backend reported token usage."""
    input_tokens: int | None = None
    """Input tokens of this run's calls; None when no call reported usage."""
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    """Input tokens the cached answers cost when they were produced; None when none reported."""
    cached_output_tokens: int | None = None
    judge_input_tokens: int | None = None
    """Input tokens of this run's judge calls (a ``judge`` scorer); None when none reported."""
    judge_output_tokens: int | None = None
    price: PriceConfig | None = None
    """The model's price per million tokens, from its config; None when none is set."""
    spent: float | None = None
    """Money this run's calls cost; None without a price or usage."""
    saved_by_cache: float | None = None
    """What the cached answers cost when produced, not spent again."""
    saved_estimate: float | None = None
    """Estimated: the mean cost per call times the calls sampling and early stopping saved."""
    judge_price: PriceConfig | None = None
    """The judge model's price per million tokens; None when none is set."""
    judge_spent: float | None = None
    """Money this run's judge calls cost; None without a judge price or judge usage."""


class CallsSaved(_Model):
    """Model calls this run did not make, by reason."""

    cache: int
    """Answered by the result cache."""
    sampling: int
    """Left out by the tier's cap (a sample of the suite)."""
    early_stop: int
    """Skipped because the verdict was already settled."""


class MergeInfo(_Model):
    """What ``evalgate report merge`` needs to decide the suite again from shards."""

    gate: GateConfig
    order: list[str]
    """Every planned case id in sampling order, all shards together."""
    total: int
    """Cases in the suite."""
    repeats: int
    skip_reason: str | None
    scheduled: list[str] | None = None
    """The case ids this run collected, when ``-k`` / ``--lf`` left some planned ones out
    (the merged verdict is then about the selection)."""
    variants: list[str] = []
    """The robustness variants each case ran with (their consistency is decided too)."""
    slice_tags: dict[str, list[str]] | None = None
    """Case id → tags of every case of the suite, when the gate has slices (a merge decides
    each slice again)."""
    control: int | None = None
    """The baseline's exact pass count over the population, when the pass-rate gate used it
    as a control variate (for readers; a merge recounts it from its own ``--baseline``)."""
    alpha_fail_cap: float | None = None
    """The suite's share of the run's ``run_alpha`` for its FAIL side (None: its own α)."""
    judge: JudgeCalibration | None = None
    """The judge's errors measured on people's labels, when the pass rate is corrected for them."""
    judge_failure: str | None = None
    """Why the suite's judge cannot gate (the merged verdict is then ERROR, as the shards' were)."""


@dataclass(frozen=True)
class SuiteReport(SuiteVerdict):
    """One suite's verdict as results.json carries it: the verdict's own fields
    (:class:`~evalgate.verdict.gate.SuiteVerdict`, the one definition), plus what only a
    report knows — how a merge recounts it, what it cost — and two derived summaries."""

    merge: MergeInfo | None = None
    """What ``report merge`` needs to recount this suite from the shards' cases."""
    cost: CostReport | None = None
    """Tokens and money; None in files written before evalgate reported them."""

    @classmethod
    def of(cls, verdict: SuiteVerdict, merge: MergeInfo | None = None, cost: CostReport | None = None) -> SuiteReport:
        """The report of ``verdict``."""
        ordered = tuple(sorted(verdict.slices, key=lambda s: (_SLICE_ORDER.get(s.verdict, 3), s.pass_rate or 0.0)))
        own = {field.name: getattr(verdict, field.name) for field in fields(SuiteVerdict)}
        return cls(**{**own, "slices": ordered}, merge=merge, cost=cost)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def complete(self) -> bool:
        """Every case of the suite ran: this run can serve as a complete baseline."""
        return self.cases_run >= self.cases_total and not self.selected and self.verdict != "SKIPPED"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def calls_saved(self) -> CallsSaved:
        """Model calls this run did not make, by reason."""
        return CallsSaved(cache=self.cache_hits, sampling=self.saved_by_sampling, early_stop=self.saved_by_early_stop)


_SLICE_ORDER = {"FAIL": 0, "UNDECIDED": 1, "PASS": 2}
"""Slices in a report: failing first, then unsettled, then passing, then not gated."""


class PlanReport(_Model):
    """The change plan that chose the run's tiers (``--eval-tier=auto``)."""

    change: str
    """none, minor, targeted or major."""
    tier: str | None
    base: str | None
    head: str | None
    reasons: list[str]
    """Why, in reading order (untrusted: they quote file names)."""


class ResultsDocument(_Model):
    """The whole results.json."""

    schema_version: int
    evalgate_version: str
    tier: str
    """The tier label of the run (a tier name, or ``auto (<change> change)``)."""
    shard: str | None
    """``K/N`` when this is one shard's partial report."""
    suites: list[SuiteReport]
    cases: list[CaseResult]
    plan: PlanReport | None = None
    """The change plan, when the run planned (``--eval-tier=auto``)."""


def read_document(source: Path) -> ResultsDocument:
    """The results.json in ``source`` (a report folder or the file), validated; a
    ConfigError naming the file and the first problem otherwise."""
    path = source / "results.json" if source.is_dir() else source
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no results.json here; pass a folder written by --eval-report", path=path) from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ConfigError(f"{path}: not a readable JSON file ({one_line(str(err), limit=200)})", path=path) from None
    except RecursionError:
        raise ConfigError(f"{path}: not a readable JSON file (nested too deeply); use the file --eval-report writes", path=path) from None
    if not isinstance(data, dict) or "schema_version" not in data:
        raise ConfigError(f"{path}: not an evalgate results.json (no schema_version); use the file --eval-report writes", path=path)
    if data["schema_version"] != SCHEMA_VERSION:
        writer = data.get("evalgate_version", "an unknown version")
        raise ConfigError(
            f"{path}: results.json schema {data['schema_version']!r} (written by evalgate {writer}); this "
            f"evalgate reads schema {SCHEMA_VERSION}: re-run that evaluation with this version",
            path=path,
        )
    try:
        return ResultsDocument.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(
            f"{path}: not an evalgate results.json: '{where}': {first['msg']}"
            + (f" (and {err.error_count() - 1} more problem(s))" if err.error_count() > 1 else ""),
            path=path,
        ) from None


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of results.json: the file as written (derived fields
    included), every field described by the docstring under it in the source."""
    schema = ResultsDocument.model_json_schema(mode="serialization")
    _describe_fields(schema)
    schema["$id"] = "https://github.com/evalgate/evalgate/docs/results.schema.json"
    schema["title"] = f"evalgate results.json (schema_version {SCHEMA_VERSION})"
    return schema


def _describe_fields(schema: dict[str, Any]) -> None:
    """Descriptions for every class results.json is made of — the document's own models, the
    dataclasses (the verdict's types, case results) and config models (a suite's gate) —
    from the docstring under each field, read from the source only here: pydantic's
    ``use_attribute_docstrings`` would parse every class's source at import, paid by every
    run and every ``evalgate plan``. A derived field is described by its property's docstring."""
    from evalgate.config_errors import field_doc

    classes = _classes_in(ResultsDocument)
    for name, definition in [(ResultsDocument.__name__, schema), *schema.get("$defs", {}).items()]:
        owner = classes.get(name)
        if owner is None:
            continue
        for field, prop in definition.get("properties", {}).items():
            derived = getattr(owner, field, None)
            doc = field_doc(owner, field) or (inspect.getdoc(derived) if isinstance(derived, property) else None)
            if doc and "description" not in prop:
                prop["description"] = inspect.cleandoc(doc)


def _classes_in(root: type) -> dict[str, type]:
    """Every class reachable from ``root``'s field types (derived fields' too), by name."""
    found: dict[str, type] = {}
    pending: list[Any] = [root]
    while pending:
        hint = pending.pop()
        if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or issubclass(hint, BaseModel)):
            if hint.__name__ in found:
                continue
            found[hint.__name__] = hint
            pending.extend(typing.get_type_hints(hint).values())
            pending.extend(_derived_types(hint))
        pending.extend(typing.get_args(hint))
    return found


def _derived_types(owner: type) -> list[Any]:
    """The return types of ``owner``'s derived fields (``computed_field`` properties)."""
    found = []
    for value in list(vars(owner).values()):
        wrapped = getattr(value, "wrapped", value)  # pydantic keeps the decorated property here
        if isinstance(wrapped, property) and wrapped.fget is not None:
            found.append(typing.get_type_hints(wrapped.fget).get("return"))
    return found


if __name__ == "__main__":  # python -m evalgate.document > docs/results.schema.json
    sys.stdout.write(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n")
