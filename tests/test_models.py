"""Model adapters against real things: a Python module, a JSONL file, a loopback HTTP server."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from conftest import make_case
from fake_openai import FakeOpenAI, answer, send

from evalgate.cases import Case
from evalgate.config import CustomModelConfig, OpenAIModelConfig, PythonModelConfig, RecordedModelConfig
from evalgate.errors import ConfigError, DatasetError, ModelError
from evalgate.models.base import ModelAdapter, ModelOutput
from evalgate.models.registry import build_adapter

SECRET = "sk-test-secret-never-shown"


def case(prompt: str = "Capital of France?", case_id: str = "c1") -> Case:
    return make_case(case_id, prompt, expected="Paris")


# --- python -------------------------------------------------------------------------


def test_python_adapter_calls_the_function_with_params(tmp_path: Path) -> None:
    (tmp_path / "local_model.py").write_text("def reply(prompt, suffix='!'):\n    return prompt.upper() + suffix\n")
    adapter = build_adapter(PythonModelConfig(kind="python", function="local_model:reply", params={"suffix": "?"}), tmp_path)
    assert isinstance(adapter, ModelAdapter)
    assert adapter.generate(case("hi")).text == "HI?"
    assert adapter.fingerprint()["params"] == {"suffix": "?"} and adapter.code() == ("local_model:reply",)


def test_python_adapter_errors_are_model_errors(tmp_path: Path) -> None:
    (tmp_path / "bad_model.py").write_text("def boom(prompt):\n    raise ValueError('nope')\n\ndef number(prompt):\n    return 3\n")
    with pytest.raises(ModelError, match="bad_model:boom raised ValueError: nope"):
        build_adapter(PythonModelConfig(kind="python", function="bad_model:boom"), tmp_path).generate(case())
    with pytest.raises(ModelError, match="returned int; it must return the output text") as info:
        build_adapter(PythonModelConfig(kind="python", function="bad_model:number"), tmp_path).generate(case())
    assert info.value.kind == "bad-response"


def test_python_adapter_import_problems_say_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot import module 'not_there_mod'.*put not_there_mod.py in"):
        build_adapter(PythonModelConfig(kind="python", function="not_there_mod:f"), tmp_path)
    (tmp_path / "empty_mod.py").write_text("x = 1\n")
    with pytest.raises(ConfigError, match=r"module 'empty_mod' \(.*empty_mod.py\) has no attribute 'f'; check the name there"):
        build_adapter(PythonModelConfig(kind="python", function="empty_mod:f"), tmp_path)


# --- custom -----------------------------------------------------------------------------


CUSTOM_ADAPTER = """
from evalgate import ModelOutput


class Shouter:
    def __init__(self, suffix="!"):
        self.suffix = suffix

    def generate(self, case):
        if case.prompt == "boom":
            raise KeyError("no such thing")
        if case.prompt == "usage":
            return ModelOutput(text="u", usage={"prompt_tokens": 2})
        return case.prompt.upper() + self.suffix

    def fingerprint(self):
        return {"suffix": self.suffix}


class NoGenerate:
    pass
