"""results.json: the typed document one run writes and another reads.

Written by ``--eval-report`` (and ``evalgate report merge``); read back by ``report
merge`` (shards), ``report github`` (annotations, outputs) and baseline gates. Every
reader goes through :func:`read_document`, which validates against these models, so a
wrong or foreign file is one clear error naming the file and the field — never a
KeyError deep inside. The JSON Schema in ``docs/results.schema.json`` is generated from
these models (``python -m evalgate.document``; a test keeps it current).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from evalgate.config import GateConfig, PriceConfig
from evalgate.errors import ConfigError
from evalgate.results import CaseResult
from evalgate.untrusted import one_line

SCHEMA_VERSION = 2
"""Bumped when a field is renamed or removed, or its meaning changes; readers refuse other
versions with a message saying which evalgate wrote the file."""

VerdictName = Literal["PASS", "FAIL", "UNDECIDED", "ERROR", "INCOMPLETE", "SKIPPED"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


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


class ComparisonReport(_Model):
    """A baseline gate's comparison on the paired cases."""

    pairs: int
    """Cases both runs have, that the comparison read."""
    candidate_rate: float
    baseline_rate: float
    difference: float
    """candidate − baseline pass rate over the paired cases."""
    interval: tuple[float, float]
    """Anytime-valid interval for the difference."""
    max_regression: float
    decision: Literal["PASS", "FAIL"] | None
    """``PASS`` (no regression beyond the margin), ``FAIL`` (a regression beyond it), or
    None (not settled)."""
    decided_at: int | None
    worse: int
    """Cases the baseline passed and the candidate failed."""
    better: int
    """Cases the candidate passed and the baseline failed."""
    mcnemar_p: float
    """Exact McNemar p-value for "no difference at all"."""
    exact: bool
    """Every case of the population paired: the difference is known, not estimated."""
    method: str
    worse_cases: list[str] = []
    """The cases that flipped to failing (the baseline passed them), in sampling order."""
    better_cases: list[str] = []
    """The cases that flipped to passing."""
    source: str = ""
    """Which run the baseline is: a results.json, a store run, or the merge base's run."""


class FlipReport(_Model):
    """A variant whose pass/fail differed from its case's."""

    case: str
    variant: str


class ConsistencyReport(_Model):
    """Consistency under the tier's robustness variants: the share of cases whose every
    variant passes or fails as the case itself does."""

    variants: list[str]
    read: int
    """Cases whose every variant the verdict read."""
    consistent: int
    errors: int
    """Cases where the case or a variant errored (not consistent, not evidence)."""
    rate: float | None
    """``consistent / read``; None when none was read."""
    interval: tuple[float, float]
    """For the share of consistent cases in the population: exact, or anytime-valid."""
    method: str
    threshold: float | None
    """``min_consistency``; None when it is measured, not gated."""
    required: int
    """Consistent cases the population needs (0 when not gated)."""
    decision: Literal["PASS", "FAIL"] | None
    decided_at: int | None
    exact: bool
    flips: list[FlipReport]
    """Each variant that flipped its case's pass/fail, in sampling order."""
    flips_by_variant: dict[str, int]
    """How many cases each variant flipped: which perturbation breaks the model."""


class SliceReport(_Model):
    """One slice (a tag's cases) and its verdict."""

    tag: str
    verdict: Literal["PASS", "FAIL", "UNDECIDED", "not gated"]
    population: int
    """The slice's cases in the verdict's population."""
    gated: bool
    """False when the slice is smaller than ``min_size``: reported, not gated."""
    read: int
    """The slice's cases among those the suite's verdict read."""
    passed: int
    errors: int
    pass_rate: float | None
    required: int
    threshold: float
    interval: tuple[float, float]
    """For the slice's pass rate: exact, or anytime-valid at the slice's share of α."""
    exact: bool
    delta: float | None = None
    """Candidate − baseline pass rate over the slice's paired cases read (``max_regression``)."""
    regression: Literal["PASS", "FAIL"] | None = None
    """The slice's comparison with the baseline: PASS (no regression beyond the margin), FAIL, or None."""


