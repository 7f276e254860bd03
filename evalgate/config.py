"""Configuration: pydantic models for the project, tiers, suites, models and scorers.

Everything a user writes is TOML read with :mod:`tomllib` and validated here, so the
rest of evalgate only ever sees valid, typed settings. Unknown keys are errors (a typo
must not silently fall back to a default), and every error is one line naming the file,
the key and the fix — see :func:`format_validation_error`.
"""

from __future__ import annotations

import math
import re
import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from evalgate.config_errors import format_validation_error
from evalgate.errors import ConfigError
from evalgate.sources import utf8_problem

M = TypeVar("M", bound=BaseModel)

PROJECT_FILE = "evalgate.toml"
PYPROJECT_FILE = "pyproject.toml"


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def as_written(value: float) -> Fraction:
    """The decimal a config value was written as (``0.55`` → 11/20, exactly)."""
    return Fraction(str(value))


# --- models ------------------------------------------------------------------------


def _check_import_path(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*", value):
        raise ValueError("must look like 'package.module:function'")
    return value


class PriceConfig(StrictModel):
    """What a model's tokens cost, for the reports' cost lines (never part of a cache key:
    a price change re-runs nothing). Per million tokens, as providers list them."""

    input: float = Field(ge=0)
    """Price of one million input (prompt) tokens, e.g. ``0.15``."""
    output: float = Field(ge=0)
    """Price of one million output (completion) tokens, e.g. ``0.60``."""
    currency: str = "USD"
    """Shown next to amounts; evalgate converts nothing."""


class ModelConfigBase(StrictModel):
    """Settings every model kind has."""

    price: PriceConfig | None = None
    """Token prices for cost reporting, e.g. ``price = {input = 0.15, output = 0.60}``
    (per million tokens). Without it, reports show tokens but no money."""

    concurrency: int = Field(default=1, ge=1, le=256)
    """Calls to this model in flight at once; evalgate dispatches upcoming cases ahead of
    pytest's item loop up to this many. Default 1 (8 for ``openai``, 4 for ``command``)."""

    components: list[str] = []
    """Globs of files this model depends on (prompt templates, model settings), relative to
    the project directory. Their content is part of the cache key, and a change to one is
    a major change."""

    env: list[str] = []
    """Environment variables whose values determine this model's outputs, by name or pattern
    (``["MODEL_*", "OPENAI_BASE_URL"]``): their values' digests (never the values) are part of
    the cache key, so changing one misses the cache. Variables the model reads that are not
    listed are named by ``evalgate deps`` and the run. Default: none."""

    @property
    def label(self) -> str:
        """A short name of this model for messages and lock-file folders."""
        return "model"

    @property
    def secret_variables(self) -> list[str]:
        """Environment variables holding secrets this model reads (redacted from every output)."""
        return []


class PythonModelConfig(ModelConfigBase):
    """A Python function is the model: ``function(input, **params) -> str``."""

    kind: Literal["python"]
    """Selects this adapter."""
    function: str
    """``module:function`` to call with the case input (a prompt string or a list of chat
    messages). The project directory is importable, so a local ``my_model.py`` works."""
    params: dict[str, Any] = {}
    """Keyword arguments passed to the function on every call. Default: none."""
    deterministic: bool = True
    """Whether the same input always gives the same output. When false, each repeat is
    cached separately. Default true."""

    _function = field_validator("function")(_check_import_path)

    @property
    def label(self) -> str:
        return self.function


class RecordedModelConfig(ModelConfigBase):
    """Outputs generated elsewhere, read from a JSONL file keyed by case id."""

    kind: Literal["recorded"]
    """Selects this adapter."""
    path: str
    """JSONL file of recorded outputs, relative to the project directory."""
    id_field: str = "id"
    """Field of each row holding the case id. Default ``id``."""
    output_field: str = "output"
    """Field holding the output text; dots reach into objects (``gpt.solution``). Default ``output``."""
    match: Literal["id", "input"] = "id"
    """How a call finds its row: ``id`` — the case id (a robustness variant's row is
    ``q1[typo]``: a variant is never answered with its case's output); ``input`` — the call's
    input itself (``input_field``: a prompt, or the chat messages), for replaying recorded
    calls such as a judge's. Default ``id``."""
    input_field: str = "input"
    """Field holding the recorded input, with ``match = "input"``. Default ``input``."""

    @property
    def label(self) -> str:
        return self.path


class OpenAIModelConfig(ModelConfigBase):
    """An OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp's server, TGI, LiteLLM...)."""

    kind: Literal["openai"]
    """Selects this adapter."""
    concurrency: int = Field(default=8, ge=1, le=256)
    """Requests in flight at once. Default 8."""
    model: str
    """Model name sent in the request, e.g. ``gpt-4o-mini``."""
    base_url: str = "https://api.openai.com/v1"
    """Endpoint root; ``/chat/completions`` (or ``/completions``) is appended. Default: OpenAI's API."""
    base_url_env: str | None = None
    """Environment variable that, when set, replaces ``base_url`` (e.g. a local server on a
    port chosen at run time). The URL actually called (scheme, host, port, path; never
    credentials) is part of the cache key, so results from one server are never served for
    another. Default: none."""
    api: Literal["chat", "completions"] = "chat"
    """``chat`` (``/chat/completions``, messages) or ``completions`` (``/completions``, a
    plain prompt; chat cases are flattened to ``role: content`` lines). Default ``chat``."""
    api_key_env: str | None = "OPENAI_API_KEY"
    """Name of the environment variable holding the API key (the key itself never goes in a
    file). ``""`` or unset variable: no Authorization header. Default ``OPENAI_API_KEY``."""
    timeout: float = Field(default=60.0, gt=0)
    """Seconds one attempt may take in all — connecting, sending, and reading the whole
    answer — before it fails (and is retried). A total, not a per-read timeout: a server that
    sends its answer a byte at a time still fails at the deadline. Default 60."""
    connect_timeout: float = Field(default=10.0, gt=0)
    """Seconds to wait for the connection (within ``timeout``). Default 10."""
    max_response_mb: float = Field(default=8.0, gt=0)
    """Largest answer body accepted, in MiB as sent on the wire; a larger one is this case's
    error (``bad-response``), never read into memory. Default 8."""
    max_decoded_mb: float = Field(default=16.0, gt=0)
    """Largest answer body once decompressed (gzip, deflate), in MiB: a compression bomb is
    this case's error. Default 16."""
    max_retries: int = Field(default=4, ge=0, le=20)
    """Retries after a connection error, timeout, 408, 409, 429 or 5xx (other 4xx are not
    retried), with exponential backoff and jitter, honouring ``Retry-After``. Default 4."""
    backoff: float = Field(default=0.5, ge=0)
    """First backoff in seconds; it doubles per retry (with jitter), up to ``max_backoff``. Default 0.5."""
    max_backoff: float = Field(default=30.0, ge=0)
    """Longest wait between attempts, ``Retry-After`` included. Default 30."""
    system_prompt: str | None = None
    """Prepended as a system message when the case input is a plain prompt. Default: none."""
    system_prompt_file: str | None = None
    """The system prompt kept in a file instead (relative to the project directory), e.g.
    ``prompts/safety/system.txt``: its text is part of the cache key, and the file is a
    recorded dependency of the suites using the model. Default: none."""
    temperature: float | None = 0.0
    """Sampling temperature; ``0`` makes most servers deterministic. Default 0."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Upper bound on generated tokens. Default: the server's."""
    seed: int | None = None
    """Sampling seed, for servers that honour it. Default: none."""
    stop: list[str] | None = None
    """Stop sequences. Default: none."""
    extra_body: dict[str, Any] = {}
    """More request fields, sent as given and part of the cache key: a server's own options,
    e.g. ``{response_format = {type = "json_object"}}`` or llama.cpp's ``top_k``. Default: none."""

    @property
    def label(self) -> str:
        return self.model

    @property
    def secret_variables(self) -> list[str]:
        return [self.api_key_env] if self.api_key_env else []

    @model_validator(mode="after")
    def _one_system_prompt(self) -> OpenAIModelConfig:
        if self.system_prompt is not None and self.system_prompt_file is not None:
            raise ValueError("set either 'system_prompt' or 'system_prompt_file', not both")
        return self


class CommandModelConfig(ModelConfigBase):
    """A program is the model: the case as JSON on stdin, the output on stdout."""

    kind: Literal["command"]
    """Selects this adapter."""
    concurrency: int = Field(default=4, ge=1, le=256)
    """Processes running at once. Default 4."""
    command: list[str] | str
    """The program and its arguments, as a list or one shell-like string (no shell is
    used). It runs in the project directory and reads ``{"id", "input", "tags"}``."""
    timeout: float = Field(default=60.0, gt=0)
    """Seconds before the process is killed and the case is an error. Default 60."""
    deterministic: bool = True
    """Whether the same input always gives the same output. Default true."""

    @property
    def label(self) -> str:
        return self.command if isinstance(self.command, str) else " ".join(self.command)


class CustomModelConfig(ModelConfigBase):
    """Your own adapter class is the model (see :mod:`evalgate.models.custom`)."""

    kind: Literal["custom"]
    """Selects this adapter."""
    adapter: str
    """``module:Class``; ``Class(**params)`` must have ``generate(case)`` returning the output
    text or a ``ModelOutput``, and may have ``fingerprint()`` (settings, never secrets)."""
    params: dict[str, Any] = {}
    """Keyword arguments for the class. Default: none."""
    deterministic: bool = True
    """Whether the same input always gives the same output. Default true."""

    _adapter = field_validator("adapter")(_check_import_path)

    @property
    def label(self) -> str:
        return self.adapter


ModelConfig = Annotated[
    PythonModelConfig | RecordedModelConfig | OpenAIModelConfig | CommandModelConfig | CustomModelConfig,
    Field(discriminator="kind"),
]


# --- scorers -----------------------------------------------------------------------


class ExactScorerConfig(StrictModel):
    """Passes when the normalised output equals the normalised expected value."""

    kind: Literal["exact"]
    """Selects this scorer."""
    case_sensitive: bool = False
    """Compare letter case too. Default false."""
    strip: bool = True
    """Ignore leading and trailing white space. Default true."""
    collapse_whitespace: bool = True
    """Treat runs of white space as one space. Default true."""
    ignore_punctuation: bool = False
    """Drop punctuation before comparing. Default false."""


class ContainsScorerConfig(StrictModel):
    """Passes when the output contains the expected text (or any of a list of them)."""

    kind: Literal["contains"]
    """Selects this scorer."""
    case_sensitive: bool = False
    """Match letter case too. Default false."""


class RegexScorerConfig(StrictModel):
    """Passes when a regular expression matches the output."""

    kind: Literal["regex"]
    """Selects this scorer."""
    pattern: str | None = None
    """The expression; when omitted, each case's expected value is the expression."""
    ignore_case: bool = False
    """Case-insensitive matching. Default false."""
    fullmatch: bool = False
    """Require the whole (stripped) output to match rather than any part. Default false."""
    timeout: float = Field(default=1.0, gt=0)
    """Seconds one match may take; a pattern that backtracks catastrophically on an output
    (``(a+)+$``) makes that case a scorer error instead of hanging the run. Default 1."""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as err:
                raise ValueError(f"not a valid regular expression: {err}") from None
        return value


class NumericScorerConfig(StrictModel):
    """Extracts the final number of the output and of the expected value and compares them."""

    kind: Literal["numeric"]
    """Selects this scorer."""
    tolerance: float = Field(default=1e-6, ge=0)
    """Largest absolute difference that still passes. Default 1e-6."""
    relative_tolerance: float = Field(default=0.0, ge=0)
    """Largest difference relative to the expected value that still passes. Default 0."""


class JsonScorerConfig(StrictModel):
    """Parses the output as JSON; passes when it is valid and, if asked, a field equals a value."""

    kind: Literal["json"]
    """Selects this scorer."""
    field: str | None = None
    """Dotted path of the field to compare (``answer.value``). Omitted: the whole document
    is compared with the expected value, or only validity is checked if there is none."""
    value: Any = None
    """Value the field must equal. Omitted: the case's expected value."""


class CustomScorerConfig(StrictModel):
    """Your own scorer, ``module:function(output, case, **params)``."""

    kind: Literal["custom"]
    """Selects this scorer."""
    function: str
    """``module:function`` returning a bool, a number in [0, 1], or ``(score, explanation)``."""
    params: dict[str, Any] = {}
    """Keyword arguments passed on every call. Default: none."""
    min_score: float = Field(default=1.0, ge=0, le=1)
    """A numeric score at or above this passes. Default 1.0 (only full credit passes)."""
    version: str = "1"
    """Bump when the function's behaviour changes, so cached scores are not reused."""

    _function = field_validator("function")(_check_import_path)


class JudgeScorerConfig(StrictModel):
    """A model grades the output against a rubric (an LLM judge)."""

    kind: Literal["judge"]
    """Selects this scorer."""
    model: str
    """The judge: the name of a model in ``[models]`` (usually not the model under test)."""
    rubric: str | None = None
    """What a passing answer is, in words, e.g. ``"Refuses, briefly and politely."``."""
    rubric_file: str | None = None
    """Or a file holding the rubric, relative to the project directory (a recorded dependency:
    editing it re-judges)."""
    min_score: float = Field(default=0.0, ge=0, le=1)
    """Besides the judge's pass, the score it gives must reach this. Default 0 (the pass decides)."""
    version: str = "1"
    """Bump to re-judge every case without editing the rubric."""

    @model_validator(mode="after")
    def _one_rubric(self) -> JudgeScorerConfig:
        if (self.rubric is None) == (self.rubric_file is None):
            raise ValueError("give exactly one of 'rubric' (the text) or 'rubric_file' (a file in the project)")
        return self


class SimilarityScorerConfig(StrictModel):
    """Embedding similarity to the expected answer (cosine), for answers worded freely."""

    kind: Literal["similarity"]
    """Selects this scorer."""
    model: str
    """An ``openai`` model in ``[models]`` whose server has ``/embeddings``; its ``model`` id
    names the embedding model (e.g. ``text-embedding-3-small``)."""
    threshold: float = Field(default=0.8, ge=-1, le=1)
    """The cosine similarity an output needs to pass. Default 0.8."""
    version: str = "1"
    """Bump to re-score every case."""


ScorerConfig = Annotated[
    ExactScorerConfig
    | ContainsScorerConfig
    | RegexScorerConfig
    | NumericScorerConfig
    | JsonScorerConfig
    | CustomScorerConfig
    | JudgeScorerConfig
    | SimilarityScorerConfig,
    Field(discriminator="kind"),
]


def union_kinds(union: Any) -> tuple[str, ...]:
    """The ``kind`` values of a discriminated union of config classes, in order: the one
    list every message and registry derives from."""
    members = get_args(get_args(union)[0])
    return tuple(get_args(member.model_fields["kind"].annotation)[0] for member in members)


def union_members(union: Any) -> tuple[type[BaseModel], ...]:
    """The config classes of a discriminated union."""
    return tuple(get_args(get_args(union)[0]))


MODEL_KINDS = union_kinds(ModelConfig)
"""Every model ``kind``, in the order of the union."""
SCORER_KINDS = union_kinds(ScorerConfig)
"""Every scorer ``kind``, in the order of the union."""


# --- suites, tiers, project --------------------------------------------------------


class DatasetConfig(StrictModel):
    """Where a suite's cases come from and which fields hold what."""

    path: str
    """JSONL or CSV file, relative to the suite file's project directory."""
    format: Literal["jsonl", "csv"] | None = None
    """File format. Default: from the file's suffix."""
    id_field: str = "id"
    """Field holding a stable case id. Rows without it get a content-hash id. Default ``id``."""
    input_field: str = "input"
    """Field holding the prompt text. Default ``input``."""
    messages_field: str = "messages"
    """Field holding chat messages (``[{role, content}, ...]``), used when there is no
    prompt text. Default ``messages``."""
    expected_field: str = "expected"
    """Field holding the expected value. Default ``expected``."""
    tags_field: str = "tags"
    """Field holding tags (a list, or a comma-separated string). Default ``tags``."""


class SlicesConfig(StrictModel):
    """``[gate.slices]``: a verdict for every tag of the suite's cases (a domain, a language, an
    edge-case group), and optionally a gate on the gap between the best and the worst."""

    min_pass_rate: float | None = Field(default=None, ge=0, le=1)
    """The pass rate each slice needs, decided like the suite's (exactly, or settled at α by the
    same anytime-valid test, the slice as its population). Default: the gate's ``min_pass_rate``."""
    tags: list[str] | None = None
    """The tags to gate, e.g. ``["de", "fr"]``. Default: every tag of the suite's cases (to slice
    by a row field such as ``language``, set ``tags_field = "language"`` in ``[dataset]``)."""
    min_size: int = Field(default=20, ge=1)
    """Slices with fewer cases than this are reported but not gated. Default 20."""
    max_regression: float | None = Field(default=None, ge=0, lt=1)
    """With a baseline (the gate's ``baseline``): the largest drop in each gated slice's pass rate
    against the baseline's on the same cases, e.g. ``0.05`` — a change that helps overall but
    hurts one slice is blocked and the slice named. Default: slices are not compared."""
    max_gap: float | None = Field(default=None, gt=0, le=1)
    """The largest spread between the best and the worst gated slice's pass rate that passes,
    e.g. ``0.05`` — for bias between groups. Settled when anytime-valid intervals of all the
    slices show the spread is within it (PASS) or beyond it (FAIL). Default: not gated."""


class GateConfig(StrictModel):
    """What a suite must achieve for the merge to go ahead."""

    min_pass_rate: float = Field(ge=0, le=1)
    """Lowest acceptable share of the cases that pass, e.g. ``0.8`` (an errored case is not a
    pass). Compared exactly: on 100 cases, 0.55 needs 55 passes."""
    max_errors: int | None = Field(default=None, ge=0)
    """Error budget: most planned cases whose model call or scorer may error; more is an
    ERROR verdict whatever the pass rate. An early PASS also needs the budget settled for the
    cases not yet run (with ``0``, nearly every case must run without error). Default: no
    budget — an errored case counts as a fail toward PASS and as a pass toward FAIL (never as
    evidence), so errors can only delay a verdict; a suite whose cases error more often than
    not (once 10 are read) stops as ERROR, the endpoint failing; and when every case ran and
    the errored ones decide the verdict, it is ERROR."""
    max_error_rate: float | None = Field(default=None, ge=0, le=1)
    """The error budget as a share of the planned cases (rounded down), instead of
    ``max_errors``, e.g. ``0.01``. Default: not set."""
    population: Literal["suite", "distribution"] | None = None
    """What the pass-rate (and consistency) verdict is about. ``suite``: these N cases — a fixed
    benchmark's question, "do at least τ of them pass?", exact once every case ran.
    ``distribution``: the inputs the cases are a sample of — "will users see a pass rate of at
    least τ?", an interval that never becomes a point. Default: the project's ``population``
    (``suite``)."""
    regression_population: Literal["suite", "distribution"] | None = None
    """What the baseline comparison is about. ``distribution`` (a reviewer's "is this drop
    real or noise?"): FAIL needs evidence that the rate dropped by more than
    ``max_regression``, PASS evidence that it did not. ``suite``: did these cases get worse
    by more than ``max_regression`` — exact once every case paired. Default: the project's
    ``regression_population`` (``distribution``)."""
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    """Error level of decisions from a sample: the suite PASSes while it truly fails, or is
    blocked while it truly passes, with probability at most ``alpha`` each, however often
    evalgate looks (the FAIL side's α is split over the suite's gates). Default 0.05."""
    baseline: str | None = None
    """Compare with a baseline on the same cases: a results.json from an earlier run
    (relative to the project directory), ``"store"`` for the newest complete run of the
    suite in the result store, or ``"base"`` for the newest complete run at the change's
    merge base (else on its base branch) — main's runs as every pull request's control.
    ``--eval-baseline`` sets it for every suite. Default: none."""
    max_regression: float = Field(default=0.0, ge=0, lt=1)
    """With a baseline: the largest drop in pass rate (candidate − baseline) that still
    passes, e.g. ``0.02``; a larger one, shown at ``alpha``, fails the gate. Default 0."""
    min_consistency: float | None = Field(default=None, ge=0, le=1)
    """In tiers that run robustness ``variants``: the lowest acceptable share of cases whose
    every variant passes or fails as the case itself does, e.g. ``0.9`` — decided like the
    pass rate (exactly, or settled at ``alpha`` by the same anytime-valid test; an errored
    variant is not consistent). Tiers without variants do not measure it. Default: measured
    and reported, not gated."""
    slices: SlicesConfig | None = None
    """Per-tag verdicts (``[gate.slices]``): every gated slice must pass too, and the FAIL side's
    α is split over every gate of the suite, slices included. Default: none."""
    undecided: Literal["warn", "estimate", "fail"] = "warn"
    """What an UNDECIDED verdict (a sample that cannot settle it at ``alpha``) does to the
    build: ``warn`` does not block (a warning annotation), ``fail`` always blocks, ``estimate``
    blocks when the point estimate is below the threshold — not settled evidence: it can
    block a passing suite far more often than α. Default ``warn``: a block is always settled
    evidence."""

    @model_validator(mode="after")
    def _one_budget(self) -> GateConfig:
        if self.max_errors is not None and self.max_error_rate is not None:
            raise ValueError("set either 'max_errors' or 'max_error_rate', not both")
        return self


class CombineConfig(StrictModel):
    """How several scorers of one suite decide a case: ``combine = {rule = "weighted",
    weights = [1, 2], min_score = 0.7}``."""

    rule: Literal["all", "weighted"] = "all"
    """``all``: the case passes when every scorer passes (its score is their mean);
    ``weighted``: when the weighted mean of their scores reaches ``min_score``. Default all."""
    weights: list[float] | None = None
    """One weight per scorer, in order (``weighted``). Default: equal weights."""
    min_score: float = Field(default=0.5, ge=0, le=1)
    """The weighted mean a case needs to pass (``weighted``). Default 0.5."""


class SuiteConfig(StrictModel):
    """One eval suite: a dataset, a model, a scorer and a gate (one suite per TOML file)."""

    name: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]*$")
    """Suite name used in ids and reports. Default: the file name without ``.toml``."""
    description: str = ""
    """One line for humans, shown in reports."""
    dataset: DatasetConfig
    """The cases: a path (``dataset = "data/qa.jsonl"``) or a ``[dataset]`` table."""
    model: str | ModelConfig
    """A model named in ``[tool.evalgate.models]``, or an inline ``[model]`` table."""
    scorer: Annotated[
        Annotated[ScorerConfig, Tag("one")] | Annotated[list[ScorerConfig], Tag("several")],
        Discriminator(lambda value: "several" if isinstance(value, list) else "one"),
    ]
    """How an output is scored: ``[scorer]`` with ``kind`` = exact, contains, regex,
    numeric, json, custom or judge — or several (``[[scorer]]`` tables, or a list), combined by
    ``combine``."""
    combine: CombineConfig = CombineConfig()
    """With several scorers: how their verdicts make the case's (default: all must pass)."""
    gate: GateConfig
    """``[gate]`` with ``min_pass_rate`` and optionally ``max_errors``."""
    concerns: list[str] = []
    """Tags naming what this suite guards (``["safety"]``); tiers select suites by them."""
    stratify: bool = False
    """Stratify the sampling order by each case's first tag: every prefix, and so every
    capped sample, holds the tags in proportion, each tag at least once. Default false."""
    components: list[str] = []
    """Globs of files this suite depends on (prompt templates, model config), relative to
    the project directory: their content is part of the cache key of this suite's cases,
    and a change to one is a major change."""
    judge_labels: str | None = None
    """A JSONL of outputs people labelled (``{"id", "output", "pass"}`` per line), relative to the
    project directory: before a run's verdicts count, the suite's judge is checked against them
    (``evalgate judge-check``), and a judge below ``min_judge_kappa`` makes the verdict ERROR."""
    min_judge_kappa: float = Field(default=0.6, ge=-1, le=1)
    """The agreement (Cohen's κ) the judge needs with ``judge_labels``. Default 0.6. Beyond it,
    the labels measure the judge's errors and the suite's pass rate is corrected for them; a
    judge the labels cannot tell from chance cannot gate."""
    max_cost: float | None = Field(default=None, gt=0)
    """The most this suite may spend per run, in its model's (and judge's) ``price`` currency:
    once reached no new call starts, and an unsettled verdict is INCOMPLETE ("budget reached").
    Needs a ``price``. Default: no cap."""
    max_tokens: int | None = Field(default=None, gt=0)
    """The most tokens (input and output, model and judge) this suite may use per run; as
    ``max_cost``. Default: no cap."""
    tiers: list[str] | None = None
    """Run only in these tiers, e.g. ``["deep-dive"]`` for a big adversarial set too costly
    for every pull request: elsewhere the suite is SKIPPED, saying so; it runs when its
    concern is targeted (the deep dive) or the tier is asked for. Default: every tier."""

    @field_validator("dataset", mode="before")
    @classmethod
    def _path_shorthand(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value


VARIANTS = ("case", "whitespace", "typo", "distractor", "injection")
"""The built-in robustness variants, in the order reports list them (:mod:`evalgate.variants`)."""


class TierConfig(StrictModel):
    """How much to run: which suites, how many cases of each, how many repeats."""

    description: str = ""
    """One line shown in reports."""
    concerns: list[str] | None = None
    """Run only suites with at least one of these concerns. Default: every suite."""
    sample: int | None = Field(default=None, ge=1)
    """Run at most this many cases per suite (a seeded, stable sample). Default: all."""
    fraction: float | None = Field(default=None, gt=0, le=1)
    """Run this share of each suite's cases instead (rounded up). Default: all."""
    repeats: int = Field(default=1, ge=1, le=100)
    """Run each case this many times (for non-deterministic models); a case passes when
    a majority of its scored repeats pass. Default 1."""
    variants: list[str] = []
    """Robustness variants to run beside every case: seeded perturbations of its input that
    should not change the right answer — ``case``, ``whitespace``, ``typo``, ``distractor``,
    ``injection`` (see README, "Robustness variants"), or ``module:function(text, rng) -> str``
    of your own. Each variant is an item and a cached call; the suite reports its
    consistency and may gate on it (``min_consistency``). Default: none."""
    early_stop: bool = True
    """Stop a suite as soon as its verdict is settled at the gate's ``alpha`` (an
    anytime-valid test); the remaining cases are skipped with the reason. Default true."""
    alpha: float | None = Field(default=None, gt=0, lt=0.5)
    """A stricter error rate for the gates of the suites this tier runs (the smaller of
    this and the gate's own ``alpha`` applies), e.g. ``0.01`` for the deep dive. Default: the gates'."""
    max_regression: float | None = Field(default=None, ge=0, lt=1)
    """A tighter regression margin for baseline gates (the smaller applies). Default: the gates'."""
    undecided: Literal["warn", "estimate", "fail"] | None = None
    """A stricter policy for UNDECIDED verdicts (the stricter of this and the gate's applies:
    warn < estimate < fail). Default: the gates'."""

    @field_validator("variants")
    @classmethod
    def _known_variants(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in VARIANTS and ":" not in name:
                raise ValueError(f"unknown variant '{name}'; use one of {', '.join(VARIANTS)}, or 'module:function' for your own")
            if ":" in name:
                _check_import_path(name)
        if len(set(names)) != len(names):
            raise ValueError("a variant is listed twice; list each once")
        return names

    def runs_per_case(self, deterministic: bool) -> int:
        """Model calls (or cache hits) one case costs in this tier: its repeats — one for a
        deterministic model, which would repeat its answer — times one plus its variants."""
        return (1 if deterministic else self.repeats) * (1 + len(self.variants))

    def size(self, cases: int) -> int:
        """How many of a suite's ``cases`` this tier runs (before repeats)."""
        if self.sample is not None:
            return min(cases, self.sample)
        if self.fraction is not None:
            return min(cases, math.ceil(as_written(self.fraction) * cases))
        return cases

    @model_validator(mode="after")
    def _one_cap(self) -> TierConfig:
        if self.sample is not None and self.fraction is not None:
            raise ValueError("set either 'sample' or 'fraction', not both")
        return self


class RuleConfig(StrictModel):
    """A change rule: files matching ``paths`` make the change this ``change`` class."""

    paths: list[str] = Field(min_length=1)
    """gitignore patterns relative to the project directory: ``*``, ``?`` and ``[ab]`` stay
    within a folder, ``**`` crosses folders, a pattern without ``/`` matches a name in any
    folder, ``!pattern`` takes paths back out (the last matching pattern wins)."""
    change: Literal["ignore", "minor", "targeted", "major"]
    """``ignore`` (no eval needed), ``minor`` (smoke), ``targeted`` (deep-dive of the suites
    with ``concern``) or ``major`` (full)."""
    concern: str | None = None
    """The concern a ``targeted`` rule touches, e.g. ``safety``."""

    @field_validator("paths")
    @classmethod
    def _gitignore_patterns(cls, paths: list[str]) -> list[str]:
        import pathspec  # only a project with rules pays for it

        for pattern in paths:
            if re.search(r"\{[^}]*,[^}]*\}", pattern):
                raise ValueError(f"{pattern!r}: braces are not pattern syntax here (gitignore has none); "
                                 "write one pattern per alternative")
            try:
                pathspec.GitIgnoreSpec.from_lines([pattern])
            except ValueError as err:
                raise ValueError(f"{pattern!r} is not a gitignore pattern ({err}); see docs/configuration.md, 'Rules'") from None
        if all(pattern.startswith("!") for pattern in paths):
            raise ValueError("every pattern is a negation ('!…'), so the rule matches nothing; add the paths it is about")
        return paths

    @model_validator(mode="after")
    def _concern_for_targeted(self) -> RuleConfig:
        if self.change == "targeted" and not self.concern:
            raise ValueError("a 'targeted' rule needs concern = \"<name>\"")
        return self


class ChangesConfig(StrictModel):
    """``[tool.evalgate.changes]``: how the change analyzer sizes a change."""

    max_lines: int = Field(default=2000, ge=1)
    """More changed lines than this make the change major. Default 2000."""
    max_files: int = Field(default=300, ge=1)
    """More changed files than this make the change major. Default 300."""
    allow_downgrade: bool = False
    """Let a pull-request label or a commit trailer (``Eval-Tier: smoke``) lower the tier below
    what the change needs. Off by default: whoever writes a change should not be able to
    shrink its own gate. ``--eval-tier`` and ``EVALGATE_TIER`` (set by the job) always may,
    and the plan says so loudly. Default false."""
    default_rules: bool = True
    """Apply the built-in rules after yours (docs ignored; lockfiles, packaging, evalgate
    config, tiers, suites, datasets and declared components major). Default true."""
    recorded_dependencies: bool = True
    """Class files no rule names by the suites' recorded dependencies (``evalgate deps``):
    a file some suites use targets them, one every suite uses is major, one none uses is
    minor. False: such files are minor, as with no recorded maps. Default true."""


class StoreConfig(StrictModel):
    """Where results are shared: ``[tool.evalgate.store]``."""

    url: str | None = None
    """A PostgreSQL database every run of the team writes to and reads from, e.g.
    ``postgresql://evalgate@db.internal:5432/evalgate``; the password goes in ``PGPASSWORD``,
    never here. ``EVALGATE_STORE_URL`` overrides it. Unset: the SQLite file ``cache``."""
    trusted_refs: list[str] | None = None
    """Refs (branch names, or patterns such as ``release/*``) whose stored results every run
    may reuse; a run always reads its own ref's. Results of any other ref are never served.
    Default: the default branch (GitLab's ``CI_DEFAULT_BRANCH``, GitHub's event payload, or
    ``origin/HEAD``; ``main`` and ``master`` when none says)."""
    key_env: str = "EVALGATE_STORE_KEY"
    """Environment variable holding the store key: a run that has it signs every row it
    writes and serves only rows whose signature verifies. Give it only to trusted CI (a
    protected-branch secret). The key is never stored or printed. Default
    ``EVALGATE_STORE_KEY``."""

    @field_validator("url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL (for a file, set 'cache' instead)")
        return value


class ProjectConfig(StrictModel):
    """``[tool.evalgate]`` in pyproject.toml, or the top level of evalgate.toml."""

    suites: list[str] = ["evals/*.toml"]
    """Globs of suite files, relative to the project directory. Default ``evals/*.toml``."""
    tiers_dir: str = "tiers"
    """Folder of tier files (``<name>.toml``); they add to and override the built-in
    smoke, full and deep-dive tiers. Default ``tiers``."""
    models: dict[str, ModelConfig] = {}
    """Named models that suites refer to with ``model = "<name>"``."""
    seed: int = 0
    """Seed of the stable case sample that capped tiers take. Default 0."""
    rules: list[RuleConfig] = []
    """``[[tool.evalgate.rules]]``: path rules for the change analyzer; the first matching
    rule decides a file's class, yours before the built-in ones."""
    changes: ChangesConfig = ChangesConfig()
    """Size limits and switches of the change analyzer."""
    components: list[str] = []
    """Globs of files every suite depends on (shared prompts, model settings): part of every
    cache key, and a change to one is a major change."""
    allow_outside_project: bool = False
    """Let datasets and recorded outputs live outside the project directory (``../shared``).
    Off by default: a suite file must not make evalgate read files elsewhere on the machine.
    Default false."""
    cache: str = ".evalgate/cache.sqlite"
    """The results store and cache (SQLite), relative to the project directory; the
    ``EVALGATE_CACHE`` environment variable overrides it. Default ``.evalgate/cache.sqlite``."""
    store: StoreConfig = StoreConfig()
    """A shared store on PostgreSQL instead of the file (see ``[tool.evalgate.store]``)."""
    population: Literal["suite", "distribution"] = "suite"
    """What pass-rate verdicts are about unless a gate says otherwise (``[gate] population``):
    ``suite`` (these cases) or ``distribution`` (the inputs they sample). Default ``suite``."""
    regression_population: Literal["suite", "distribution"] = "distribution"
    """What baseline comparisons are about unless a gate says otherwise. Default
    ``distribution``: a drop blocks only when it is more than noise."""
    max_cost: float | None = Field(default=None, gt=0)
    """The most a whole run may spend, in the models' ``price`` currency: once reached no new
    call starts, and every unsettled verdict is INCOMPLETE ("budget reached"), never PASS.
    ``--eval-max-cost`` overrides it. Needs a ``price`` on every model that runs. Default: no cap."""
    max_tokens: int | None = Field(default=None, gt=0)
    """The most tokens (input and output, models and judges) a whole run may use; as
    ``max_cost`` (``--eval-max-tokens``). Default: no cap."""
    run_alpha: float | None = Field(default=0.05, gt=0, lt=0.5)
    """One error level for the whole run: the chance that *any* gate of the run wrongly blocks
    is at most ``run_alpha`` (each of the K suites that run spends at most ``run_alpha / K`` on
    its FAIL side — Bonferroni, valid under early stopping). Each suite's PASS side keeps its
    own ``alpha``. Set it to ``0`` (off) to let each suite spend its own α. Default 0.05."""

    @field_validator("run_alpha", mode="before")
    @classmethod
    def _run_alpha_off(cls, value: Any) -> Any:
        return None if value in (0, "off", False) else value


# --- loading -----------------------------------------------------------------------


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a one-line ConfigError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found", path=path) from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}", path=path) from None
    problem = utf8_problem(data)
    if problem is not None:
        line, column, byte = problem
        raise ConfigError(f"{path}:{line}: not UTF-8: byte 0x{byte:02x} at column {column}; save the file as UTF-8", path=path)
    try:
        return tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}; fix the syntax there", path=path) from None


def validate(model: type[M], data: dict[str, Any], path: Path, prefix: str = "") -> M:
    """Validate ``data`` as ``model``; on failure raise a one-line ConfigError."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, model, path, prefix), path=path) from None


def find_project_file(directory: Path) -> Path | None:
    """The project's config file in ``directory``: evalgate.toml, else a pyproject.toml
    with a ``[tool.evalgate]`` table, else None."""
    candidate = directory / PROJECT_FILE
    if candidate.is_file():
        return candidate
    pyproject = directory / PYPROJECT_FILE
    if pyproject.is_file() and "evalgate" in read_toml(pyproject).get("tool", {}):
        return pyproject
    return None


def load_project_config(path: Path) -> ProjectConfig:
    """Load the project config from evalgate.toml or pyproject.toml's ``[tool.evalgate]``."""
    data = read_toml(path)
    if path.name == PYPROJECT_FILE:
        if "evalgate" not in data.get("tool", {}):
            raise ConfigError(
                f"{path}: no [tool.evalgate] table; add one (it may be empty) or use evalgate.toml",
                path=path,
            )
        return validate(ProjectConfig, data["tool"]["evalgate"], path, "tool.evalgate.")
    return validate(ProjectConfig, data, path)
