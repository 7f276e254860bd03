"""Scorers: turn a model output into a score in [0, 1], pass/fail and a short explanation.

Built-in scorers are small pure functions of (output, case). Each has a name and a
version; the version is bumped whenever its behaviour changes, because the result cache
keys on (name, version, params) and must not reuse scores computed by older logic.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
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
from evalgate.errors import ScorerError
from evalgate.models.base import import_function, source_digest
from evalgate.suites import Case, get_field, is_missing

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_SHOWN = 60


@dataclass(frozen=True)
class Score:
    """A scorer's judgement of one output."""

    value: float
    """In [0, 1]."""
    passed: bool
    explanation: str


@dataclass(frozen=True)
class Scorer:
    """A configured scorer: ``score(output, case)`` plus what identifies its behaviour."""

    name: str
    version: str
    params: dict[str, Any]
    needs_expected: bool
    function: Callable[[str, Case], Score]

    def score(self, output: str, case: Case) -> Score:
        """Score one output; a scorer bug or a bad return value is a ScorerError."""
        if self.needs_expected and case.expected is None:
            raise ScorerError(
                f"case {case.id} ({case.source}) has no expected value, which the "
                f"{self.name} scorer needs; add one to the row"
            )
        try:
            return self.function(output, case)
        except ScorerError:
            raise
        except Exception as err:
            raise ScorerError(f"{self.name} scorer raised {type(err).__name__}: {err}") from err

    def fingerprint(self) -> dict[str, Any]:
        """What identifies this scorer's behaviour (for the result cache)."""
        return {"name": self.name, "version": self.version, "params": self.params}


def build_scorer(config: ScorerConfig, project_dir: Path) -> Scorer:
    """The scorer for a validated scorer config."""
    params = config.model_dump(exclude={"kind"})
    if isinstance(config, ExactScorerConfig):
        return Scorer("exact", "1", params, True, lambda out, case: _exact(out, case, config))
    if isinstance(config, ContainsScorerConfig):
        return Scorer("contains", "1", params, True, lambda out, case: _contains(out, case, config))
    if isinstance(config, RegexScorerConfig):
        return Scorer(
            "regex", "1", params, config.pattern is None, lambda out, case: _regex(out, case, config)
        )
    if isinstance(config, NumericScorerConfig):
        return Scorer("numeric", "1", params, True, lambda out, case: _numeric(out, case, config))
    if isinstance(config, JsonScorerConfig):
        return Scorer("json", "1", params, False, lambda out, case: _json(out, case, config))
    if isinstance(config, CustomScorerConfig):
        return _custom(config, project_dir)
    raise TypeError(f"unknown scorer config {config!r}")


# --- built-in scorers --------------------------------------------------------------


def _exact(output: str, case: Case, config: ExactScorerConfig) -> Score:
    got, want = _normalise(output, config), _normalise(str(case.expected), config)
    if got == want:
        return Score(1.0, True, f"matches {_show(want)}")
    return Score(0.0, False, f"expected {_show(want)}, got {_show(got)}")


def _normalise(text: str, config: ExactScorerConfig) -> str:
    if config.ignore_punctuation:
        text = text.translate(str.maketrans("", "", string.punctuation))
    if config.collapse_whitespace:
        text = " ".join(text.split())
    elif config.strip:
        text = text.strip()
    return text if config.case_sensitive else text.casefold()


def _contains(output: str, case: Case, config: ContainsScorerConfig) -> Score:
    wanted = case.expected if isinstance(case.expected, list) else [case.expected]
    haystack = output if config.case_sensitive else output.casefold()
    for item in wanted:
        needle = str(item) if config.case_sensitive else str(item).casefold()
        if needle in haystack:
            return Score(1.0, True, f"contains {_show(str(item))}")
    shown = " or ".join(_show(str(item)) for item in wanted)
    return Score(0.0, False, f"does not contain {shown}; got {_show(output)}")


def _regex(output: str, case: Case, config: RegexScorerConfig) -> Score:
    pattern = config.pattern if config.pattern is not None else str(case.expected)
    try:
        compiled = re.compile(pattern, re.IGNORECASE if config.ignore_case else 0)
    except re.error as err:
        raise ScorerError(f"case {case.id}: expected value is not a valid regex ({err})") from None
    match = compiled.fullmatch(output.strip()) if config.fullmatch else compiled.search(output)
    if match:
        return Score(1.0, True, f"/{pattern}/ matched {_show(match.group(0))}")
    return Score(0.0, False, f"/{pattern}/ did not match {_show(output)}")


def final_number(text: str) -> float | None:
    """The last number in ``text`` (``"$1,234.5"`` → 1234.5), or None.

    The final number is the answer convention of GSM8K-style solutions ("… A: 18").
    """
    found = _NUMBER.findall(text)
    if not found:
        return None
    try:
        return float(found[-1].replace(",", ""))
    except ValueError:
        return None


def _numeric(output: str, case: Case, config: NumericScorerConfig) -> Score:
    want = (
        float(case.expected)
        if isinstance(case.expected, int | float) and not isinstance(case.expected, bool)
        else final_number(str(case.expected))
    )
    if want is None:
        raise ScorerError(f"case {case.id} ({case.source}): expected value has no number")
    got = final_number(output)
    if got is None:
        return Score(0.0, False, f"expected {want:g}, output has no number: {_show(output)}")
    allowed = max(config.tolerance, config.relative_tolerance * abs(want))
    if abs(got - want) <= allowed:
        return Score(1.0, True, f"{got:g} equals {want:g}")
    return Score(0.0, False, f"expected {want:g}, got {got:g}")


def _json(output: str, case: Case, config: JsonScorerConfig) -> Score:
    text = _strip_code_fence(output)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        return Score(0.0, False, f"not valid JSON ({err.msg}): {_show(output)}")
    want = config.value if config.value is not None else case.expected
    if config.field is None:
        if want is None:
            return Score(1.0, True, "valid JSON")
        if document == want:
            return Score(1.0, True, "JSON equals the expected value")
        return Score(0.0, False, f"expected {_show(json.dumps(want))}, got {_show(text)}")
    got = get_field(document, config.field) if isinstance(document, dict) else None
    if got is None or is_missing(got):
        return Score(0.0, False, f"JSON has no field '{config.field}'")
    if want is None or got == want:
        return Score(1.0, True, f"{config.field} = {_show(json.dumps(got))}")
    return Score(
        0.0, False, f"{config.field}: expected {_show(json.dumps(want))}, got {_show(json.dumps(got))}"
    )


def _strip_code_fence(text: str) -> str:
    """Models often wrap JSON in a markdown code fence; look inside it."""
    fenced = re.fullmatch(r"\s*```[a-zA-Z]*\s*\n(.*?)\n?```\s*", text, re.DOTALL)
    return fenced.group(1) if fenced else text


def _custom(config: CustomScorerConfig, project_dir: Path) -> Scorer:
    function = import_function(config.function, project_dir, "custom scorer")
    digest = source_digest(function)

    def score(output: str, case: Case) -> Score:
        return _coerce(function(output, case, **config.params), config)

    params = {**config.params, "min_score": config.min_score, "source": digest}
    return Scorer(config.function, config.version, params, False, score)


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


def _show(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= _SHOWN else flat[: _SHOWN - 1] + "…")
