"""Config validation: every error is one line naming the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalgate.config import (
    ProjectConfig,
    SuiteConfig,
    TierConfig,
    find_project_file,
    load_project_config,
    read_toml,
    validate,
)
from evalgate.errors import ConfigError

SUITE = {"dataset": "d.jsonl", "model": "m", "scorer": {"kind": "exact"}, "gate": {"min_pass_rate": 0.5}}


def suite_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "suite.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        validate(SuiteConfig, read_toml(path), path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_unknown_key_suggests_the_right_one_with_line(tmp_path: Path) -> None:
    message = suite_error(
        tmp_path,
        'dataset = "d.jsonl"\nmodel = "m"\n[scorer]\nkind = "exact"\ncase_sensitiv = true\n[gate]\nmin_pass_rate = 0.5\n',
    )
    assert message == (
        f"{tmp_path / 'suite.toml'}:5: unknown key 'scorer.case_sensitiv'; remove it or fix its name "
        "(did you mean 'case_sensitive'? letter case is ignored by default; case_sensitive = true matches it)"
    )


def test_out_of_range_value_says_what_and_why(tmp_path: Path) -> None:
    message = suite_error(tmp_path, 'dataset = "d.jsonl"\nmodel = "m"\nscorer = {kind = "exact"}\n[gate]\nmin_pass_rate = 1.5\n')
    assert ":5: key 'gate.min_pass_rate': Input should be less than or equal to 1 (got 1.5); fix the value" in message
    assert "did you mean" not in message  # 1.5 is no percentage (90 would be: see test_faults)
    assert "(Lowest acceptable share of the cases that pass, e.g. '0.8' (an errored case is not a pass))" in message


def test_missing_key_says_add_it(tmp_path: Path) -> None:
    message = suite_error(tmp_path, 'dataset = "d.jsonl"\nmodel = "m"\nscorer = {kind = "exact"}\n[gate]\n')
    assert "missing required key 'gate.min_pass_rate'; add it" in message


def test_unknown_kind_lists_the_kinds(tmp_path: Path) -> None:
    message = suite_error(tmp_path, 'dataset = "d.jsonl"\nmodel = "m"\nscorer = {kind = "fuzzy"}\ngate = {min_pass_rate = 0.5}\n')
    assert "key 'scorer.kind' is 'fuzzy', not one of 'exact', 'contains', 'regex', 'numeric', 'json', 'custom'" in message


def test_inline_model_errors_point_into_the_table(tmp_path: Path) -> None:
    message = suite_error(
        tmp_path,
        'dataset = "d.jsonl"\nscorer = {kind = "exact"}\ngate = {min_pass_rate = 0.5}\n[model]\nkind = "python"\nfunction = "nocolon"\n',
    )
    assert "key 'model.function': must look like 'package.module:function' (got 'nocolon')" in message


def test_invalid_toml_is_reported_with_position(tmp_path: Path) -> None:
    message = suite_error(tmp_path, "dataset = \n")
    assert message.startswith(f"{tmp_path / 'suite.toml'}: invalid TOML: ")
    assert "line 1" in message and "fix the syntax there" in message


def test_tier_cannot_have_both_caps(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="set either 'sample' or 'fraction', not both"):
        validate(TierConfig, {"sample": 3, "fraction": 0.5}, tmp_path / "t.toml")


def test_dataset_path_shorthand_and_defaults() -> None:
    suite = SuiteConfig.model_validate(SUITE)
    assert suite.dataset.path == "d.jsonl" and suite.dataset.input_field == "input"
    assert suite.gate.max_errors is None and suite.gate.max_error_rate is None  # a budget of 0


def test_every_config_field_is_documented() -> None:
    from evalgate import config
    from evalgate.config_errors import field_doc

    models = [value for value in vars(config).values() if isinstance(value, type) and issubclass(value, config.StrictModel)]
    assert len(models) > 10
    undocumented = [f"{m.__name__}.{name}" for m in models for name in m.model_fields if not field_doc(m, name)]
    assert undocumented == []


def test_project_file_discovery_prefers_evalgate_toml(tmp_path: Path) -> None:
    assert find_project_file(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert find_project_file(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text("[tool.evalgate]\nseed = 3\n")
    assert find_project_file(tmp_path) == tmp_path / "pyproject.toml"
    assert load_project_config(tmp_path / "pyproject.toml") == ProjectConfig(seed=3)
    (tmp_path / "evalgate.toml").write_text("seed = 4\n")
    assert find_project_file(tmp_path) == tmp_path / "evalgate.toml"
    assert load_project_config(tmp_path / "evalgate.toml").seed == 4


def test_pyproject_errors_name_the_full_key(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.evalgate]\nsuite = ['x']\n")
    with pytest.raises(ConfigError, match=r"unknown key 'tool.evalgate.suite'.*did you mean 'suites'"):
        load_project_config(path)


def test_one_registry_per_extension_point() -> None:
    from evalgate.config import MODEL_KINDS, SCORER_KINDS, ModelConfig, ScorerConfig, union_members
    from evalgate.models import registry as models
    from evalgate.scorers import registry as scorers

    assert set(models.BUILDERS) == set(union_members(ModelConfig))
    assert set(scorers.BUILDERS) == set(union_members(ScorerConfig))
    assert {cls.kind for cls in models.BUILDERS.values()} == set(MODEL_KINDS)  # type: ignore[attr-defined]
    assert "command" in MODEL_KINDS and "custom" in MODEL_KINDS and "custom" in SCORER_KINDS
