"""The ``openai`` adapter: any OpenAI-compatible ``/chat/completions`` endpoint.

OpenAI itself, and the servers that speak its protocol (vLLM, TGI, llama.cpp's server,
LiteLLM...). The API key is read from the environment variable named in the config at
call time; it is sent only in the Authorization header and never appears in the
fingerprint, messages or reports.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import requests

from evalgate.config import OpenAIModelConfig
from evalgate.errors import ModelError
from evalgate.models.base import ModelOutput
from evalgate.suites import Case

_EXCERPT = 200


class OpenAIModel:
    """POSTs each case to ``{base_url}/chat/completions`` on a pooled session."""

    kind = "openai"

    def __init__(self, config: OpenAIModelConfig, project_dir: Path) -> None:
        self.config = config
        self.url = config.base_url.rstrip("/") + "/chat/completions"
        self.session = requests.Session()

    @property
    def concurrency(self) -> int:
        return self.config.concurrency

    @property
    def deterministic(self) -> bool:
        # Greedy decoding or a fixed seed; an unset temperature means the server's default (often 1).
        return self.config.temperature == 0 or self.config.seed is not None

    def fingerprint(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "base_url": self.config.base_url.rstrip("/"),
            "model": self.config.model,
            "system_prompt": self.config.system_prompt,
            "params": self._params(),
        }

    def generate(self, case: Case) -> ModelOutput:
        body = {"model": self.config.model, "messages": self._messages(case), **self._params()}
        try:
            response = self.session.post(
                self.url, json=body, headers=self._headers(), timeout=self.config.timeout
            )
        except requests.Timeout:
            raise ModelError(
                f"no response from {self.url} within {self.config.timeout:g} s; raise 'timeout' "
                f"in the model config or check the server",
                kind="timeout",
            ) from None
        except requests.ConnectionError as err:
            raise ModelError(
                f"cannot connect to {self.url} ({type(err).__name__}); is the server running?",
                kind="connection",
            ) from None
        if response.status_code >= 400:
            hint = ""
            if response.status_code in (401, 403):
                hint = f"; check the API key in ${self.config.api_key_env}"
            raise ModelError(
                f"HTTP {response.status_code} from {self.url}: {_excerpt(response.text)}{hint}",
                kind="http",
                status=response.status_code,
            )
        return _parse(response)

    def _params(self) -> dict[str, Any]:
        params = {
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
            "seed": self.config.seed,
            "stop": self.config.stop,
        }
        return {key: value for key, value in params.items() if value is not None}

    def _messages(self, case: Case) -> list[dict[str, str]]:
        if case.messages is not None:
            return [{"role": role, "content": content} for role, content in case.messages]
        messages = [{"role": "user", "content": case.prompt or ""}]
        if self.config.system_prompt:
            messages.insert(0, {"role": "system", "content": self.config.system_prompt})
        return messages

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.config.api_key_env or "", "") if self.config.api_key_env else ""
        return {"Authorization": f"Bearer {key}"} if key else {}


def _parse(response: requests.Response) -> ModelOutput:
    try:
        payload = response.json()
        content = payload["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ModelError(
            f"response has no choices[0].message.content: {_excerpt(response.text)}",
            kind="bad-response",
            status=response.status_code,
        ) from None
    if not isinstance(content, str):
        raise ModelError(
            f"choices[0].message.content is {type(content).__name__}, not text: "
            f"{_excerpt(response.text)}",
            kind="bad-response",
            status=response.status_code,
        )
    usage = payload.get("usage") if isinstance(payload, dict) else None
    tokens = {k: v for k, v in (usage or {}).items() if isinstance(v, int)}
    return ModelOutput(text=content, usage=tokens)


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return json.dumps(flat[:_EXCERPT] + ("…" if len(flat) > _EXCERPT else ""), ensure_ascii=False)
