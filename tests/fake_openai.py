"""A real OpenAI-compatible HTTP server on loopback, for the tests and the benchmarks.

One server for every use: it answers ``/chat/completions``, ``/completions`` and
``/embeddings`` over real HTTP/1.1 keep-alive connections, records every request (headers
and body), counts requests in flight (and the peak), and times the first request and the
last answer. Behaviour is chosen per prompt — ``"q<n> <fault>"`` with a fault from
:data:`FAULTS`; a healthy prompt ``q<n>`` gets ``a<n>`` — or scripted by replacing
:attr:`FakeOpenAI.respond`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = (
    "ok",
    "429-once",      # 429 with Retry-After: 0.05, then fine
    "500-twice",     # 500 twice, then fine
    "500-always",
    "slow-always",   # slower than any timeout the tests set
    "drop-once",     # closes the connection without answering, then fine
    "garbage",       # 200 with a body that is not JSON
    "no-choices",    # 200 with "choices": []
)

Responder = Callable[[BaseHTTPRequestHandler, dict[str, Any]], None]
"""Writes the answer to one request (handler, parsed JSON body)."""


def loopback_server(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A threading HTTP server on a free loopback port whose ``shutdown()`` always returns.

    ``serve_forever`` polls the listening socket, then calls a *blocking* ``accept()``; if
    no connection is waiting by then, that ``accept()`` waits for a client that never comes
    and ``shutdown()`` waits with it (seen once: a whole test run hung at a
    ``with FakeOpenAI()`` exit, its server thread in ``accept()``). On a non-blocking
    listener that ``accept()`` fails instead, which ``serve_forever`` ignores; accepted
    connections are blocking again (``socket.accept`` does that)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.socket.setblocking(False)
    return server


class FakeOpenAI:
    """The server; use it as a context manager (it starts and stops its thread)."""

    def __init__(self, latency: float = 0.0, slow_seconds: float = 2.0) -> None:
        self.latency = latency
        self.slow_seconds = slow_seconds
        self.respond: Responder | None = None
        """Replace to script answers; None gives the prompt-driven default."""
        self.requests: Counter[str] = Counter()
        """Requests per prompt text."""
        self.log: list[tuple[dict[str, str], dict[str, Any]]] = []
        """Every request's headers and body, in arrival order."""
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.first: float | None = None
        """``perf_counter`` of the first request since :meth:`reset`."""
        self.last = 0.0
        """``perf_counter`` of the last answer sent."""
        self.served = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; without TCP_NODELAY the client's delayed
            # ACK adds ~40 ms to every keep-alive request.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.handle(self, body)

            def do_GET(self) -> None:  # noqa: N802
                """``/stats`` (served, peak in flight, span) and ``/reset``, for a server
                run in its own process (``python tests/fake_openai.py``)."""
                if self.path == "/reset":
                    server.reset()
                send(self, 200, json.dumps(server.stats()))

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.request_queue_size = 256
        self.httpd = loopback_server(Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        """Forget counts and times (between benchmark rounds)."""
        with self.lock:
            self.requests.clear()
            self.log.clear()
            self.first, self.last, self.served, self.max_in_flight = None, 0.0, 0, 0

    def stats(self) -> dict[str, Any]:
        """Requests served, the peak in flight, the span from the first request to the last
        answer (seconds; None before any request), and both instants on the machine's
        monotonic clock (``time.perf_counter`` in another process on Linux reads the same
        clock, so a benchmark can tell start-up and wind-down from time on the wire)."""
        with self.lock:
            span = None if self.first is None else self.last - self.first
            return {"served": self.served, "max_in_flight": self.max_in_flight, "span": span,
                    "first": self.first, "last": self.last}

    def handle(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        prompt = prompt_of(body)
        with self.lock:
            self.requests[prompt] += 1
            count = self.requests[prompt]
            self.log.append((dict(handler.headers), body))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.first = self.first or time.perf_counter()
        answering = False
        try:
            if self.latency:
                time.sleep(self.latency)
            # No longer in flight once the answer starts out: the client may send its next
            # request the moment it has read this one, before this thread runs again.
            with self.lock:
                self.in_flight -= 1
                answering = True
            if self.respond is not None:
                self.respond(handler, body)
            else:
                self._default(handler, handler.path, prompt, count)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout): expected
        finally:
            with self.lock:
                self.in_flight -= 0 if answering else 1
                self.served += 1
                self.last = time.perf_counter()

    def _default(self, handler: BaseHTTPRequestHandler, path: str, prompt: str, count: int) -> None:
        name, _, fault = prompt.partition(" ")
        fault = fault or "ok"
        if fault == "429-once" and count == 1:
            return send(handler, 429, '{"error": "rate limited"}', {"Retry-After": "0.05"})
        if fault == "500-twice" and count <= 2 or fault == "500-always":
            return send(handler, 500, '{"error": "overloaded"}')
        if fault == "slow-always":
            time.sleep(self.slow_seconds)
        if fault == "drop-once" and count == 1:
            handler.close_connection = True
            handler.connection.shutdown(2)
            return None
        if fault == "garbage":
            return send(handler, 200, "<html>Bad Gateway</html>")
        if fault == "no-choices":
            return send(handler, 200, '{"choices": []}')
        return send(handler, 200, json.dumps(answer(path, "a" + name.removeprefix("q"))))


def prompt_of(body: dict[str, Any]) -> str:
    """The text a request is about: the last chat message, the prompt, or the embedding input."""
    if "messages" in body:
        return str(body["messages"][-1]["content"])
    if "prompt" in body:
        return str(body["prompt"])
    return json.dumps(body.get("input"))


def answer(path: str, text: str, usage: dict[str, int] | None = None) -> dict[str, Any]:
    """A well-formed answer body for ``path`` (chat, completions) carrying ``text``."""
    usage = usage or {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    if path.endswith("/completions") and not path.endswith("/chat/completions"):
        return {"choices": [{"text": text, "index": 0}], "usage": usage}
    return {"choices": [{"message": {"role": "assistant", "content": text}}], "usage": usage}


def send(handler: BaseHTTPRequestHandler, status: int, body: str, headers: dict[str, str] | None = None) -> None:
    """Write one complete HTTP response."""
    data = body.encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


if __name__ == "__main__":
    # Its own process, so a benchmark's client does not share a GIL with the server: prints
    # its URL, then serves until killed.
    import sys

    with FakeOpenAI(latency=float(sys.argv[1]) if len(sys.argv) > 1 else 0.0) as standalone:
        print(standalone.url, flush=True)
        standalone.thread.join()
