"""One JSON POST to a model server through urllib3, with a deadline and size limits.

Every model call goes through the urllib3 connection pool that requests itself would use,
with requests' routing decided once when the wire is built: proxies from the environment
(``NO_PROXY`` honoured), the CA bundle, TLS settings. A ``requests.Session`` call would cost
~400 µs of CPU on top of its urllib3 transport, so each call goes straight to the pool.
The pool is thread-safe, keeps at most ``connections`` sockets, and never retries or
redirects on its own: retries are the adapter's, with its backoff and ``Retry-After``.

What urllib3 does not do, and this module adds (the only protocol-level code evalgate has):

- **a deadline for the whole attempt** — connecting, sending, and reading every byte of the
  answer. urllib3's timeouts bound each socket operation, so a server that drips its answer
  never times out; :mod:`evalgate.models.deadlines` cuts the socket at the deadline.
- **size limits**: the bytes read off the wire and the decoded (decompressed) size are
  capped, so an endless body or a compression bomb is one case's error, not the machine's
  memory. urllib3 ≥ 2.6 bounds each decode step (``read1(amt)``); the sum is bounded here.

What urllib3 and http.client already do, relied on and tested (``tests/test_http.py``):
status-line and header parsing with their limits (100 header lines, 64 KiB a line), chunked
framing, gzip/deflate decoding, and never reusing a connection that holds unread bytes: a
pooled connection that is readable when taken (an unsolicited answer, a FIN) is closed
first (``is_connection_dropped``). An answer not read to its end closes its connection here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

from evalgate.models.deadlines import WATCHDOG, Watch
from evalgate.untrusted import one_line

_CURRENT = threading.local()
"""The watch of the call running on this thread, for the connection to attach its socket to."""
_READ = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """What one attempt may take."""

    timeout: float
    """Seconds for the whole attempt: connect, send, and read the whole answer."""
    connect_timeout: float
    """Seconds to establish the connection (within ``timeout``)."""
    max_bytes: int
    """Bytes of the answer's body as sent (compressed or not)."""
    max_decoded_bytes: int
    """Bytes of the body once decoded (decompressed)."""


@dataclass(frozen=True)
class Reply:
    """What came back: the status, the ``Retry-After`` header if any, and the decoded body."""

    status: int
    retry_after: str | None
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class WireError(Exception):
    """The request got no usable answer: ``timeout`` (the deadline passed), ``connect`` (no
    connection), ``broken`` (an answer that broke off or is not HTTP), ``too-large`` (past a
    size limit), or ``invalid`` (a request that cannot be sent as it is: a header with a
    line break)."""

    def __init__(self, what: Literal["timeout", "connect", "broken", "too-large", "invalid"], reason: str) -> None:
        super().__init__(reason)
        self.what = what


