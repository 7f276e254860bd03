"""The HTTP stack (urllib3 with a deadline and size limits) against a real loopback server that
answers with scripted bytes: every framing a model server may use, and every way an answer can
break or lie — each a per-case error, never an uncaught exception, never another request's answer."""

from __future__ import annotations

import gzip
import json
import socket
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_case

from evalgate.config import OpenAIModelConfig
from evalgate.errors import ModelError
from evalgate.models.http import Limits, Wire, WireError
from evalgate.models.openai import endpoint
from evalgate.models.registry import build_adapter

Answer = Callable[[bytes], list[bytes] | None]
"""Given one request (head and body), the byte pieces to send back (sent apart, so a
reader must join them; a last piece :data:`CLOSE` closes the connection after them), or
None to close the connection without answering."""
CLOSE = b""
RESET = b"RST"
"""A last piece that resets the connection (SO_LINGER 0: the client gets a RST, not a FIN)."""
LIMITS = Limits(timeout=2.0, connect_timeout=2.0, max_bytes=1 << 20, max_decoded_bytes=2 << 20)


class ScriptedServer:
    """Accepts connections on loopback and answers each request with ``answer``; counts
    connections, so a test can tell a reused connection from a new one."""

    def __init__(self, answer: Answer, pause: float = 0.01) -> None:
        self.answer = answer
        self.pause = pause
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"
        self.url = self.base + "/chat/completions"
        self.connections = 0
        self.requests: list[bytes] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        return
                    if not chunk:
                        return
                    buffer += chunk
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
                while len(rest) < length:
                    rest += conn.recv(65536)
                request, buffer = head + b"\r\n\r\n" + rest[:length], rest[length:]
                self.requests.append(request)
                pieces = self.answer(request)
                if pieces is None:
                    return
                try:
                    for piece in pieces:
                        if piece is CLOSE:
                            return
                        if piece is RESET:
                            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                            return
                        conn.sendall(piece)
                        time.sleep(self.pause)
                except OSError:  # the client cut the connection (a deadline, a size limit)
                    return

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(answer: Answer, pause: float = 0.01) -> ScriptedServer:
        servers.append(ScriptedServer(answer, pause))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def ok(body: bytes, *headers: str, status: str = "200 OK") -> list[bytes]:
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{h}\r\n" for h in headers)
    return [head.encode(), f"Content-Length: {len(body)}\r\n\r\n".encode(), body]


def chat(text: str) -> bytes:
    return json.dumps({"choices": [{"message": {"content": text}}]}).encode()


def post(wire: Wire, limits: Limits = LIMITS) -> bytes:
    reply = wire.post(b'{"q": 1}', {"Authorization": "Bearer k"}, limits)
    assert reply.status == 200
    return reply.body


def adapter_for(server: ScriptedServer, tmp_path: Path, **options: Any) -> Any:
    settings = {"max_retries": 0, "timeout": 2.0, **options}
    return build_adapter(OpenAIModelConfig(kind="openai", model="m", base_url=server.base, api_key_env="", **settings), tmp_path)


# --- framings that must work ---------------------------------------------------------------


def test_a_request_is_one_well_formed_post_and_the_connection_is_kept(serve: Callable[..., ScriptedServer]) -> None:
    server = serve(lambda request: ok(b'{"a": 1}'))
    wire = Wire(server.url, 4, "evalgate/test")
    assert [post(wire) for _ in range(3)] == [b'{"a": 1}'] * 3
    assert server.connections == 1
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/chat/completions HTTP/1.1"
    assert {"Content-Type: application/json", "Authorization: Bearer k", "User-Agent: evalgate/test"} <= set(lines)
    assert body == b'{"q": 1}'
    wire.close()


def test_chunked_bodies_with_extensions_and_trailers(serve: Callable[..., ScriptedServer]) -> None:
    server = serve(lambda request: [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n",
                                    b'{"a"\r\n', b"5\r\n: 12}\r\n0\r\n", b"X-Trailer: t\r\n\r\n"])
    wire = Wire(server.url, 4, "t")
    assert post(wire) == b'{"a": 12}'
    assert post(wire) == b'{"a": 12}'


