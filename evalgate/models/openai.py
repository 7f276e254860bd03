"""The ``openai`` adapter: any OpenAI-compatible ``/chat/completions`` or ``/completions``.

OpenAI itself, and the servers that speak its protocol (vLLM, TGI, llama.cpp's server,
LiteLLM...). Transient faults — connection errors, timeouts, 408, 409, 429, 5xx — are
retried with exponential backoff and jitter, honouring ``Retry-After``; other 4xx are
the caller's mistake and fail at once. A case whose calls all fail is a ModelError
carrying the kind, HTTP status and number of attempts: reported per case, counted
against the error budget, never a pass.

The API key is read from the environment variable named in the config at call time;
it goes only into the Authorization header, never into the fingerprint, messages or
reports.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import math
import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from evalgate.cases import Case
from evalgate.config import OpenAIModelConfig
from evalgate.errors import ConfigError, ModelError
from evalgate.models.base import ModelAdapter, ModelOutput
from evalgate.models.http import Limits, Reply, Wire, WireError, user_agent
from evalgate.models.slots import FairSlots
from evalgate.redact import SECRETS
from evalgate.sources import project_file

_EXCERPT = 200
T = TypeVar("T")
RETRY_STATUSES = frozenset({408, 409, 429})


class OpenAIModel(ModelAdapter[OpenAIModelConfig]):
    """POSTs each case to the endpoint through one connection pool shared by its threads."""

    kind = "openai"
    leaves_process = True
    waits_elsewhere = True
    reports_usage = True
    can_embed = True

    def __init__(self, config: OpenAIModelConfig, project_dir: Path) -> None:
        super().__init__(config, project_dir)
        path = "/chat/completions" if config.api == "chat" else "/completions"
        override = os.environ.get(config.base_url_env, "") if config.base_url_env else ""
        self.base = (override or config.base_url).rstrip("/")
        """The server's API root (``…/v1``): generation and embeddings hang below it."""
        self.url = self.base + path
        self.wire = Wire(self.url, config.concurrency, user_agent())
        self.limits = Limits(config.timeout, config.connect_timeout, int(config.max_response_mb * 2**20),
                             int(config.max_decoded_mb * 2**20))
        self.embeddings: Wire | None = None
        """The ``/embeddings`` endpoint, opened on first use (a ``similarity`` scorer)."""
        self.sleep = time.sleep
        """Waits between attempts; tests may replace it to count the waits."""
        self.stopped = threading.Event()
        """Set when the run ends (Ctrl-C, -x): calls still waiting for a slot send nothing."""
        self.slots = FairSlots(config.concurrency)
        """Requests on the wire at once: held only while a request is out, never while a
        call waits to retry, so calls backing off leave their slot to others."""
        self.system_prompt_path: Path | None = None
        self.system_prompt = config.system_prompt
        if config.system_prompt_file is not None:
            self.system_prompt_path = project_file(project_dir, config.system_prompt_file, "system_prompt_file")
            try:
                self.system_prompt = self.system_prompt_path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                raise ConfigError(
                    f"model '{config.model}': cannot read system_prompt_file {config.system_prompt_file!r} ({err}); "
                    f"fix the path (relative to {project_dir}) or save the file as UTF-8"
                ) from None

    def dependencies(self) -> list[Path]:
        """The system prompt's file, when it has one."""
        return [self.system_prompt_path] if self.system_prompt_path is not None else []

    def stop(self) -> None:
        """The run is over: calls not yet on the wire are not sent."""
        self.stopped.set()

    def close(self) -> None:
        """Close the connections (calls still out finish on theirs, then close them)."""
        self.wire.close()
        if self.embeddings is not None:
            self.embeddings.close()

    def readiness(self) -> str | None:
        """Why a run would fail before its first call (an API key variable that is not set),
        or None. Checked by ``evalgate check`` and at the start of a run, so a missing secret
        is one clear line, not a gate that reads as a model failure."""
        name = self.config.api_key_env
        if not name or os.environ.get(name):
            return None
        explicit = "api_key_env" in self.config.model_fields_set
        if explicit or self.url.startswith("https://api.openai.com/"):
            return (
                f"model '{self.config.model}': the API key variable ${name} is not set; export it "
                f"(the key stays out of files), or set api_key_env = \"\" for a server that needs no key"
            )
        return None

    @property
    def pool_size(self) -> int:
        """Threads the engine may give this adapter: more than ``concurrency``, so calls
        waiting out a backoff do not keep the others from the endpoint."""
        return min(256, 2 * self.config.concurrency)

    @property
    def deterministic(self) -> bool:
        # Greedy decoding or a fixed seed; an unset temperature means the server's default (often 1).
        return self.config.temperature == 0 or self.config.seed is not None

    def fingerprint(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "endpoint": endpoint(self.base),
            "api": self.config.api,
            "model": self.config.model,
            "system_prompt": self.system_prompt,
            "params": {**self._params(), **({"extra_body": self.config.extra_body} if self.config.extra_body else {})},
        }

    def generate(self, case: Case) -> ModelOutput:
        body = json.dumps({"model": self.config.model, **self._input(case), **self._params(), **self.config.extra_body}).encode()
        return self._call(self.wire, self.url, body, self._parse)

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Embedding vectors of ``texts`` from the server's ``/embeddings`` (this model's id),
        with the same retries and slots as generation."""
        if self.embeddings is None:
            self.embeddings = Wire(self.base + "/embeddings", self.config.concurrency, user_agent())
        body = json.dumps({"model": self.config.model, "input": texts}).encode()
        return self._call(self.embeddings, self.embeddings.url, body, lambda reply: _vectors(reply, len(texts)))

    def _call(self, wire: Wire, url: str, body: bytes, parse: Callable[[Reply], T]) -> T:
        """POST ``body`` until it succeeds, retrying transient faults with backoff."""
        attempts = 0
        while True:
            attempts += 1
            outcome, wait = self._attempt(wire, url, body, attempts, parse)
            if not isinstance(outcome, ModelError):
                return outcome
            if wait is None or attempts > self.config.max_retries:
                raise ModelError(
                    f"{outcome.args[0]} (after {attempts} attempt{'s' if attempts > 1 else ''})",
                    kind=outcome.kind,
                    status=outcome.status,
                    attempts=attempts,
                )
            self.sleep(wait)

    def _attempt(
        self, wire: Wire, url: str, body: bytes, attempt: int, parse: Callable[[Reply], T]
    ) -> tuple[T | ModelError, float | None]:
        """One request: the parsed answer, or the error and how long to wait before retrying
        (None: do not retry)."""
        if self.stopped.is_set():
            return ModelError("the run ended before this call was sent", kind="connection"), None
        try:
            with self.slots:
                if self.stopped.is_set():
                    return ModelError("the run ended before this call was sent", kind="connection"), None
                reply = wire.post(body, self._headers(), self.limits)
        except WireError as broken:
            if broken.what == "invalid":  # the same request would be refused again
                return ModelError(f"cannot send the request to {url}: {broken}", kind="connection"), None
            if broken.what == "too-large":  # the same answer would come again
                return ModelError(f"the response from {url} is too large ({broken}); raise max_response_mb / "
                                  f"max_decoded_mb if it is expected", kind="bad-response"), None
            if broken.what == "timeout":
                message = (f"no complete response from {url} within {self.config.timeout:g} s (the whole attempt: "
                           f"connect, send, read); raise 'timeout' or check the server")
            elif broken.what == "connect":
                message = f"cannot connect to {url} ({broken}); is the server running?"
            else:  # a truncated or undecodable answer: like a reset
                message = f"the response from {url} broke off ({broken}); retrying"
            return ModelError(message, kind="timeout" if broken.what == "timeout" else "connection"), self._backoff(attempt)
        status = reply.status
        if status >= 400:
            hint = f"; check the API key in ${self.config.api_key_env}" if status in (401, 403) else ""
            refused = ModelError(f"HTTP {status} from {url}: {_excerpt(reply.text)}{hint}", kind="http", status=status)
            if status in RETRY_STATUSES or status >= 500:
                return refused, self._retry_after(reply.retry_after) or self._backoff(attempt)
            return refused, None
        try:
            return parse(reply), None
        except ModelError as error:
            return error, None  # a malformed answer is not transient; retrying would repeat it

    def _backoff(self, attempt: int) -> float:
        # Exponential backoff with "full jitter" (AWS Architecture Blog, "Exponential Backoff
        # and Jitter", 2015): spreads retries of many concurrent calls apart.
        ceiling = min(self.config.max_backoff, self.config.backoff * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _retry_after(self, value: str | None) -> float | None:
        """Seconds to wait from a ``Retry-After`` value (delay-seconds or an HTTP-date,
        RFC 9110 §10.2.3), capped at ``max_backoff``; None when it says nothing usable (then
        the backoff applies)."""
        text = (value or "").strip()
        if not text:
            return None
        try:
            seconds = float(text)
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(text)
                if parsed.tzinfo is None:  # RFC 9110 dates are GMT
                    parsed = parsed.replace(tzinfo=datetime.UTC)
                seconds = parsed.timestamp() - time.time()
            except (TypeError, ValueError, OverflowError, IndexError):
                return None
        if not math.isfinite(seconds):
            return None
        return min(max(0.0, seconds), self.config.max_backoff)

    def _params(self) -> dict[str, Any]:
        params = {
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
            "seed": self.config.seed,
            "stop": self.config.stop,
        }
        return {key: value for key, value in params.items() if value is not None}

    def _input(self, case: Case) -> dict[str, Any]:
        if case.messages is not None:
            messages = [{"role": role, "content": content} for role, content in case.messages]
        else:
            messages = [{"role": "user", "content": case.prompt or ""}]
            if self.system_prompt:
                messages.insert(0, {"role": "system", "content": self.system_prompt})
        if self.config.api == "chat":
            return {"messages": messages}
        if case.messages is None and not self.system_prompt:
            return {"prompt": case.prompt or ""}
        return {"prompt": "\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\nassistant:"}

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.config.api_key_env, "") if self.config.api_key_env else ""
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _parse(self, reply: Reply) -> ModelOutput:
        where = "choices[0].message.content" if self.config.api == "chat" else "choices[0].text"
        try:
            payload = json.loads(reply.body)
            choice = payload["choices"][0]
            content = choice["message"]["content"] if self.config.api == "chat" else choice["text"]
        except (ValueError, KeyError, IndexError, TypeError, RecursionError):
            raise ModelError(
                f"response has no {where}: {_excerpt(reply.text)}", kind="bad-response", status=reply.status
            ) from None
        if not isinstance(content, str):
            raise ModelError(
                f"{where} is {type(content).__name__}, not text: {_excerpt(reply.text)}",
                kind="bad-response",
                status=reply.status,
            )
        usage = payload.get("usage") if isinstance(payload, dict) else None
        tokens = {k: v for k, v in usage.items() if isinstance(v, int)} if isinstance(usage, dict) else {}
        return ModelOutput(text=content, usage=tokens or None)


def endpoint(url: str) -> str:
    """The URL a result depends on: scheme, host, port and path, never credentials or a
    query (where some gateways take keys). Two runs against different servers — a
    ``base_url_env`` pointing at a mock, say — never share cached results."""
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:  # a port that is not a number: the URL will not connect anyway
        port = None
    host = (parts.hostname or "").lower()
    return f"{parts.scheme.lower()}://{host}:{port}{parts.path.rstrip('/')}"


def _vectors(reply: Reply, count: int) -> list[list[float]]:
    """The ``data[i].embedding`` vectors of an embeddings answer, in input order."""
    try:
        data = sorted(json.loads(reply.body)["data"], key=lambda item: item.get("index", 0))
        vectors = [[float(x) for x in item["embedding"]] for item in data]
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise ModelError(f"the embeddings answer has no data[].embedding: {_excerpt(reply.text)}", kind="bad-response",
                         status=reply.status) from None
    if len(vectors) != count or any(not vector for vector in vectors):
        raise ModelError(f"the embeddings answer has {len(vectors)} vector(s) for {count} input(s)", kind="bad-response",
                         status=reply.status)
    return vectors


def _excerpt(text: str) -> str:
    """A short, quoted excerpt of a server's body, secrets removed (some gateways echo the
    Authorization header in their error pages)."""
    flat = SECRETS(" ".join(text.split()))
    return json.dumps(flat[:_EXCERPT] + ("…" if len(flat) > _EXCERPT else ""), ensure_ascii=False)