class GapReport(_Model):
    """The spread between the best and the worst gated slice's pass rate (``max_gap``)."""

    max_gap: float
    best: str
    worst: str
    interval: tuple[float, float]
    """For the spread, from the slices' simultaneous intervals (exact when every case ran)."""
    verdict: Literal["PASS", "FAIL", "UNDECIDED"]
    exact: bool


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


class SuiteReport(_Model):
    """One suite's verdict with the numbers behind it."""

    suite: str
    verdict: VerdictName
    reason: str
    """One sentence: why this verdict, with its numbers."""
    population: int
    """How many cases the verdict is about: the suite, or the selected cases."""
    selected: bool
    """The population is a selection (``-k``, ``--lf``), not the whole suite."""
    complete: bool
    """Every case of the suite ran: this run can serve as a complete baseline."""
    exact: bool
    """Every case of the population ran: the verdict is exact, not estimated."""
    counted: int
    """Cases the verdict read, in sampling order (the counts below are over these)."""
    required: int
    """Passes the population needs: the smallest k with k / population ≥ threshold."""
    pass_rate: float | None
    """Share of the counted cases that passed; None when none was counted."""
    interval: tuple[float, float]
    method: str
    """How the interval was computed (exact, or the anytime-valid confidence sequence)."""
    confidence: float
    threshold: float
    passed: int
    scored: int
    errors: int
    max_errors: int | None
    cases_run: int
    cases_planned: int
    cases_total: int
    model_seconds: float
    """Seconds spent in model calls, summed over cases (they overlap when calls run concurrently)."""
    wall_seconds: float | None = None
    """Wall time from the suite's first case starting to its last finishing."""
    alpha: float
    alpha_fail: float
    """The FAIL side's α: the gate's α split over the suite's gates that can FAIL."""
    decided_at: int | None
    """Cases (in sampling order) the decision needed; None when not settled early."""
    blocks_merge: bool
    repeats: int
    cache_hits: int
    """Case runs answered by the cache."""
    model_calls: int
    """Case runs that called the model."""
    calls_saved: CallsSaved
    population_kind: Literal["suite", "distribution"] = "suite"
    """What the pass-rate verdict is about: these cases (``suite``: exact once all ran) or the
    distribution of inputs they sample (``distribution``: an interval, never exact)."""
    regression_kind: Literal["suite", "distribution"] = "distribution"
    """What the baseline comparison is about."""
    calls_after_verdict: int = 0
    """Model calls made for cases beyond the prefix that settled the verdict (in flight or
    dispatched ahead when it settled: the price of concurrency, about twice the model's
    concurrency at most)."""
    more_needed: int | None = None
    """For UNDECIDED: the fewest further cases that could settle it."""
    baseline: ComparisonReport | None = None
    consistency: ConsistencyReport | None = None
    """Consistency under robustness variants, in tiers that run them."""
    slices: list[SliceReport] = []
    """Each slice's verdict (``[gate.slices]``), failing first."""
    gap: GapReport | None = None
    """The gap gate (``max_gap``)."""
    merge: MergeInfo | None = None
    cost: CostReport | None = None
    """Tokens and money; None in files written before evalgate reported them."""
    file: str | None = None
    """The suite's file relative to the project root (annotations point at it)."""
    line: int | None = None
    """The line of the suite's gate in that file, where known."""


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
    """The published JSON Schema of results.json."""
    schema = ResultsDocument.model_json_schema()
    _describe_config_fields(schema)
    schema["$id"] = "https://github.com/evalgate/evalgate/docs/results.schema.json"
    schema["title"] = f"evalgate results.json (schema_version {SCHEMA_VERSION})"
    return schema


def _describe_config_fields(schema: dict[str, Any]) -> None:
    """Config models inside results.json (a suite's gate) keep their field docstrings in the
    source, not in pydantic (so that config's import stays quick): they are added here."""
    import evalgate.config
    from evalgate.config_errors import field_doc

    for name, definition in schema.get("$defs", {}).items():
        model = getattr(evalgate.config, name, None)
        if not (isinstance(model, type) and issubclass(model, evalgate.config.StrictModel)):
            continue
        for field, prop in definition.get("properties", {}).items():
            doc = field_doc(model, field)
            if doc and "description" not in prop:
                prop["description"] = doc


if __name__ == "__main__":  # python -m evalgate.document > docs/results.schema.json
    sys.stdout.write(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n")
