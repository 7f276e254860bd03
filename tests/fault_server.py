"""A real OpenAI-compatible HTTP server on loopback that misbehaves on purpose.

Behaviour is chosen per prompt: ``"q<n> <fault>"`` where fault is one of the FAULTS;
the answer to a healthy request is ``"a<n>"``. Every request is counted per prompt.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
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


class FaultServer:
    def __init__(self, latency: float = 0.0, slow_seconds: float = 2.0) -> None:
        self.latency = latency
        self.slow_seconds = slow_seconds
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
                server.handle(self, prompt)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, handler: BaseHTTPRequestHandler, prompt: str) -> None:
        name, _, fault = prompt.partition(" ")
        with self.lock:
            self.requests[prompt] += 1
            count = self.requests[prompt]
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            self._respond(handler, name, fault or "ok", count)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout): expected
        finally:
            with self.lock:
                self.in_flight -= 1

    def _respond(self, handler: BaseHTTPRequestHandler, name: str, fault: str, count: int) -> None:
        answer = {"choices": [{"message": {"role": "assistant", "content": "a" + name.removeprefix("q")}}],
                  "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}
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
        return send(handler, 200, json.dumps(answer))


def send(handler: BaseHTTPRequestHandler, status: int, body: str, headers: dict[str, str] | None = None) -> None:
    data = body.encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)
