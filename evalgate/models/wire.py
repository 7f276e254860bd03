"""One JSON POST on a shared connection pool: the hot path of every HTTP model call.

requests decides *how* to reach the endpoint — proxies from the environment, the CA
bundle, TLS settings — once, when the adapter is built. Each call then goes straight to
the urllib3 pool requests itself would have used, with the body encoded once. A
``requests.Session`` call costs ~400 µs of CPU on top of the ~250 µs of its urllib3
transport (bench/wire.py); at 64 calls in flight that CPU is taken under the GIL from
pytest's own thread, which then waits behind the pool threads at every system call.

The pool is thread-safe and shared by all of an adapter's threads (urllib3's
connection pools are), holds at most ``connections`` sockets, and never retries or
redirects on its own: retries are the adapter's, with its backoff and ``Retry-After``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError


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
    """The request got no complete answer: ``timeout``, no connection (``connect``), or an
    answer that broke off or could not be decoded (``broken``)."""

    def __init__(self, what: Literal["timeout", "connect", "broken"], reason: str) -> None:
        super().__init__(reason)
        self.what = what


class Wire:
    """POSTs JSON bodies to one URL through one pool (see the module's docstring)."""

    def __init__(self, url: str, connections: int) -> None:
        self.url = url
        # Read from the environment here, on the thread that builds the adapter: reading it
        # on a pool thread iterates os.environ while pytest's thread sets and deletes
        # PYTEST_CURRENT_TEST (a KeyError in a random case).
        settings = requests.Session().merge_environment_settings(url, {}, None, None, None)
        proxies = settings.get("proxies") or {}
        verify = settings.get("verify", True)
        self.adapter = HTTPAdapter(pool_connections=1, pool_maxsize=connections)
        template = requests.Request("POST", url).prepare()
        self.pool = self.adapter.get_connection_with_tls_context(template, verify, proxies, None)
        self.adapter.cert_verify(self.pool, url, verify, None)
        self.target = self.adapter.request_url(template, proxies)
        """The path, or the whole URL when an HTTP proxy forwards it."""
        self.headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": user_agent()}

    def post(self, body: bytes, headers: dict[str, str], connect_timeout: float, read_timeout: float) -> Reply:
        """Send ``body`` and read the whole answer, or raise WireError."""
        try:
            response = self.pool.urlopen(
                "POST",
                self.target,
                body=body,
                headers={**self.headers, **headers},
                redirect=False,
                assert_same_host=False,
                retries=False,
                timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
                preload_content=True,
                decode_content=True,
            )
        except NewConnectionError as error:  # before ConnectTimeoutError: it subclasses it
            raise WireError("connect", type(error).__name__) from None
        except (ConnectTimeoutError, ReadTimeoutError) as error:
            raise WireError("timeout", type(error).__name__) from None
        except (HTTPError, OSError) as error:  # reset, broken off, undecodable, TLS
            raise WireError("broken", type(error).__name__) from None
        return Reply(response.status, response.headers.get("Retry-After"), response.data)

    def close(self) -> None:
        self.adapter.close()


def user_agent() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"evalgate/{version('evalgate')}"
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "evalgate"
