"""One JSON POST to a model server: what comes back, what can go wrong, and which client.

:func:`open_wire` picks the client for a URL once, when the adapter is built:

- ``http://`` reached directly (no proxy, no credentials in the URL) — a local or
  in-cluster server: :mod:`evalgate.models.plainwire`, HTTP/1.1 over plain sockets. There
  the server answers in milliseconds and the client's CPU per call decides the run's
  speed, so it is kept to one ``sendall`` and usually one ``recv``.
- everything else — HTTPS, an HTTP proxy from the environment, ``user:password@`` URLs:
  :mod:`evalgate.models.proxied`, the urllib3 pool requests itself would use, with
  requests' proxy, CA-bundle and TLS settings. A remote API's latency dwarfs its CPU.

Both are thread-safe, keep at most ``connections`` sockets, and never retry on their own:
retries are the adapter's, with its backoff and ``Retry-After``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Reply:
    """What came back: the status, the ``Retry-After`` header if any, and the raw body."""

    status: int
    retry_after: str | None
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class WireError(Exception):
    """The request got no complete answer: ``timeout``, no connection (``connect``), an
    answer that broke off or could not be decoded (``broken``), or a request that cannot
    be sent as it is (``invalid``: a header with a line break)."""

    def __init__(self, what: Literal["timeout", "connect", "broken", "invalid"], reason: str) -> None:
        super().__init__(reason)
        self.what = what


class Wire(Protocol):
    """POSTs JSON bodies to one URL through one pool of connections."""

    url: str

    def post(self, body: bytes, headers: dict[str, str], connect_timeout: float, read_timeout: float) -> Reply:
        """Send ``body`` and read the whole answer, or raise WireError."""
        ...

    def close(self) -> None: ...


def open_wire(url: str, connections: int) -> Wire:
    """The client for ``url`` (see the module docstring). Proxy settings are read here, on
    the thread that builds the adapter: reading them on a pool thread iterates os.environ
    while pytest's thread sets and deletes PYTEST_CURRENT_TEST (a KeyError in a random case)."""
    from evalgate.models.plainwire import PlainWire

    parts = urlsplit(url)
    direct = parts.scheme == "http" and "@" not in parts.netloc
    if direct and not _proxy_named():
        return PlainWire(url, connections, user_agent())
    from evalgate.models.proxied import ProxiedWire  # imports requests: only when it decides

    wire = ProxiedWire(url, connections, user_agent())
    if direct and not wire.through_proxy:  # NO_PROXY exempts this host
        wire.close()
        return PlainWire(url, connections, user_agent())
    return wire


def _proxy_named() -> bool:
    """True when the environment (or, on macOS and Windows, the system) names a proxy for
    http URLs; requests' own routing then decides whether this URL goes through it."""
    if sys.platform in ("darwin", "win32"):
        import urllib.request  # the system's settings; 60 ms of imports, so only where they live

        proxies = urllib.request.getproxies()
        return bool(proxies.get("http") or proxies.get("all"))
    return any(value and name.lower() in ("http_proxy", "all_proxy") for name, value in os.environ.items())


def user_agent() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"evalgate/{version('evalgate')}"
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "evalgate"