"""


def test_custom_adapter_is_a_user_class_behind_the_protocol(tmp_path: Path) -> None:
    (tmp_path / "my_adapter.py").write_text(CUSTOM_ADAPTER)
    config = CustomModelConfig(kind="custom", adapter="my_adapter:Shouter", params={"suffix": "?"}, concurrency=4)
    adapter = build_adapter(config, tmp_path)
    assert isinstance(adapter, ModelAdapter) and adapter.concurrency == 4 and adapter.deterministic
    assert adapter.generate(case("hi")).text == "HI?"
    assert adapter.generate(case("usage")) == ModelOutput(text="u", usage={"prompt_tokens": 2})
    fingerprint = adapter.fingerprint()
    assert fingerprint["settings"] == {"suffix": "?"} and adapter.code() == ("my_adapter:Shouter",)
    with pytest.raises(ModelError, match="my_adapter:Shouter raised KeyError"):
        adapter.generate(case("boom"))


def test_custom_adapter_mistakes_are_config_errors(tmp_path: Path) -> None:
    (tmp_path / "my_adapter2.py").write_text(CUSTOM_ADAPTER)
    with pytest.raises(ConfigError, match="has no generate\\(case\\) method"):
        build_adapter(CustomModelConfig(kind="custom", adapter="my_adapter2:NoGenerate"), tmp_path)
    with pytest.raises(ConfigError, match="could not be created with params \\['colour'\\]: TypeError"):
        build_adapter(CustomModelConfig(kind="custom", adapter="my_adapter2:Shouter", params={"colour": 1}), tmp_path)


# --- recorded ---------------------------------------------------------------------------


def test_recorded_adapter_looks_up_by_case_id(tmp_path: Path) -> None:
    (tmp_path / "out.jsonl").write_text(
        json.dumps({"id": "c1", "gpt": {"solution": "Paris"}}) + "\n" + json.dumps({"id": 2, "gpt": {"solution": "Rome"}}) + "\n"
    )
    config = RecordedModelConfig(kind="recorded", path="out.jsonl", output_field="gpt.solution")
    adapter = build_adapter(config, tmp_path)
    assert adapter.generate(case()).text == "Paris"
    assert adapter.generate(case(case_id="2")).text == "Rome"
    with pytest.raises(ModelError, match="no recorded output for case 'c9'") as info:
        adapter.generate(case(case_id="c9"))
    assert info.value.kind == "missing"
    before = adapter.fingerprint()
    (tmp_path / "out.jsonl").write_text(json.dumps({"id": "c1", "gpt": {"solution": "Lyon"}}) + "\n")
    assert build_adapter(config, tmp_path).fingerprint() != before


def test_recorded_adapter_rejects_malformed_rows_with_line(tmp_path: Path) -> None:
    (tmp_path / "out.jsonl").write_text('{"id": "a", "output": "x"}\n{"id": "b"}\n')
    with pytest.raises(DatasetError, match=r"out\.jsonl:2: no text at 'output'"):
        build_adapter(RecordedModelConfig(kind="recorded", path="out.jsonl"), tmp_path)


# --- openai over real HTTP ---------------------------------------------------------


def paris(handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
    """The scripted answer of these tests: "Paris", with usage."""
    send(handler, 200, json.dumps(answer(handler.path, "Paris", {"prompt_tokens": 7, "completion_tokens": 1})))


@pytest.fixture
def endpoint() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        server.respond = paris
        yield server


def openai(endpoint: FakeOpenAI, tmp_path: Path, **overrides: Any) -> ModelAdapter:
    settings = {
        "kind": "openai", "model": "tiny", "base_url": endpoint.url, "api_key_env": "EVALGATE_TEST_KEY",
        "backoff": 0.01, "max_backoff": 0.05, **overrides,
    }
    return build_adapter(OpenAIModelConfig.model_validate(settings), tmp_path)


def test_openai_request_response_and_key(endpoint: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALGATE_TEST_KEY", SECRET)
    adapter = openai(endpoint, tmp_path, system_prompt="Answer in one word.", max_tokens=5, seed=1)
    output = adapter.generate(case())
    assert output.text == "Paris" and output.usage == {"prompt_tokens": 7, "completion_tokens": 1}
    headers, body = endpoint.log[0]
    assert headers["Authorization"] == f"Bearer {SECRET}"
    assert body == {
        "model": "tiny",
        "messages": [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Capital of France?"}],
        "temperature": 0.0,
        "max_tokens": 5,
        "seed": 1,
    }
    assert adapter.concurrency == 8 and adapter.deterministic
    assert SECRET not in json.dumps(adapter.fingerprint())


def test_openai_sends_chat_messages_as_given(endpoint: FakeOpenAI, tmp_path: Path) -> None:
    chat = Case(id="c", prompt=None, messages=(("system", "s"), ("user", "u")), expected=None, tags=(), source="")
    openai(endpoint, tmp_path, system_prompt="ignored for chats").generate(chat)
    headers, body = endpoint.log[0]
    assert body["messages"] == [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    assert "Authorization" not in headers


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (500, '{"error": "overloaded"}', "http", 'HTTP 500 from http://127.0.0.1:*/v1/chat/completions: "{\\"error\\": \\"overloaded\\"}" (after 5 attempts)'),
        (401, '{"error": "bad key"}', "http", "*check the API key in $EVALGATE_TEST_KEY (after 1 attempt)"),
        (200, "<html>not json</html>", "bad-response", 'response has no choices[[]0].message.content: "<html>not json</html>" (after 1 attempt)'),
        (200, '{"choices": []}', "bad-response", "response has no choices[[]0].message.content*"),
        (200, '{"choices": [{"message": {"content": null}}]}', "bad-response", "choices[[]0].message.content is NoneType*"),
    ],
)
def test_openai_bad_answers_are_model_errors(
    endpoint: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: int, body: str, kind: str, message: str
) -> None:
    import fnmatch

    monkeypatch.setenv("EVALGATE_TEST_KEY", SECRET)
    endpoint.respond = lambda handler, _: send(handler, status, body)
    with pytest.raises(ModelError) as info:
        openai(endpoint, tmp_path).generate(case())
    assert info.value.kind == kind and info.value.status == status
    assert fnmatch.fnmatch(str(info.value), message), str(info.value)
    assert SECRET not in str(info.value)


def test_openai_reads_proxy_settings_once_when_built(endpoint: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pool threads never read os.environ: pytest's thread sets and deletes
    PYTEST_CURRENT_TEST while they run, and iterating it then raised KeyError in a case."""
    import threading

    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    adapter = openai(endpoint, tmp_path, max_retries=0)
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # a dead proxy, set after the build
    outputs: list[Any] = []
    thread = threading.Thread(target=lambda: outputs.append(adapter.generate(case())))
    thread.start()
    thread.join(10)
    assert [output.text for output in outputs] == ["Paris"]


