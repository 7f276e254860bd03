"""Datasets → cases: formats, stable ids, and malformed rows reported with file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalgate.cases import load_cases
from evalgate.config import DatasetConfig
from evalgate.errors import ConfigError, DatasetError


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_jsonl_prompt_messages_expected_and_tags(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "d.jsonl",
        [
            {"id": "a", "input": "Capital of France?", "expected": "Paris", "tags": ["geo", "easy"]},
            {"id": 7, "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]},
        ],
    )
    first, second = load_cases(DatasetConfig(path="d.jsonl"), tmp_path)
    assert (first.id, first.input, first.expected, first.tags) == ("a", "Capital of France?", "Paris", ("geo", "easy"))
    assert first.source == f"{tmp_path / 'd.jsonl'}:1"
    assert second.id == "7" and second.prompt is None and second.expected is None
    assert second.input == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]


def test_csv_with_field_mapping_and_comma_tags(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text('q,a,labels\n"2+2, please",4,"math, easy"\n')
    config = DatasetConfig(path="d.csv", input_field="q", expected_field="a", tags_field="labels")
    (case,) = load_cases(config, tmp_path)
    assert (case.input, case.expected, case.tags) == ("2+2, please", "4", ("math", "easy"))
    assert case.source.endswith("d.csv:2")


def test_generated_ids_are_readable_stable_and_content_sensitive(tmp_path: Path) -> None:
    rows = [{"input": "Janet's ducks lay 16 eggs per day. How many?", "expected": "18"}]
    write_jsonl(tmp_path / "d.jsonl", rows)
    (first,) = load_cases(DatasetConfig(path="d.jsonl"), tmp_path)
    assert first.id.startswith("janet-s-ducks-lay-16-") and len(first.id) == len("janet-s-ducks-lay-16-") + 8
    write_jsonl(tmp_path / "d.jsonl", [{"other": 1, **rows[0]}, {"input": "new", "expected": "x"}])
    assert load_cases(DatasetConfig(path="d.jsonl"), tmp_path)[0].id == first.id
    write_jsonl(tmp_path / "d.jsonl", [{**rows[0], "expected": "19"}])
    assert load_cases(DatasetConfig(path="d.jsonl"), tmp_path)[0].id != first.id


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ('{"input": "a"}\n{"input": \n', 2, "invalid JSON"),
        ('{"input": "a"}\n\n[1, 2]\n', 3, "expected a JSON object, got list"),
        ('{"question": "a"}\n', 1, "row has no 'input' (prompt) and no 'messages' (chat) field; add one"),
        ('{"id": "x", "input": "a"}\n{"id": "x", "input": "b"}\n', 2, "duplicate case id 'x' (first at"),
        ('{"id": "a b", "input": "a"}\n', 1, "contains white space"),
        ('{"messages": [{"role": "user"}]}\n', 1, "messages[0] must be an object with text 'role' and 'content'"),
        ('{"input": "a", "tags": 5}\n', 1, "field 'tags' must be a list of strings"),
        ('{"input": 3}\n', 1, "field 'input' must be text, got int"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    (tmp_path / "d.jsonl").write_text(content)
    with pytest.raises(DatasetError) as info:
        load_cases(DatasetConfig(path="d.jsonl"), tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'd.jsonl'}:{line}: ")
    assert message in str(info.value)


def test_csv_row_with_surplus_cells(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("input,expected\na,b\nc,d,e\n")
    with pytest.raises(DatasetError, match=r"d\.csv:3: more cells than header columns"):
        load_cases(DatasetConfig(path="d.csv"), tmp_path)


def test_missing_file_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"suite.toml: dataset 'nope.jsonl' not found \(looked for .*nope.jsonl\); fix 'dataset' in suite.toml"):
        load_cases(DatasetConfig(path="nope.jsonl"), tmp_path, suite=tmp_path / "suite.toml")
    (tmp_path / "d.txt").write_text("x")
    with pytest.raises(DatasetError, match="name the file .jsonl or .csv, or set format"):
        load_cases(DatasetConfig(path="d.txt"), tmp_path)
    (tmp_path / "d.txt").write_text('{"input": "a"}\n')
    assert len(load_cases(DatasetConfig(path="d.txt", format="jsonl"), tmp_path)) == 1


def test_dotted_fields_reach_into_objects(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", [{"q": {"text": "hi"}, "a": {"value": 3}}])
    (case,) = load_cases(DatasetConfig(path="d.jsonl", input_field="q.text", expected_field="a.value"), tmp_path)
    assert (case.input, case.expected) == ("hi", 3)


def test_an_empty_dataset_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text("\n\n")
    with pytest.raises(DatasetError, match=r"d\.jsonl: the dataset has no cases; add rows"):
        load_cases(DatasetConfig(path="d.jsonl"), tmp_path)