class _Watched:
    """Mixed into urllib3's connection classes: the socket joins the call's watch before
    the answer is read (urllib3's documented ``ConnectionCls`` extension point)."""

    sock: object

    def getresponse(self):  # type: ignore[no-untyped-def]
        watch: Watch | None = getattr(_CURRENT, "watch", None)
        if watch is not None:
            watch.attach(self.sock)  # type: ignore[arg-type]
        return super().getresponse()  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class Wire:
    """POSTs JSON bodies to one URL through one urllib3 pool (see the module docstring)."""

    def __init__(self, url: str, connections: int, user_agent: str) -> None:
        self.url = url
        settings = requests.Session().merge_environment_settings(url, {}, None, None, None)
        proxies = settings.get("proxies") or {}
        verify = settings.get("verify", True)
        self.adapter = HTTPAdapter(pool_connections=1, pool_maxsize=connections)
        template = requests.Request("POST", url).prepare()
        self.pool = self.adapter.get_connection_with_tls_context(template, verify, proxies, None)
        self.adapter.cert_verify(self.pool, url, verify, None)
        self.pool.ConnectionCls = (
            _WatchedHTTPSConnection if isinstance(self.pool, HTTPSConnectionPool) else _WatchedHTTPConnection
        )
        self.through_proxy = bool(requests.utils.select_proxy(url, proxies))
        """False when no proxy applies (none named, or NO_PROXY exempts the host)."""
        self.target = self.adapter.request_url(template, proxies)
        """The path, or the whole URL when an HTTP proxy forwards it."""
        self.headers = {"Content-Type": "application/json", "Accept": "application/json",
                        "Accept-Encoding": "gzip, deflate", "User-Agent": user_agent}

    def post(self, body: bytes, headers: dict[str, str], limits: Limits) -> Reply:
        """Send ``body`` and read the whole answer within ``limits``, or raise WireError."""
        watch = WATCHDOG.watch(limits.timeout)
        _CURRENT.watch = watch
        try:
            return self._exchange(body, headers, limits, watch)
        finally:
            _CURRENT.watch = None
            watch.finish()

    def _exchange(self, body: bytes, headers: dict[str, str], limits: Limits, watch: Watch) -> Reply:
        try:
            response = self.pool.urlopen(
                "POST", self.target, body=body, headers={**self.headers, **headers},
                redirect=False, assert_same_host=False, retries=False,
                timeout=urllib3.Timeout(connect=min(limits.connect_timeout, limits.timeout), read=limits.timeout),
                preload_content=False, decode_content=True, release_conn=False,
            )
        except NewConnectionError as error:  # before ConnectTimeoutError: it subclasses it
            raise WireError("connect", type(error).__name__) from None
        except ConnectTimeoutError as error:
            raise WireError("timeout" if watch.expired else "connect", type(error).__name__) from None
        except ValueError:  # http.client refuses a header value with a line break (and quotes it: a key)
            raise WireError("invalid", "a request header holds a line break; check the values evalgate reads "
                                       "from the environment (an API key with a newline?)") from None
        except Exception as error:  # noqa: BLE001 - whatever a broken answer raises, it is this call's error
            raise _failure(error, watch, limits) from None
        complete = False
        try:
            declared = response.headers.get("Content-Length")
            if declared is not None and not (declared.isascii() and declared.strip().isdigit()):
                raise WireError("broken", f"Content-Length {one_line(declared, limit=40)!r} is not a number of bytes")
            if declared is not None and int(declared) > limits.max_bytes:
                raise WireError("too-large", f"the answer declares {declared.strip()} bytes, over the limit of {limits.max_bytes}")
            data = _read_body(response, limits, watch)
            complete = True
            return Reply(response.status, response.headers.get("Retry-After"), data)
        except WireError:
            raise
        except Exception as error:  # noqa: BLE001 - a body that breaks off or does not decode
            raise _failure(error, watch, limits) from None
        finally:
            if not complete:
                response.close()  # closes the connection: an answer not read to its end is never reused
            response.release_conn()

    def close(self) -> None:
        self.adapter.close()


def _read_body(response: urllib3.BaseHTTPResponse, limits: Limits, watch: Watch) -> bytes:
    """The decoded body, read piece by piece so both limits and the deadline hold."""
    pieces: list[bytes] = []
    decoded = 0
    while True:
        piece = response.read1(_READ)
        if not piece:
            break
        decoded += len(piece)
        if response.tell() > limits.max_bytes:
            raise WireError("too-large", f"the answer ran past the limit of {limits.max_bytes} bytes")
        if decoded > limits.max_decoded_bytes:
            raise WireError("too-large", f"the answer decodes to more than {limits.max_decoded_bytes} bytes "
                                         f"(after {response.tell()} bytes on the wire)")
        if watch.expired:
            raise WireError("timeout", "the answer did not arrive within the deadline")
        pieces.append(piece)
    if watch.expired:
        raise WireError("timeout", "the answer did not arrive within the deadline")
    return b"".join(pieces)


def _failure(error: Exception, watch: Watch, limits: Limits) -> WireError:
    """The WireError for whatever urllib3 or http.client raised."""
    if watch.expired or isinstance(error, ReadTimeoutError | TimeoutError):
        return WireError("timeout", f"no complete answer within {limits.timeout:g} s")
    return WireError("broken", f"{type(error).__name__}: {one_line(str(error), limit=120)}")


def user_agent() -> str:
    from evalgate.about import installed_version

    return f"evalgate/{installed_version()}"
