"""Secrets are never written anywhere: not in a report, the cache, a log or an exception.

A CI gate runs with a live API key, and some servers, proxies and gateways echo the
request's ``Authorization`` header in an error body (or even in an answer). Everything a
case produces — its output, its error message, a scorer's explanation, a traceback — goes
through :data:`SECRETS` before it is kept, so what reaches the reports and the store is
already clean. Two kinds of secret are removed:

- the *values* of the environment variables that configured secrets are read from (each
  ``api_key_env``), registered when a project is loaded;
- anything that looks like an echoed credential header (``Authorization: Bearer …``,
  ``api-key: …``, ``x-api-key: …``), whatever its value;
- credentials inside a URL or a connection string: the password of ``scheme://user:password@host``
  (a ``base_url_env`` pointing at a gateway, a store URL) and the value of ``password=``,
  ``token=``, ``api_key=`` and the like in a query string or a ``key=value`` DSN.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping

REDACTED = "[redacted]"
MIN_SECRET = 4
"""Shorter values are not treated as secrets (redacting "abc" everywhere would mangle text)."""
_HEADER = re.compile(
    r"(?i)\b(authorization|proxy-authorization|x-api-key|api[-_]key|openai-api-key)"
    r"(\"?\s*[:=]\s*\"?)((?:bearer|basic|token)\s+)?([^\s\"',;}<]+)"
)


_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@?#]*:)([^\s@/?#]+)(@)")
_PARAMETER = re.compile(
    r"(?i)((?<=[?&])(?:password|passwd|pwd|secret|client_secret|token|access_token|api[_-]?key|apikey|key|sig|signature)"
    r"|(?<![\w-])(?:password|passwd|sslpassword))(\s*=\s*)([^\s&;'\"]+)"
)
"""A secret-named parameter of a query string (``?api_key=…``, ``&sig=…``), or a password
anywhere (``password=…`` in a ``key=value`` connection string)."""


class Redactor:
    """Removes registered secret values and echoed credential headers from text."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self.lock = threading.Lock()

    def add(self, value: str | None) -> None:
        """Treat ``value`` as a secret from now on (values shorter than MIN_SECRET are ignored)."""
        if value and len(value.strip()) >= MIN_SECRET:
            with self.lock:
                self.values.add(value.strip())

    def add_environment(self, names: Iterable[str | None], env: Mapping[str, str] | None = None) -> None:
        """Treat the values of these environment variables as secrets."""
        env = os.environ if env is None else env
        for name in names:
            if name:
                self.add(env.get(name))

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by ``[redacted]``."""
        if not text:
            return text
        with self.lock:
            values = sorted(self.values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, REDACTED)
        text = _HEADER.sub(lambda match: f"{match.group(1)}{match.group(2)}{match.group(3) or ''}{REDACTED}", text)
        if "://" in text:
            text = _URL_PASSWORD.sub(lambda match: f"{match.group(1)}{REDACTED}{match.group(3)}", text)
        if "=" in text:
            text = _PARAMETER.sub(lambda match: f"{match.group(1)}{match.group(2)}{REDACTED}", text)
        return text


SECRETS = Redactor()
"""The process-wide redactor: projects register their secrets here when loaded."""
