"""HTTPS, proxies and credentials in the URL: requests' routing with urllib3's pool.

requests decides *how* to reach the endpoint — proxies from the environment, the CA
bundle, TLS settings — once, when the wire is built. Each call then goes straight to
the urllib3 pool requests itself would have used, with the body encoded once. A
``requests.Session`` call costs ~400 µs of CPU on top of the ~250 µs of its urllib3
transport; plain ``http://`` endpoints reached directly skip both
(:mod:`evalgate.models.plainwire`).

The pool is thread-safe and shared by all of an adapter's threads (urllib3's
connection pools are), holds at most ``connections`` sockets, and never retries or
redirects on its own: retries are the adapter's, with its backoff and ``Retry-After``.
"""

from __future__ import annotations

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

from evalgate.models.wire import Reply, WireError


class ProxiedWire:
    """POSTs JSON bodies to one URL through requests' routing (see the module's docstring)."""

    def __init__(self, url: str, connections: int, user_agent: str) -> None:
        self.url = url
        settings = requests.Session().merge_environment_settings(url, {}, None, None, None)
        proxies = settings.get("proxies") or {}
        verify = settings.get("verify", True)
        self.adapter = HTTPAdapter(pool_connections=1, pool_maxsize=connections)
        template = requests.Request("POST", url).prepare()
        self.pool = self.adapter.get_connection_with_tls_context(template, verify, proxies, None)
        self.adapter.cert_verify(self.pool, url, verify, None)
        self.through_proxy = bool(requests.utils.select_proxy(url, proxies))
        """False when no proxy applies (none named, or NO_PROXY exempts the host)."""
        self.target = self.adapter.request_url(template, proxies)
        """The path, or the whole URL when an HTTP proxy forwards it."""
        self.headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": user_agent}

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
        except ValueError:  # http.client refuses a header value with a line break (and quotes it: a key)
            raise WireError("invalid", "a request header holds a line break; check the values evalgate reads "
                                       "from the environment (an API key with a newline?)") from None
        return Reply(response.status, response.headers.get("Retry-After"), response.data)

    def close(self) -> None:
        self.adapter.close()