@pytest.mark.parametrize("encoding, encode", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw, as some servers send it
])
def test_compressed_bodies_are_decoded(serve: Callable[..., ScriptedServer], encoding: str,
                                       encode: Callable[[bytes], bytes]) -> None:
    server = serve(lambda request: ok(encode(b'{"a": "zipped"}'), f"Content-Encoding: {encoding}"))
    assert post(Wire(server.url, 1, "t")) == b'{"a": "zipped"}'


def test_an_interim_answer_and_a_body_to_the_end_of_the_connection(serve: Callable[..., ScriptedServer]) -> None:
    server = serve(lambda request: [b"HTTP/1.1 100 Continue\r\n\r\n", *ok(b"{}")])
    assert post(Wire(server.url, 1, "t")) == b"{}"
    to_close = serve(lambda request: [b"HTTP/1.0 200 OK\r\n\r\n", b'{"long": ', b'"answer"}', CLOSE])
    assert post(Wire(to_close.url, 2, "t")) == b'{"long": "answer"}'


def test_a_kept_connection_the_server_closed_costs_no_error(serve: Callable[..., ScriptedServer]) -> None:
    server = serve(lambda request: [*ok(b"{}"), CLOSE])
    wire = Wire(server.url, 2, "t")
    for _ in range(3):
        time.sleep(0.05)  # the server's FIN arrives; the pool sees it before reusing the connection
        assert post(wire) == b"{}"
    assert server.connections == 3 and len(server.requests) == 3


# --- answers that lie about which request they answer --------------------------------------


@pytest.mark.parametrize("first", [
    # "no", then an unsolicited "ok" answer on the same connection
    ok(chat("no")) + ok(chat("ok")),
    # a chunked "no" with bytes after its last chunk that look like an "ok" answer
    [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", f"{len(chat('no')):x}\r\n".encode() + chat("no")
     + b"\r\n0\r\n\r\n" + b"".join(ok(chat("ok")))],
    # a 204 (no body by definition) followed by a body
    [b"HTTP/1.1 204 No Content\r\n\r\n" + b"".join(ok(chat("ok")))],
], ids=["unsolicited", "chunked-trailing", "204-with-body"])
def test_bytes_after_an_answer_never_answer_the_next_request(serve: Callable[..., ScriptedServer], tmp_path: Path,
                                                             first: list[bytes]) -> None:
    """Each request gets its own answer: the second case's is "no" from the server, never the
    leftover "ok" of the first exchange (which would turn a FAIL suite into a PASS)."""
    calls = []

    def answer(request: bytes) -> list[bytes]:
        calls.append(request)
        return first if len(calls) == 1 else ok(chat("no"))

    server = serve(answer)
    model = adapter_for(server, tmp_path)
    outputs = []
    for number in range(3):
        try:
            outputs.append(model.generate(make_case(f"c{number}", f"q{number}")).text)
        except ModelError as error:
            outputs.append(f"error:{error.kind}")
        time.sleep(0.05)
    assert "ok" not in outputs
    assert outputs[1:] == ["no", "no"]


# --- answers that break: one clear error each ------------------------------------------------


