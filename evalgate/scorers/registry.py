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
    NumericScorerConfig,
    RegexScorerConfig,
    ScorerConfig,
)
from evalgate.scorers import builtin
from evalgate.scorers.base import Scorer
from evalgate.scorers.custom import custom_scorer

Builder = Callable[[Any, Path], Scorer]
"""Builds a scorer from its validated config and the project directory."""


def _builtin(name: str, function: Callable[[str, Any, Any], Any], needs_expected: Callable[[Any], bool]) -> Builder:
    def build(config: Any, project_dir: Path) -> Scorer:
        params = config.model_dump(exclude={"kind"})
        return Scorer(name, "1", params, needs_expected(config), lambda out, case: function(out, case, config))

    return build


BUILDERS: dict[type[Any], Builder] = {
    ExactScorerConfig: _builtin("exact", builtin.exact, lambda config: True),
    ContainsScorerConfig: _builtin("contains", builtin.contains, lambda config: True),
    RegexScorerConfig: _builtin("regex", builtin.regex, lambda config: config.pattern is None),
    NumericScorerConfig: _builtin("numeric", builtin.numeric, lambda config: True),
    JsonScorerConfig: _builtin("json", builtin.json_scorer, lambda config: False),
    CustomScorerConfig: custom_scorer,
}
"""One builder per member of :data:`evalgate.config.ScorerConfig` (a test checks it)."""


def build_scorer(config: ScorerConfig, project_dir: Path) -> Scorer:
    """The scorer for a validated scorer config."""
    return BUILDERS[type(config)](config, project_dir)
