"""HTTP/1.1 over plain sockets: the wire for ``http://`` endpoints reached directly.

Local and in-cluster model servers (vLLM, llama.cpp, TGI) answer in milliseconds, and then
the client's own CPU decides how fast a run is: at 64 calls in flight, every microsecond
a call spends in Python is taken under the GIL from pytest's thread. urllib3 spends about
355 µs of CPU on one JSON POST here (http.client reads the answer's headers line by line
through a buffered file and builds three objects around it); this client sends a request
in one ``sendall`` and usually reads the whole answer in one ``recv``: about 60 µs
(bench/wire.py measures the whole run).

It speaks what a JSON POST to a model server needs and refuses the rest as a broken answer:
``Content-Length``, chunked and read-to-close bodies, gzip and deflate, keep-alive, interim
``1xx`` answers. HTTPS, proxies and URLs with credentials go through requests' stack
(:mod:`evalgate.models.proxied`), where a remote API's latency dwarfs the client's CPU.

Connections are kept for reuse, at most ``connections`` of them; each call holds one
exclusively, so the pool is safe for the engine's threads. A kept connection the server
has closed meanwhile (its idle timeout) answers with nothing at all; the request then goes
once more, on a new connection (the server never saw it), instead of failing.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import weakref
import zlib
from urllib.parse import urlsplit

from evalgate.models.wire import Reply, WireError

MAX_HEAD = 64 * 1024
"""An answer's status line and headers longer than this are not an HTTP server's."""
_READ = 256 * 1024


class Malformed(Exception):
    """The bytes that came back are not an HTTP/1.x answer this client can read."""


class _Unanswered(Malformed):
    """The connection closed before a single byte of the answer: on a kept connection,
    the server had closed it while it was kept, and never saw the request."""


class PlainWire:
    """POSTs JSON bodies to one ``http://`` URL over kept-alive sockets (module docstring)."""

    def __init__(self, url: str, connections: int, user_agent: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or "@" in parts.netloc:
            raise ValueError(f"the plain wire takes http://host[:port]/path URLs without credentials, not {url!r}")
        self.url = url
        self.address = (parts.hostname, parts.port or 80)
        self.connections = connections
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.head = (
            f"POST {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nUser-Agent: {user_agent}\r\n"
        ).encode("latin-1")
        self.idle: list[tuple[socket.socket, float]] = []
        """Connections kept for reuse, each with the timeout it is set to."""
        self.lock = threading.Lock()
        self.closed = False
        # An adapter nobody closed still closes its kept sockets when it is collected.
        weakref.finalize(self, _close_all, self.idle, self.lock)

    def post(self, body: bytes, headers: dict[str, str], connect_timeout: float, read_timeout: float) -> Reply:
        """Send ``body`` and read the whole answer, or raise WireError."""
        request = self.head + _header_lines(headers) + b"Content-Length: %d\r\n\r\n" % len(body) + body
        kept = self._kept()
        if kept is not None:
            try:
                return self._exchange(*kept, request, read_timeout)
            except _Unanswered:
                pass  # closed while it was kept (the server's idle timeout): the request never reached it
        try:
            return self._exchange(self._connect(connect_timeout), None, request, read_timeout)
        except _Unanswered as error:
            raise WireError("broken", str(error)) from None

    def _exchange(self, sock: socket.socket, timeout: float | None, request: bytes, read_timeout: float) -> Reply:
        """One request and its answer on ``sock`` (whose timeout is ``timeout``)."""
        try:
            if timeout != read_timeout:
                _set_timeout(sock, read_timeout)
            try:
                sock.sendall(request)
            except (BrokenPipeError, ConnectionResetError):
                raise _Unanswered("the server closed the connection before the request was sent") from None
            reply, keep = read_reply(sock)
        except _Unanswered:
            sock.close()
            raise
        except (TimeoutError, BlockingIOError):  # BlockingIOError: the kernel's timeout (_set_timeout)
            sock.close()
            raise WireError("timeout", "ReadTimeout") from None
        except Malformed as error:
            sock.close()
            raise WireError("broken", str(error)) from None
        except OSError as error:  # reset, broken pipe
            sock.close()
            raise WireError("broken", type(error).__name__) from None
        if keep:
            self._keep(sock, read_timeout)
        else:
            sock.close()
        return reply

    def close(self) -> None:
        with self.lock:
            self.closed = True
        _close_all(self.idle, self.lock)

    def _kept(self) -> tuple[socket.socket, float] | None:
        with self.lock:
            return self.idle.pop() if self.idle else None

    def _connect(self, connect_timeout: float) -> socket.socket:
        try:
            sock = socket.create_connection(self.address, timeout=connect_timeout)
        except TimeoutError:
            raise WireError("timeout", "ConnectTimeout") from None
        except OSError as error:  # refused, unreachable, unknown host
            raise WireError("connect", f"{type(error).__name__}: {error.strerror or error}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one request, one segment, no delayed ACK wait
        return sock

    def _keep(self, sock: socket.socket, timeout: float) -> None:
        with self.lock:
            if not self.closed and len(self.idle) < self.connections:
                self.idle.append((sock, timeout))
                return
        sock.close()


def _close_all(idle: list[tuple[socket.socket, float]], lock: threading.Lock) -> None:
    with lock:
        kept = idle[:]
        idle.clear()
    for sock, _ in kept:
        sock.close()


def _header_lines(headers: dict[str, str]) -> bytes:
    """``Name: value`` lines; a line break in either would let one header forge others."""
    lines = []
    for name, value in headers.items():
        if any(c in name or c in value for c in "\r\n\0") or ":" in name:
            raise WireError("invalid", f"the request header {name!r} holds a line break or a colon in its name; "
                                       "check the values evalgate reads from the environment (an API key with a newline?)")
        lines.append(f"{name}: {value}\r\n")
    try:
        return "".join(lines).encode("latin-1")
    except UnicodeEncodeError:
        raise WireError("invalid", "a request header holds a character outside Latin-1 (an API key pasted with a "
                                   "typographic quote?); check the values evalgate reads from the environment") from None


def _set_timeout(sock: socket.socket, seconds: float) -> None:
    """Each send and receive on ``sock`` gives up after ``seconds``. On Linux the kernel
    keeps the timeout (SO_RCVTIMEO / SO_SNDTIMEO; a late read fails with EAGAIN): Python's
    own timeout would ``poll`` before every read and write, doubling the system calls,
    each of which hands the GIL to another thread and back."""
    if sys.platform != "linux":
        sock.settimeout(seconds)
        return
    sock.settimeout(None)
    whole = int(seconds)
    timeval = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


def read_reply(sock: socket.socket) -> tuple[Reply, bool]:
    """Read one answer from ``sock``: the Reply and whether the connection can be reused."""
    try:
        first = sock.recv(_READ)
    except (ConnectionResetError, BrokenPipeError):
        first = b""
    if not first:
        raise _Unanswered("the server closed the connection without answering")
    buffer = bytearray(first)
    while True:
        version, status, headers = _read_head(sock, buffer)
        if not 100 <= status < 200 or status == 101:
            break  # interim answers (100 Continue, 103 Early Hints) precede the real one
    keep = _keeps_alive(version, headers.get("connection", ""))
    # Bytes after the body mean this connection is out of step: it is not kept.
    encoding = headers.get("transfer-encoding")
    if status in (204, 304):
        body = b""
    elif encoding is not None:
        if encoding.rsplit(",", 1)[-1].strip().lower() != "chunked":
            raise Malformed(f"transfer-encoding {encoding!r} is not chunked")
        body = _read_chunked(sock, buffer)
        keep = keep and not buffer
    elif "content-length" in headers:
        length = headers["content-length"]
        if not length.isdigit():
            raise Malformed(f"content-length {length[:40]!r} is not one number")
        size = int(length)
        _fill(sock, buffer, size)
        body = bytes(buffer[:size])
        keep = keep and len(buffer) == size
    else:  # the body runs to the end of the connection
        while chunk := sock.recv(_READ):
            buffer += chunk
        body, keep = bytes(buffer), False
    return Reply(status, headers.get("retry-after"), _decoded(body, headers.get("content-encoding", ""))), keep


def _read_head(sock: socket.socket, buffer: bytearray) -> tuple[str, int, dict[str, str]]:
    """The status line and headers at the start of ``buffer`` (read more as needed),
    removed from it."""
    start = 0
    while (end := buffer.find(b"\r\n\r\n", start)) < 0:
        if len(buffer) > MAX_HEAD:
            raise Malformed(f"the answer's headers run past {MAX_HEAD // 1024} KiB")
        start = max(0, len(buffer) - 3)
        chunk = sock.recv(_READ)
        if not chunk:
            raise Malformed("the connection closed inside the answer's headers")
        buffer += chunk
    lines = buffer[:end].decode("latin-1").split("\r\n")
    del buffer[: end + 4]
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not (code.isdigit() and len(code) == 3):
        raise Malformed(f"not an HTTP/1.x status line: {lines[0][:60]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise Malformed(f"not a header line: {line[:60]!r}")
        name = name.lower()
        value = value.strip()
        if name == "content-length" and name in headers and headers[name] != value:
            raise Malformed("two different content-length headers")
        headers[name] = f"{headers[name]}, {value}" if name in headers and name != "content-length" else value
    return version, int(code), headers


def _keeps_alive(version: str, connection: str) -> bool:
    tokens = {token.strip().lower() for token in connection.split(",")}
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


def _fill(sock: socket.socket, buffer: bytearray, size: int) -> None:
    """Read until ``buffer`` holds at least ``size`` bytes."""
    while len(buffer) < size:
        chunk = sock.recv(max(_READ, size - len(buffer)))
        if not chunk:
            raise Malformed(f"the connection closed after {len(buffer)} of {size} bytes of the answer")
        buffer += chunk


def _line(sock: socket.socket, buffer: bytearray) -> bytes:
    """The next CRLF-ended line of ``buffer`` (read more as needed), removed from it."""
    start = 0
    while (end := buffer.find(b"\r\n", start)) < 0:
        if len(buffer) > MAX_HEAD:
            raise Malformed("a chunk header runs past 64 KiB")
        start = max(0, len(buffer) - 1)
        _fill(sock, buffer, len(buffer) + 1)
    line = bytes(buffer[:end])
    del buffer[: end + 2]
    return line


def _read_chunked(sock: socket.socket, buffer: bytearray) -> bytes:
    """A chunked body (RFC 9112 §7.1): sizes in hex, each chunk followed by CRLF, a zero
    size, then trailer lines up to an empty one."""
    body = bytearray()
    while True:
        size_text = _line(sock, buffer).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise Malformed(f"not a chunk size: {size_text[:20]!r}") from None
        if size == 0:
            while _line(sock, buffer):  # trailers, up to the empty line
                pass
            return bytes(body)
        _fill(sock, buffer, size + 2)
        if buffer[size : size + 2] != b"\r\n":
            raise Malformed("a chunk does not end where its size says")
        body += buffer[:size]
        del buffer[: size + 2]


def _decoded(body: bytes, encoding: str) -> bytes:
    """The body without its ``Content-Encoding`` (gzip, deflate; identity)."""
    for coding in reversed([c.strip().lower() for c in encoding.split(",") if c.strip()]):
        try:
            if coding in ("gzip", "x-gzip"):
                body = zlib.decompress(body, wbits=zlib.MAX_WBITS | 16)
            elif coding == "deflate":  # zlib-wrapped as the RFC says, or raw as some servers send
                try:
                    body = zlib.decompress(body)
                except zlib.error:
                    body = zlib.decompress(body, wbits=-zlib.MAX_WBITS)
            elif coding != "identity":
                raise Malformed(f"content-encoding {coding!r} is not one evalgate decodes (gzip, deflate)")
        except zlib.error as error:
            raise Malformed(f"the {coding} body does not decode ({error})") from None
    return body
