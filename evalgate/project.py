"""A loaded project: its config, tiers and suites, validated and ready to run.

Loading happens once per process, up front, so every configuration mistake — a bad tier
file, an unknown model name, a malformed dataset row — is reported before any model is
called, as one line naming the file and the fix.
"""

from __future__ import annotations

import importlib.resources
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalgate.cases import Case, load_cases
from evalgate.config import (
    JudgeScorerConfig,
    ModelConfig,
    PriceConfig,
    ProjectConfig,
    RecordedModelConfig,
    ScorerConfig,
    SimilarityScorerConfig,
    SuiteConfig,
    TierConfig,
    find_project_file,
    load_project_config,
    read_toml,
    validate,
)
from evalgate.errors import ConfigError
from evalgate.models.base import ModelAdapter
from evalgate.models.registry import build_adapter
from evalgate.redact import SECRETS
from evalgate.scorers.base import Scorer
from evalgate.scorers.combined import combined_scorer
from evalgate.scorers.judge import Judge
from evalgate.scorers.registry import build_scorer
from evalgate.sources import project_file

ENV_CACHE = "EVALGATE_CACHE"
ENV_STORE_URL = "EVALGATE_STORE_URL"
"""Environment variable that overrides where the result store lives."""


@dataclass
class Suite:
    """A suite with its cases, model adapter and scorer."""

    name: str
    path: Path
    config: SuiteConfig
    model: ModelConfig
    """The resolved model config (a named model, or the suite's inline table)."""
    cases: list[Case]
    adapter: ModelAdapter[Any]
    scorer: Scorer
    parts: tuple[Scorer, ...] = ()
    """The suite's scorers one by one, when it has several (``scorer`` combines them)."""
    judge_price: PriceConfig | None = None
    """The price of the model its ``judge`` scorer calls, for the cost reports."""


@dataclass
class Project:
    """Everything evalgate knows about one project directory."""

    root: Path
    config_path: Path
    config: ProjectConfig
    tiers: dict[str, TierConfig]
    suites: list[Suite] = field(default_factory=list)
    worker: tuple[int, int] | None = None
    """``(index, count)`` when this process is an xdist worker: models share their
    ``concurrency`` with the other workers (:mod:`evalgate.models.sharing`)."""

    def tier(self, name: str) -> TierConfig:
        """The named tier, or a ConfigError listing the known ones."""
        if name not in self.tiers:
            known = ", ".join(sorted(self.tiers))
            raise ConfigError(
                f"unknown tier '{name}'; known tiers: {known} (add {self.config.tiers_dir}/{name}.toml "
                f"to define it)"
            )
        return self.tiers[name]

    def assign_tier(self, tier_name: str) -> dict[str, str | None]:
        """Suite name → ``tier_name`` for the suites the tier selects, None for the rest."""
        selected = {suite.name for suite in self.suites_for(self.tier(tier_name))}
        return {suite.name: tier_name if suite.name in selected else None for suite in self.suites}

    def readiness_problems(self, suites: list[Suite] | None = None) -> list[str]:
        """What would make the first model call fail for the given suites (default: all),
        one line each: a missing API key variable, say."""
        problems: list[str] = []
        for suite in self.suites if suites is None else suites:
            problem = suite.adapter.readiness()
            if problem and f"{suite.path.name}: {problem}" not in problems:
                problems.append(f"{suite.path.name}: {problem}")
        return problems

    def suites_for(self, tier: TierConfig) -> list[Suite]:
        """The suites a tier runs: all, or those sharing one of its concerns."""
        if tier.concerns is None:
            return list(self.suites)
        wanted = set(tier.concerns)
        return [suite for suite in self.suites if wanted & set(suite.config.concerns)]


def cache_path(project: Project) -> Path:
    """Where the project's result cache lives: ``$EVALGATE_CACHE``, else its ``cache`` setting."""
    from_env = os.environ.get(ENV_CACHE, "").strip()
    return Path(from_env).resolve() if from_env else project.root / project.config.cache


def store_url(project: Project) -> str | None:
    """The shared store's URL: ``$EVALGATE_STORE_URL``, else ``[store] url``; None: the file."""
    return os.environ.get(ENV_STORE_URL, "").strip() or project.config.store.url


def discover_project(
    directory: Path, explicit: Path | None = None, fallback: Path | None = None, worker: tuple[int, int] | None = None
) -> Project:
    """Load the project whose config is ``explicit``, or the first found in ``directory``
    and its parents, or in ``fallback`` (pytest's rootdir). Searching from where the command
    was run — not from pytest's rootdir, which a path given as an option's value can move —
    finds the project the user is in."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: config file not found; check --eval-config", path=explicit)
        return load_project(explicit, worker)
    for candidate in (directory, *directory.parents, *([fallback] if fallback else [])):
        found = find_project_file(candidate)
        if found is not None:
            return load_project(found, worker)
    raise ConfigError(
        f"no evalgate config in {directory} or above it: add a [tool.evalgate] table to pyproject.toml "
        f"or create evalgate.toml, or pass --eval-config PATH"
    )


def load_project(config_path: Path, worker: tuple[int, int] | None = None) -> Project:
    """Load config, tiers and every suite (datasets, adapters, scorers) of a project; in an
    xdist ``worker`` (index, count), with the models' concurrency shared."""
    config_path = config_path.resolve()
    root = config_path.parent
    config = load_project_config(config_path)
    # Every configured secret is known before anything could print or store it.
    SECRETS.add_environment(name for model in config.models.values() for name in model.secret_variables)
    project = Project(root, config_path, config, load_tiers(root / config.tiers_dir), worker=worker)
    suite_files = _suite_files(root, config)
    if not suite_files:
        raise ConfigError(
            f"{config_path}: no suite files match {config.suites} (relative to {root}); "
            f"add a suite such as evals/qa.toml or fix 'suites'",
            path=config_path,
        )
    names: dict[str, Path] = {}
    for path in suite_files:
        suite = load_suite(path, project)
        if suite.name in names:
            raise ConfigError(
                f"{path}: suite name '{suite.name}' is already used by {names[suite.name]}; "
                f"give each suite a distinct 'name'",
                path=path,
            )
        names[suite.name] = path
        project.suites.append(suite)
    return project


