"""Several scorers on one suite — a format check *and* a judge — decide a case together.

``all`` (the default) passes a case only when every scorer passes it; ``weighted`` passes it
when the weighted mean of their scores reaches ``min_score``. Every scorer's verdict is kept
(``scores`` per case, and the explanation names each), and a scorer that errors makes the
case errored: a part that could not be scored never counts as passed.
"""

from __future__ import annotations

from collections.abc import Sequence

from evalgate.cases import Case
from evalgate.config import CombineConfig
from evalgate.errors import ConfigError
from evalgate.scorers.base import Score, Scorer


def combined_scorer(scorers: Sequence[Scorer], combine: CombineConfig) -> Scorer:
    """One scorer that runs ``scorers`` in order and combines them by ``combine``."""
    weights = combine.weights or [1.0] * len(scorers)
    if len(weights) != len(scorers) or sum(weights) <= 0:
        raise ConfigError(
            f"combine.weights has {len(weights)} weight(s) for {len(scorers)} scorer(s); give one positive "
            "weight per scorer, in order"
        )
    names = _names([scorer.name for scorer in scorers])

    def score(output: str, case: Case) -> Score:
        parts = [scorer.score(output, case) for scorer in scorers]  # a ScorerError errors the case
        usage: dict[str, int] = {}  # the judges' tokens, summed
        for part in parts:
            for key, count in (part.usage or {}).items():
                usage[key] = usage.get(key, 0) + count
        if combine.rule == "all":
            value, passed = sum(p.value for p in parts) / len(parts), all(p.passed for p in parts)
        else:
            value = sum(w * p.value for w, p in zip(weights, parts, strict=True)) / sum(weights)
            passed = value >= combine.min_score
        explanation = "; ".join(
            f"{name}: {'pass' if part.passed else 'fail'} {part.value:.2f} ({part.explanation})" for name, part in zip(names, parts, strict=True)
        )
        return Score(value, passed, explanation, usage or None, dict(zip(names, (p.value for p in parts), strict=True)))

    params = {"rule": combine.rule, "weights": weights, "min_score": combine.min_score,
              "scorers": [scorer.fingerprint() for scorer in scorers]}
    files = tuple(path for scorer in scorers for path in scorer.files)
    needs_expected = any(scorer.needs_expected for scorer in scorers)
    return Scorer("+".join(names), "1", params, needs_expected, score, files,
                  code=tuple(spec for part in scorers for spec in part.code))


def _names(names: list[str]) -> list[str]:
    """Scorer names, numbered when one kind appears twice (``judge``, ``judge#2``)."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return unique
