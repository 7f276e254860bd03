"""Model options that examples lean on: a system prompt kept in a file, server-specific request
fields (``extra_body``), and recorded outputs matched by input (replaying a judge's calls) or
by a variant's own id."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import make_case, write_project
from fake_openai import FakeOpenAI
from test_engine import openai_model

from evalgate.config import OpenAIModelConfig, RecordedModelConfig
from evalgate.errors import ConfigError, ModelError
from evalgate.models.openai import OpenAIModel
from evalgate.models.recorded import RecordedModel


def test_a_system_prompt_file_is_sent_keyed_and_recorded_as_a_dependency(pytester: pytest.Pytester) -> None:
    (pytester.path / "prompts").mkdir()
    (pytester.path / "prompts" / "system.txt").write_text("Answer tersely.")
    with FakeOpenAI() as server:
        write_project(pytester.path, cases=4, model=openai_model(
            server.url, system_prompt_file="prompts/system.txt", extra_body={"top_k": 5, "response_format": {"type": "json_object"}}))
        assert pytester.runpytest("--eval-tier=full").ret == 0
        _, body = server.log[0]
        assert body["messages"][0] == {"role": "system", "content": "Answer tersely."}
        assert body["top_k"] == 5 and body["response_format"] == {"type": "json_object"}
        again = pytester.runpytest("--eval-tier=full")
        again.stdout.fnmatch_lines(["evalgate cache: 4 hit(s), 0 model call(s)*"])
        (pytester.path / "prompts" / "system.txt").write_text("Answer at length.")  # the prompt changed: every case again
        edited = pytester.runpytest("--eval-tier=full")
        edited.stdout.fnmatch_lines(["evalgate cache: 0 hit(s), 4 model call(s)*"])
    deps = pytester.run("evalgate", "deps", "--project", str(pytester.path))
    assert "prompts/system.txt" in deps.stdout.str()


def test_system_prompt_and_its_file_are_exclusive_and_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="either 'system_prompt' or 'system_prompt_file'"):
        OpenAIModelConfig(kind="openai", model="m", system_prompt="a", system_prompt_file="b.txt")
    config = OpenAIModelConfig(kind="openai", model="m", system_prompt_file="prompts/missing.txt")
    with pytest.raises(ConfigError, match=r"cannot read system_prompt_file 'prompts/missing.txt'.*fix the path"):
        OpenAIModel(config, tmp_path)


def test_recorded_calls_replay_by_input_and_variants_need_their_own_rows(tmp_path: Path) -> None:
    judge_call = [{"role": "system", "content": "You are an evaluator."}, {"role": "user", "content": "<<<INPUT x>>>"}]
    (tmp_path / "calls.jsonl").write_text(
        json.dumps({"input": judge_call, "output": '{"pass": true}'}) + "\n" + json.dumps({"input": "q1", "output": "a1"}) + "\n"
    )
    by_input = RecordedModel(RecordedModelConfig(kind="recorded", path="calls.jsonl", match="input"), tmp_path)
    asked = make_case("judge", messages=tuple((m["role"], m["content"]) for m in judge_call))
    assert by_input.generate(asked).text == '{"pass": true}'
    assert by_input.generate(make_case("anything", prompt="q1")).text == "a1"
    with pytest.raises(ModelError, match="no recorded output for this input"):
        by_input.generate(make_case("judge", prompt="q2"))
    (tmp_path / "answers.jsonl").write_text(json.dumps({"id": "c1", "output": "a1"}) + "\n")
    by_id = RecordedModel(RecordedModelConfig(kind="recorded", path="answers.jsonl"), tmp_path)
    typo = make_case("c1", prompt="qq1")
    assert by_id.generate(make_case("c1")).text == "a1"
    with pytest.raises(ModelError, match=r"no recorded output for case 'c1\[typo\]'"):
        by_id.generate(replace(typo, variant="typo"))
