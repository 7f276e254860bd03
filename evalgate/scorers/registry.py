"""Scorer kinds → scorers: one table, derived from the config union.

A new built-in scorer is a config class in :mod:`evalgate.config` plus one entry here; the
test suite fails if the two disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalgate.config import (
    ContainsScorerConfig,
    CustomScorerConfig,
    ExactScorerConfig,
    JsonScorerConfig,
    JudgeScorerConfig,
    NumericScorerConfig,
    RegexScorerConfig,
    ScorerConfig,
    SimilarityScorerConfig,
)
from evalgate.errors import ConfigError
from evalgate.scorers import builtin
from evalgate.scorers.base import Scorer
from evalgate.scorers.custom import custom_scorer
from evalgate.scorers.judge import Judge, judge_scorer
from evalgate.scorers.similarity import similarity_scorer

Builder = Callable[[Any, Path, "Judge | None"], Scorer]
"""Builds a scorer from its validated config, the project directory and, for a ``judge``
scorer, the judge model (built by the project, which knows the models)."""


def _builtin(name: str, function: Callable[[str, Any, Any], Any], needs_expected: Callable[[Any], bool]) -> Builder:
    def build(config: Any, project_dir: Path, judge: Judge | None) -> Scorer:
        params = config.model_dump(exclude={"kind"})
        return Scorer(name, "1", params, needs_expected(config), lambda out, case: function(out, case, config))

    return build


BUILDERS: dict[type[Any], Builder] = {
    ExactScorerConfig: _builtin("exact", builtin.exact, lambda config: True),
    ContainsScorerConfig: _builtin("contains", builtin.contains, lambda config: True),
    RegexScorerConfig: _builtin("regex", builtin.regex, lambda config: config.pattern is None),
    NumericScorerConfig: _builtin("numeric", builtin.numeric, lambda config: True),
    JsonScorerConfig: _builtin("json", builtin.json_scorer, lambda config: False),
    CustomScorerConfig: lambda config, project_dir, judge: custom_scorer(config, project_dir),
    JudgeScorerConfig: lambda config, project_dir, judge: _judge(config, project_dir, judge),
    SimilarityScorerConfig: lambda config, project_dir, judge: _similarity(config, judge),
}
"""One builder per member of :data:`evalgate.config.ScorerConfig` (a test checks it)."""


def build_scorer(config: ScorerConfig, project_dir: Path, judge: Judge | None = None) -> Scorer:
    """The scorer for a validated scorer config (``judge``: the judge model, for a judge)."""
    return BUILDERS[type(config)](config, project_dir, judge)


def _judge(config: JudgeScorerConfig, project_dir: Path, judge: Judge | None) -> Scorer:
    if judge is None:
        raise ConfigError(f"the judge scorer needs its judge model '{config.model}'; define it in [models]")
    return judge_scorer(config, project_dir, judge)


def _similarity(config: SimilarityScorerConfig, judge: Judge | None) -> Scorer:
    if judge is None or judge.embed is None:
        raise ConfigError(f"the similarity scorer needs '{config.model}' to be an openai model (its server's /embeddings)")
    return similarity_scorer(config, judge.embed, judge.fingerprint)