def load_suite(path: Path, project: Project) -> Suite:
    """Load one suite file and everything it refers to."""
    config = validate(SuiteConfig, read_toml(path), path)
    model = _resolve_model(config.model, project, path)
    SECRETS.add_environment(model.secret_variables)
    allow_outside = project.config.allow_outside_project
    cases = load_cases(config.dataset, project.root, allow_outside, suite=path)
    if isinstance(model, RecordedModelConfig):
        project_file(project.root, model.path, "recorded outputs", allow_outside)
    adapter = build_adapter(model, project.root, project.worker)
    if isinstance(config.scorer, list):
        if not config.scorer:
            raise ConfigError(f"{path}: 'scorer' is an empty list; give at least one scorer", path=path)
        parts = [build_scorer(each, project.root, _judge(each, project, path)) for each in config.scorer]
        scorer = parts[0] if len(parts) == 1 else combined_scorer(parts, config.combine)
    else:
        scorer = build_scorer(config.scorer, project.root, _judge(config.scorer, project, path))
        parts = [scorer]
    if scorer.needs_expected:
        missing = next((case for case in cases if case.expected is None), None)
        if missing is not None:
            raise ConfigError(
                f"{missing.source}: no '{config.dataset.expected_field}' value, which the "
                f"{scorer.name} scorer needs; add it to the row or set expected_field in [dataset]",
                path=path,
            )
    scorers = config.scorer if isinstance(config.scorer, list) else [config.scorer]
    judged = next((each for each in scorers if isinstance(each, JudgeScorerConfig)), None)
    judge_price = _resolve_model(judged.model, project, path).price if judged is not None else None
    return Suite(config.name or suite_name(path), path, config, model, cases, adapter, scorer, tuple(parts), judge_price)


def suite_name(path: Path) -> str:
    """The default name of a suite: its file's stem, with every character a suite name cannot
    hold (``name`` in the file allows ``A-Z a-z 0-9 _ . -``) replaced by ``_``. A file name is
    the repository's data: a line break, a ``::`` or an ``@`` in it must not become a log line,
    a node id separator or a mention wherever the name is shown."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem) or "_"


def load_tiers(directory: Path) -> dict[str, TierConfig]:
    """Built-in tiers, overridden and extended by ``<directory>/*.toml``."""
    tiers: dict[str, TierConfig] = {}
    builtin = importlib.resources.files("evalgate.default_tiers")
    for resource in sorted(builtin.iterdir(), key=lambda item: item.name):
        if resource.name.endswith(".toml"):
            with importlib.resources.as_file(resource) as path:
                tiers[path.stem] = validate(TierConfig, read_toml(path), path)
    if directory.is_dir():
        for path in sorted(directory.glob("*.toml")):
            tiers[path.stem] = validate(TierConfig, read_toml(path), path)
    return tiers


def _judge(scorer: ScorerConfig, project: Project, path: Path) -> Judge | None:
    """The model a ``judge`` or ``similarity`` scorer calls, built like any model (its own
    concurrency, retries and API key): asked with the case as chat messages, or for
    embeddings."""
    if not isinstance(scorer, JudgeScorerConfig | SimilarityScorerConfig):
        return None
    config = _resolve_model(scorer.model, project, path)
    SECRETS.add_environment(config.secret_variables)
    adapter = build_adapter(config, project.root, project.worker)

    def ask(messages: tuple[tuple[str, str], ...]) -> tuple[str, dict[str, int] | None]:
        output = adapter.generate(Case(id="judge", prompt=None, messages=messages, expected=None, tags=(), source=str(path)))
        return output.text, output.usage

    return Judge(ask, adapter.fingerprint(), project.config.allow_outside_project, adapter.embed if adapter.can_embed else None,
                 adapter.code())


def _resolve_model(model: str | ModelConfig, project: Project, path: Path) -> ModelConfig:
    if not isinstance(model, str):
        return model
    if model not in project.config.models:
        known = ", ".join(sorted(project.config.models)) or "none defined"
        table = "tool.evalgate.models" if project.config_path.name == "pyproject.toml" else "models"
        raise ConfigError(
            f"{path}: model '{model}' is not defined; add [{table}.{model}] to {project.config_path.name} "
            f"(known: {known}) or write the model inline as a [model] table",
            path=path,
        )
    return project.config.models[model]


def _suite_files(root: Path, config: ProjectConfig) -> list[Path]:
    found: set[Path] = set()
    for pattern in config.suites:
        found.update(path.resolve() for path in root.glob(pattern) if path.is_file())
    return sorted(found)
