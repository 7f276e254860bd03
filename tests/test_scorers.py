"""Built-in and custom scorers on real outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import make_case

from evalgate.cases import Case
from evalgate.config import (
    ContainsScorerConfig,
    CustomScorerConfig,
    ExactScorerConfig,
    JsonScorerConfig,
    NumericScorerConfig,
    RegexScorerConfig,
)
from evalgate.errors import ScorerError
from evalgate.scorers.builtin import final_number
from evalgate.scorers.registry import build_scorer


def case(expected: Any) -> Case:
    return make_case(expected=expected)


def test_exact_normalises_case_and_whitespace(tmp_path: Path) -> None:
    scorer = build_scorer(ExactScorerConfig(kind="exact"), tmp_path)
    assert scorer.score("  Paris \n", case("paris")).passed
    assert scorer.score("Paris   is", case("paris is")).passed
    miss = scorer.score("Lyon", case("Paris"))
    assert (miss.value, miss.passed, miss.explanation) == (0.0, False, "expected 'paris', got 'lyon'")
    strict = build_scorer(ExactScorerConfig(kind="exact", case_sensitive=True), tmp_path)
    assert not strict.score("paris", case("Paris")).passed
    punct = build_scorer(ExactScorerConfig(kind="exact", ignore_punctuation=True), tmp_path)
    assert punct.score("Paris.", case("paris!")).passed


def test_contains_any_of_a_list(tmp_path: Path) -> None:
    scorer = build_scorer(ContainsScorerConfig(kind="contains"), tmp_path)
    assert scorer.score("The capital is PARIS.", case("Paris")).passed
    assert scorer.score("It is Lutetia", case(["Paris", "Lutetia"])).explanation == "contains 'Lutetia'"
    assert not scorer.score("Lyon", case(["Paris", "Lutetia"])).passed


def test_regex_with_pattern_or_expected(tmp_path: Path) -> None:
    fixed = build_scorer(RegexScorerConfig(kind="regex", pattern=r"\bI can(no|')t help\b", ignore_case=True), tmp_path)
    assert fixed.score("Sorry, i can't help with that.", case(None)).passed
    assert not fixed.score("Sure! Here is how.", case(None)).passed
    per_case = build_scorer(RegexScorerConfig(kind="regex", fullmatch=True), tmp_path)
    assert per_case.score(" 2024-01-05 ", case(r"\d{4}-\d{2}-\d{2}")).passed
    assert not per_case.score("on 2024-01-05", case(r"\d{4}-\d{2}-\d{2}")).passed
    with pytest.raises(ScorerError, match="not a valid regex"):
        per_case.score("x", case("("))


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("She makes 9 * 2 = $<<9*2=18>>18 every day.\nA: 18", 18.0),
        ("Total: $1,234.50", 1234.5),
        ("the change is -3 degrees", -3.0),
        ("about .5 of it", 0.5),
        ("no digits here", None),
    ],
)
def test_final_number(text: str, number: float | None) -> None:
    assert final_number(text) == number


def test_numeric_with_tolerances(tmp_path: Path) -> None:
    scorer = build_scorer(NumericScorerConfig(kind="numeric"), tmp_path)
    assert scorer.score("so the answer is 18.", case("... A: 18")).passed
    assert scorer.score("42", case(42)).passed
    wrong = scorer.score("A: 26", case("A: 18"))
    assert (wrong.passed, wrong.explanation) == (False, "expected 18, got 26")
    assert "output has no number" in scorer.score("I don't know", case(18)).explanation
    loose = build_scorer(NumericScorerConfig(kind="numeric", relative_tolerance=0.01), tmp_path)
    assert loose.score("100.9", case(100)).passed and not loose.score("102", case(100)).passed
    with pytest.raises(ScorerError, match="expected value has no number"):
        scorer.score("1", case("none"))


def test_json_validity_field_and_code_fences(tmp_path: Path) -> None:
    valid = build_scorer(JsonScorerConfig(kind="json"), tmp_path)
    assert valid.score('{"a": 1}', case(None)).passed
    assert not valid.score("{a: 1}", case(None)).passed
    field = build_scorer(JsonScorerConfig(kind="json", field="answer.city"), tmp_path)
    assert field.score('```json\n{"answer": {"city": "Paris"}}\n```', case("Paris")).passed
    miss = field.score('{"answer": {"city": "Lyon"}}', case("Paris"))
    assert (miss.passed, miss.explanation) == (False, "answer.city: expected '\"Paris\"', got '\"Lyon\"'")
    assert field.score('{"answer": {}}', case("Paris")).explanation == "JSON has no field 'answer.city'"
    fixed = build_scorer(JsonScorerConfig(kind="json", field="ok", value=True), tmp_path)
    assert fixed.score('{"ok": true}', case(None)).passed
    whole = build_scorer(JsonScorerConfig(kind="json"), tmp_path)
    assert whole.score('[1, 2]', case([1, 2])).passed and not whole.score("[2]", case([1, 2])).passed


def test_needs_expected_is_an_error_not_a_pass(tmp_path: Path) -> None:
    scorer = build_scorer(ExactScorerConfig(kind="exact"), tmp_path)
    with pytest.raises(ScorerError, match="has no expected value"):
        scorer.score("x", case(None))


CUSTOM = '''
from evalgate import Score

def length(output, case, limit=10):
    return len(output) <= limit

def partial(output, case):
    return 0.5, "half right"

def full(output, case):
    return Score(1.0, True, "custom score object")

def broken(output, case):
    return "yes"

def crashing(output, case):
    raise KeyError("oops")
'''


def test_custom_scorers_accept_bool_number_tuple_and_score(tmp_path: Path) -> None:
    (tmp_path / "my_scorers.py").write_text(CUSTOM)
    length = build_scorer(CustomScorerConfig(kind="custom", function="my_scorers:length", params={"limit": 3}), tmp_path)
    assert length.score("abc", case(None)).passed and not length.score("abcd", case(None)).passed
    partial = build_scorer(CustomScorerConfig(kind="custom", function="my_scorers:partial"), tmp_path)
    assert partial.score("x", case(None)) .__dict__ == {"value": 0.5, "passed": False, "explanation": "half right", "usage": None, "parts": None}
    lenient = build_scorer(CustomScorerConfig(kind="custom", function="my_scorers:partial", min_score=0.5), tmp_path)
    assert lenient.score("x", case(None)).passed
    full = build_scorer(CustomScorerConfig(kind="custom", function="my_scorers:full"), tmp_path)
    assert full.score("x", case(None)).explanation == "custom score object"
    broken = build_scorer(CustomScorerConfig(kind="custom", function="my_scorers:broken"), tmp_path)
    with pytest.raises(ScorerError, match="returned 'yes'; return a bool, a number in"):
        broken.score("x", case(None))
    crashing = build_scorer(CustomScorerConfig(kind="custom", function="my_scorers:crashing"), tmp_path)
    with pytest.raises(ScorerError, match="raised KeyError"):
        crashing.score("x", case(None))


def test_scorer_fingerprint_changes_with_params_and_source(tmp_path: Path) -> None:
    a = build_scorer(NumericScorerConfig(kind="numeric"), tmp_path).fingerprint()
    b = build_scorer(NumericScorerConfig(kind="numeric", tolerance=0.5), tmp_path).fingerprint()
    assert a != b and a["name"] == "numeric" and a["version"] == "1"