@pytest.mark.parametrize("pieces, what", [
    ([b"SSH-2.0-OpenSSH\r\n\r\n"], "broken"),
    ("HTTP/1.1 ²³¹ OK\r\nContent-Length: 2\r\n\r\n{}".encode(), "broken"),
    ("HTTP/1.1 200 OK\r\nContent-Length: ²\r\n\r\n{}".encode(), "broken"),
    ([b"HTTP/1.1 200 OK\r\nContent-Length: 100000000000000000000000\r\n\r\n{}"], "too-large"),
    ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n{}", CLOSE], "broken"),
    ([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", CLOSE], "broken"),
    ([b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}"], "broken"),
    ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"], "broken"),
    ([b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * 70_000 + b"\r\n\r\n"], "broken"),
    ([b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(150)) + b"\r\n"], "broken"),
    ([b"HTTP/1.1 200 OK\r\nContent-Len", CLOSE], None),  # a 200 with no body: the adapter refuses it
    (None, "broken"),
], ids=["not-http", "superscript-status", "superscript-length", "length-10e23", "chunk-2^64", "short-body",
        "bad-gzip", "bad-chunk", "long-header", "150-headers", "cut-headers", "no-answer"])
def test_an_answer_that_is_not_http_is_one_error(serve: Callable[..., ScriptedServer], tmp_path: Path,
                                                 pieces: list[bytes] | bytes | None, what: str | None) -> None:
    """On the wire: one WireError of the expected kind; through the adapter: one ModelError
    (the case's error), never an uncaught exception and never an output."""
    server = serve(lambda request: [pieces] if isinstance(pieces, bytes) else pieces)
    if what is not None:
        with pytest.raises(WireError) as info:
            Wire(server.url, 1, "t").post(b"{}", {}, LIMITS)
        assert info.value.what == what
    with pytest.raises(ModelError) as refused:
        adapter_for(server, tmp_path).generate(make_case())
    assert refused.value.kind in ("connection", "bad-response", "timeout")


def test_broken_answers_are_per_case_errors_through_the_adapter(serve: Callable[..., ScriptedServer], tmp_path: Path) -> None:
    server = serve(lambda request: ["HTTP/1.1 ²³¹ OK\r\nContent-Length: 2\r\n\r\n{}".encode()])
    with pytest.raises(ModelError) as info:
        adapter_for(server, tmp_path).generate(make_case())
    assert info.value.kind == "connection" and "broke off" in str(info.value)


def test_a_dripping_body_fails_at_the_deadline(serve: Callable[..., ScriptedServer]) -> None:
    """A body sent a byte at a time never lets one read wait long: only a total deadline stops it."""
    body = chat("ok" * 50)
    server = serve(lambda request: [b"HTTP/1.1 200 OK\r\n", f"Content-Length: {len(body)}\r\n\r\n".encode(),
                                    *[bytes([byte]) for byte in body]], pause=0.05)
    started = time.monotonic()
    with pytest.raises(WireError) as info:
        Wire(server.url, 1, "t").post(b"{}", {}, Limits(1.0, 1.0, 1 << 20, 1 << 20))
    assert info.value.what == "timeout"
    assert time.monotonic() - started < 1.6


def test_dripping_headers_fail_at_the_deadline(serve: Callable[..., ScriptedServer]) -> None:
    server = serve(lambda request: [b"HTTP/1.1 200 OK\r\n", *[b"X-Slow: %d\r\n" % n for n in range(100)]], pause=0.05)
    started = time.monotonic()
    with pytest.raises(WireError) as info:
        Wire(server.url, 1, "t").post(b"{}", {}, Limits(1.0, 1.0, 1 << 20, 1 << 20))
    assert info.value.what == "timeout" and time.monotonic() - started < 1.6


def test_an_endless_body_stops_at_the_size_limit(serve: Callable[..., ScriptedServer]) -> None:
    piece = b"100000\r\n" + b"x" * 0x100000 + b"\r\n"
    server = serve(lambda request: [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", *[piece] * 64], pause=0.0)
    with pytest.raises(WireError) as info:
        Wire(server.url, 1, "t").post(b"{}", {}, Limits(10.0, 1.0, 4 << 20, 8 << 20))
    assert info.value.what == "too-large"


def test_a_compression_bomb_stops_at_the_decoded_limit_without_the_memory(serve: Callable[..., ScriptedServer]) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    zeros = b"\0" * (1 << 20)
    bomb = b"".join(packer.compress(zeros) for _ in range(256)) + packer.flush()  # 256 MiB → ~250 KiB
    server = serve(lambda request: ok(bomb, "Content-Encoding: gzip"), pause=0.0)
    tracemalloc.start()
    try:
        with pytest.raises(WireError) as info:
            Wire(server.url, 1, "t").post(b"{}", {}, Limits(10.0, 1.0, 4 << 20, 8 << 20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.what == "too-large" and "decodes to more than" in str(info.value)
    assert peak < 40 << 20, f"peak {peak / 2**20:.0f} MiB"


def test_a_too_large_answer_is_one_bad_response_not_retried(serve: Callable[..., ScriptedServer], tmp_path: Path) -> None:
    big = chat("x" * (2 << 20))
    server = serve(lambda request: ok(big), pause=0.0)
    with pytest.raises(ModelError) as info:
        adapter_for(server, tmp_path, max_retries=3, max_response_mb=1).generate(make_case())
    assert info.value.kind == "bad-response" and info.value.attempts == 1 and "max_response_mb" in str(info.value)
    assert len(server.requests) == 1


def test_no_answer_in_time_is_a_timeout_and_a_closed_port_is_no_connection(serve: Callable[..., ScriptedServer]) -> None:
    silent = serve(lambda request: [])
    with pytest.raises(WireError) as info:
        Wire(silent.url, 1, "t").post(b"{}", {}, Limits(0.3, 1.0, 1 << 20, 1 << 20))
    assert info.value.what == "timeout"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(WireError) as refused:
        Wire(f"http://127.0.0.1:{port}/v1", 1, "t").post(b"{}", {}, LIMITS)
    assert refused.value.what == "connect"


def test_an_unparseable_retry_after_falls_back_to_the_backoff(serve: Callable[..., ScriptedServer], tmp_path: Path) -> None:
    answers = iter([ok(b"{}", "Retry-After: Someday, 99 Foo 2020 25:61:61 XYZ", status="429 Too Many Requests"),
                    ok(b"{}", "Retry-After: 1e999", status="503 Busy"), ok(chat("fine"))])
    server = serve(lambda request: next(answers))
    model = adapter_for(server, tmp_path, max_retries=3, backoff=0.01)
    waits: list[float] = []
    model.sleep = waits.append
    assert model.generate(make_case()).text == "fine"
    assert len(waits) == 2 and all(0 <= wait <= 0.02 for wait in waits)


def test_a_header_value_with_a_line_break_is_never_sent_nor_quoted(serve: Callable[..., ScriptedServer],
                                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(lambda request: ok(b"{}"))
    monkeypatch.setenv("EVALGATE_TEST_KEY", "sk-secret\r\nX-Forged: 1")
    config = OpenAIModelConfig(kind="openai", model="m", base_url=server.base, api_key_env="EVALGATE_TEST_KEY",
                               max_retries=3, backoff=5.0)
    started = time.perf_counter()
    with pytest.raises(ModelError, match="line break") as info:
        build_adapter(config, tmp_path).generate(make_case("c1", "Capital of France?", expected="Paris"))
    assert time.perf_counter() - started < 2.0 and info.value.attempts == 1
    assert "sk-secret" not in str(info.value) and server.requests == []


def test_proxies_come_from_requests_routing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert not Wire("http://127.0.0.1:9/v1/chat/completions", 2, "t").through_proxy
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    forwarded = Wire("http://models.example.invalid/v1/chat/completions", 2, "t")
    assert forwarded.through_proxy and forwarded.target == "http://models.example.invalid/v1/chat/completions"
    monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
    assert not Wire("http://127.0.0.1:8000/v1/chat/completions", 2, "t").through_proxy


def test_the_endpoint_in_the_fingerprint_has_no_credentials() -> None:
    assert endpoint("http://user:pw@Models.Example:8080/v1/?api_key=sk-x") == "http://models.example:8080/v1"
    assert endpoint("https://api.openai.com/v1") == "https://api.openai.com:443/v1"
    assert endpoint("http://127.0.0.1:8001/v1") != endpoint("http://127.0.0.1:8002/v1")
