"""Built-in scorers: small pure functions of (output, case).

exact, contains, regex, numeric and json. Each returns a :class:`Score` with a short
explanation that a reviewer can read next to the output.
"""

from __future__ import annotations

import json
import re
import string

from evalgate.cases import Case, get_field, is_missing
from evalgate.config import (
    ContainsScorerConfig,
    ExactScorerConfig,
    JsonScorerConfig,
    NumericScorerConfig,
    RegexScorerConfig,
)
from evalgate.errors import ScorerError
from evalgate.scorers.base import Score

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_SHOWN = 60


def exact(output: str, case: Case, config: ExactScorerConfig) -> Score:
    got, want = _normalise(output, config), _normalise(str(case.expected), config)
    if got == want:
        return Score(1.0, True, f"matches {show(want)}")
    return Score(0.0, False, f"expected {show(want)}, got {show(got)}")


def _normalise(text: str, config: ExactScorerConfig) -> str:
    if config.ignore_punctuation:
        text = text.translate(str.maketrans("", "", string.punctuation))
    if config.collapse_whitespace:
        text = " ".join(text.split())
    elif config.strip:
        text = text.strip()
    return text if config.case_sensitive else text.casefold()


def contains(output: str, case: Case, config: ContainsScorerConfig) -> Score:
    wanted = case.expected if isinstance(case.expected, list) else [case.expected]
    haystack = output if config.case_sensitive else output.casefold()
    for item in wanted:
        needle = str(item) if config.case_sensitive else str(item).casefold()
        if needle in haystack:
            return Score(1.0, True, f"contains {show(str(item))}")
    shown = " or ".join(show(str(item)) for item in wanted)
    return Score(0.0, False, f"does not contain {shown}; got {show(output)}")


def regex(output: str, case: Case, config: RegexScorerConfig) -> Score:
    """Python's ``re`` syntax, matched by the ``regex`` engine (mrab-regex, VERSION0: ``re``'s
    semantics) because it can stop a match at a deadline; ``re`` cannot be interrupted, and a
    pattern that backtracks catastrophically on one output would hang the whole run."""
    import regex as engine  # only suites with a regex scorer pay for the import

    pattern = config.pattern if config.pattern is not None else str(case.expected)
    try:
        compiled = engine.compile(pattern, engine.IGNORECASE if config.ignore_case else 0)
    except engine.error as err:
        raise ScorerError(f"case {case.id}: expected value is not a valid regex ({err})") from None
    try:
        if config.fullmatch:
            match = compiled.fullmatch(output.strip(), timeout=config.timeout)
        else:
            match = compiled.search(output, timeout=config.timeout)
    except TimeoutError:
        raise ScorerError(f"/{pattern}/ took more than {config.timeout:g} s on this output (catastrophic backtracking?); "
                          "simplify the pattern or raise the scorer's 'timeout'") from None
    if match:
        return Score(1.0, True, f"/{pattern}/ matched {show(match.group(0))}")
    return Score(0.0, False, f"/{pattern}/ did not match {show(output)}")


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


def numeric(output: str, case: Case, config: NumericScorerConfig) -> Score:
    want = (
        float(case.expected)
        if isinstance(case.expected, int | float) and not isinstance(case.expected, bool)
        else final_number(str(case.expected))
    )
    if want is None:
        raise ScorerError(f"case {case.id} ({case.source}): expected value has no number")
    got = final_number(output)
    if got is None:
        return Score(0.0, False, f"expected {want:g}, output has no number: {show(output)}")
    allowed = max(config.tolerance, config.relative_tolerance * abs(want))
    if abs(got - want) <= allowed:
        return Score(1.0, True, f"{got:g} equals {want:g}")
    return Score(0.0, False, f"expected {want:g}, got {got:g}")


def json_scorer(output: str, case: Case, config: JsonScorerConfig) -> Score:
    text = _strip_code_fence(output)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        return Score(0.0, False, f"not valid JSON ({err.msg}): {show(output)}")
    except (ValueError, RecursionError):
        return Score(0.0, False, f"not JSON evalgate can read (nested too deeply, or a number of more than 4300 digits): {show(output)}")
    want = config.value if config.value is not None else case.expected
    if config.field is None:
        if want is None:
            return Score(1.0, True, "valid JSON")
        if document == want:
            return Score(1.0, True, "JSON equals the expected value")
        return Score(0.0, False, f"expected {show(json.dumps(want))}, got {show(text)}")
    got = get_field(document, config.field) if isinstance(document, dict) else None
    if got is None or is_missing(got):
        return Score(0.0, False, f"JSON has no field '{config.field}'")
    if want is None or got == want:
        return Score(1.0, True, f"{config.field} = {show(json.dumps(got))}")
    return Score(
        0.0, False, f"{config.field}: expected {show(json.dumps(want))}, got {show(json.dumps(got))}"
    )


def _strip_code_fence(text: str) -> str:
    """Models often wrap JSON in a markdown code fence; look inside it."""
    fenced = re.fullmatch(r"\s*```[a-zA-Z]*\s*\n(.*?)\n?```\s*", text, re.DOTALL)
    return fenced.group(1) if fenced else text


def show(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= _SHOWN else flat[: _SHOWN - 1] + "…")
