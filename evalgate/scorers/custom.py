"""Your own scorer: ``module:function(output, case, **params)``.

The function may return a bool, a number in [0, 1], ``(number, explanation)`` or a
:class:`~evalgate.scorers.base.Score`. What it executes and reads is recorded as it runs
(:mod:`evalgate.tracing`), so editing it invalidates its cached scores; ``version`` lets you
invalidate them by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalgate.cases import Case
from evalgate.config import CustomScorerConfig
from evalgate.errors import ScorerError
from evalgate.scorers.base import Score, Scorer
from evalgate.sources import import_function


def custom_scorer(config: CustomScorerConfig, project_dir: Path) -> Scorer:
    function = import_function(config.function, project_dir, "custom scorer")

    def score(output: str, case: Case) -> Score:
        return _coerce(function(output, case, **config.params), config)

    params = {**config.params, "min_score": config.min_score}
    return Scorer(config.function, config.version, params, False, score, code=(config.function,))


def _coerce(result: Any, config: CustomScorerConfig) -> Score:
    """Accept bool, number, ``(number, explanation)`` or a Score from a custom scorer."""
    if isinstance(result, Score):
        return result
    explanation = ""
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], str):
        result, explanation = result
    if isinstance(result, bool):
        return Score(float(result), result, explanation or ("passed" if result else "failed"))
    if isinstance(result, int | float) and 0.0 <= float(result) <= 1.0:
        value = float(result)
        passed = value >= config.min_score
        return Score(value, passed, explanation or f"score {value:.3g} (pass at ≥ {config.min_score:g})")
    raise ScorerError(
        f"{config.function} returned {result!r}; return a bool, a number in [0, 1], or "
        f"(number, explanation)"
    )