def test_openai_goes_through_the_proxy_the_environment_names(endpoint: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls skip requests' Session, not its routing: an HTTP proxy from the environment
    receives the request with the endpoint's whole URL, as it would from requests."""
    seen: list[str] = []

    def as_proxy(handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        seen.append(handler.path)
        paris(handler, body)

    endpoint.respond = as_proxy
    for name in ("all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", endpoint.url.removesuffix("/v1"))
    adapter = build_adapter(OpenAIModelConfig(kind="openai", model="m", base_url="http://models.example.invalid/v1", max_retries=0), tmp_path)
    assert adapter.generate(case()).text == "Paris"
    assert seen == ["http://models.example.invalid/v1/chat/completions"]


def test_openai_timeout(endpoint: FakeOpenAI, tmp_path: Path) -> None:
    def slow(handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        time.sleep(1.0)
        try:
            paris(handler, body)
        except BrokenPipeError:
            pass  # the client gave up, as it should

    endpoint.respond = slow
    with pytest.raises(ModelError, match=r"no complete response from .* within 0.2 s.*after 2 attempts") as info:
        openai(endpoint, tmp_path, timeout=0.2, max_retries=1).generate(case())
    assert info.value.kind == "timeout"


def test_openai_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = build_adapter(OpenAIModelConfig(kind="openai", model="m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0), tmp_path)
    with pytest.raises(ModelError, match="cannot connect to .*is the server running") as info:
        adapter.generate(case())
    assert info.value.kind == "connection"


def test_two_projects_with_a_same_named_module_each_get_their_own(tmp_path: Path) -> None:
    outputs = []
    for reply_text in ("first", "second"):
        project = tmp_path / reply_text
        project.mkdir()
        (project / "same_name_model.py").write_text(f"def reply(prompt):\n    return {reply_text!r}\n")
        adapter = build_adapter(PythonModelConfig(kind="python", function="same_name_model:reply"), project)
        outputs.append(adapter.generate(case()).text)
    assert outputs == ["first", "second"]
