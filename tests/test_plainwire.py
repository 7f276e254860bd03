"""The plain-socket HTTP/1.1 client against a real loopback server that answers with
scripted bytes: every framing a model server may use, and every way an answer can break."""

from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import make_case

from evalgate.config import OpenAIModelConfig
from evalgate.errors import ModelError
from evalgate.models.plainwire import PlainWire
from evalgate.models.proxied import ProxiedWire
from evalgate.models.registry import build_adapter
from evalgate.models.wire import WireError, open_wire

Answer = Callable[[bytes], list[bytes] | None]
"""Given one request (head and body), the byte pieces to send back (sent apart, so a
reader must join them; a last piece :data:`CLOSE` closes the connection after them), or
None to close the connection without answering."""
CLOSE = b""
RESET = b"RST"
"""A last piece that resets the connection (SO_LINGER 0: the client gets a RST, not a FIN)."""


class ScriptedServer:
    """Accepts connections on loopback and answers each request with ``answer``; counts
    connections, so a test can tell a reused connection from a new one."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1/chat/completions"
        self.connections = 0
        self.requests: list[bytes] = []
        self.threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
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
                for piece in pieces:
                    if piece is CLOSE:
                        return
                    if piece is RESET:
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        return
                    conn.sendall(piece)
                    time.sleep(0.01)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Answer], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(answer: Answer) -> ScriptedServer:
        servers.append(ScriptedServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def ok(body: bytes, *headers: str) -> list[bytes]:
    head = "HTTP/1.1 200 OK\r\n" + "".join(f"{h}\r\n" for h in headers)
    return [head.encode(), f"Content-Length: {len(body)}\r\n\r\n".encode(), body]


def post(wire: PlainWire) -> bytes:
    reply = wire.post(b'{"q": 1}', {"Authorization": "Bearer k"}, 2.0, 2.0)
    assert reply.status == 200
    return reply.body


def test_a_request_is_one_well_formed_post_and_the_connection_is_kept(serve: Callable[[Answer], ScriptedServer]) -> None:
    server = serve(lambda request: ok(b'{"a": 1}'))
    wire = PlainWire(server.url, 4, "evalgate/test")
    assert [post(wire) for _ in range(3)] == [b'{"a": 1}'] * 3
    assert server.connections == 1
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/chat/completions HTTP/1.1"
    assert {"Host: " + server.url.split("/")[2], "Content-Type: application/json", "Authorization: Bearer k",
            "User-Agent: evalgate/test", "Content-Length: 8"} <= set(lines)
    assert body == b'{"q": 1}'
    wire.close()


def test_chunked_bodies_with_extensions_and_trailers(serve: Callable[[Answer], ScriptedServer]) -> None:
    server = serve(lambda request: [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n",
                                    b'{"a"\r\n', b"5\r\n: 12}\r\n0\r\n", b"X-Trailer: t\r\n\r\n"])
    wire = PlainWire(server.url, 4, "t")
    assert post(wire) == b'{"a": 12}'
    assert post(wire) == b'{"a": 12}'  # the trailers were read: the next answer starts clean
    assert server.connections == 1


@pytest.mark.parametrize("encoding, encode", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw, as some servers send it
])
def test_compressed_bodies_are_decoded(serve: Callable[[Answer], ScriptedServer], encoding: str,
                                       encode: Callable[[bytes], bytes]) -> None:
    server = serve(lambda request: ok(encode(b'{"a": "zipped"}'), f"Content-Encoding: {encoding}"))
    assert post(PlainWire(server.url, 1, "t")) == b'{"a": "zipped"}'


def test_an_interim_answer_comes_before_the_real_one(serve: Callable[[Answer], ScriptedServer]) -> None:
    server = serve(lambda request: [b"HTTP/1.1 100 Continue\r\n\r\n", *ok(b"{}")])
    assert post(PlainWire(server.url, 1, "t")) == b"{}"


def test_connection_close_and_a_body_to_the_end_of_the_connection(serve: Callable[[Answer], ScriptedServer]) -> None:
    closing = serve(lambda request: [b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"])
    wire = PlainWire(closing.url, 2, "t")
    assert post(wire) == b"{}"
    assert wire.idle == []  # the server said close: nothing kept

    to_close = serve(lambda request: [b"HTTP/1.0 200 OK\r\n\r\n", b'{"long": ', b'"answer"}', CLOSE])
    wire = PlainWire(to_close.url, 2, "t")
    assert post(wire) == b'{"long": "answer"}'
    assert wire.idle == []


def test_a_kept_connection_the_server_closed_costs_no_error(serve: Callable[[Answer], ScriptedServer]) -> None:
    """The server closes each connection after its answer without saying so (as an idle
    timeout does): the next call finds it answering nothing, and goes once more on a new
    connection; the server sees each request once."""
    server = serve(lambda request: [*ok(b"{}"), CLOSE])
    wire = PlainWire(server.url, 2, "t")
    for _ in range(3):
        assert len(wire.idle) <= 1
        time.sleep(0.05)  # the server's FIN arrives
        assert post(wire) == b"{}"
    assert server.connections == 3 and len(server.requests) == 3


def test_a_kept_connection_the_server_reset_costs_no_error(serve: Callable[[Answer], ScriptedServer]) -> None:
    """Reset instead of closed: writing the next request fails at once, and it goes on a
    new connection."""
    server = serve(lambda request: [*ok(b"{}"), RESET])
    wire = PlainWire(server.url, 2, "t")
    for _ in range(3):
        time.sleep(0.05)  # the server's RST arrives
        assert post(wire) == b"{}"
    assert server.connections == 3 and len(server.requests) == 3


@pytest.mark.parametrize("pieces, reason", [
    ([b"SSH-2.0-OpenSSH\r\n\r\n"], "not an HTTP/1.x status line"),
    ([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", CLOSE], "closed after 2 of 10 bytes"),
    ([b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}"], "two different content-length"),
    ([b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}"], "is not one number"),
    ([b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 2\r\n\r\n{}"], "'br' is not one evalgate decodes"),
    ([b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}"], "gzip body does not decode"),
    ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"], "not a chunk size"),
    ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}}}"], "does not end where its size says"),
    ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n{}"], "is not chunked"),
    ([b"HTTP/1.1 200 OK\r\nbroken header\r\n\r\n"], "not a header line"),
    ([b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * 70_000], "headers run past 64 KiB"),
    ([b"HTTP/1.1 200 OK\r\nContent-Len", CLOSE], "closed inside the answer's headers"),
    (None, "closed the connection without answering"),
])
def test_an_answer_that_is_not_http_is_a_broken_wire(serve: Callable[[Answer], ScriptedServer],
                                                     pieces: list[bytes] | None, reason: str) -> None:
    server = serve(lambda request: pieces)
    wire = PlainWire(server.url, 1, "t")
    with pytest.raises(WireError, match=reason) as info:
        wire.post(b"{}", {}, 2.0, 2.0)
    assert info.value.what == "broken"
    assert wire.idle == []


def test_no_answer_in_time_is_a_timeout_and_a_closed_port_is_no_connection(serve: Callable[[Answer], ScriptedServer]) -> None:
    silent = serve(lambda request: [])
    with pytest.raises(WireError) as info:
        PlainWire(silent.url, 1, "t").post(b"{}", {}, 2.0, 0.2)
    assert info.value.what == "timeout"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(WireError) as refused:
        PlainWire(f"http://127.0.0.1:{port}/v1", 1, "t").post(b"{}", {}, 2.0, 1.0)
    assert refused.value.what == "connect"


def test_a_header_value_with_a_line_break_is_never_sent_nor_quoted(serve: Callable[[Answer], ScriptedServer],
                                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An API key read with its newline (``export KEY=$(cat key.txt)`` keeps none, but a
    .env file can) would forge a header: the request is refused before it is sent, once
    (retrying would refuse it again), and the message does not quote the key."""
    server = serve(lambda request: ok(b"{}"))
    monkeypatch.setenv("EVALGATE_TEST_KEY", "sk-secret\r\nX-Forged: 1")
    config = OpenAIModelConfig(kind="openai", model="m", base_url=server.url.removesuffix("/chat/completions"),
                               api_key_env="EVALGATE_TEST_KEY", max_retries=3, backoff=5.0)
    started = time.perf_counter()
    with pytest.raises(ModelError, match="line break") as info:
        build_adapter(config, tmp_path).generate(make_case("c1", "Capital of France?", expected="Paris"))
    assert time.perf_counter() - started < 2.0 and info.value.attempts == 1
    assert "sk-secret" not in str(info.value) and server.requests == []


def test_each_url_gets_the_client_that_can_reach_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(open_wire("http://127.0.0.1:9/v1/chat/completions", 2), PlainWire)
    assert isinstance(open_wire("https://api.example.invalid/v1/chat/completions", 2), ProxiedWire)
    assert isinstance(open_wire("http://user:pw@models.example.invalid/v1", 2), ProxiedWire)
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    assert isinstance(open_wire("http://models.example.invalid/v1/chat/completions", 2), ProxiedWire)
    monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
    assert isinstance(open_wire("http://127.0.0.1:8000/v1/chat/completions", 2), PlainWire)
