"""Who may fill what others trust: every stored row carries the ref that wrote it, and trusted
CI signs what it writes.

A shared store is shared with everyone who can reach it — a pull request from a fork, a
laptop, a compromised runner. A result it serves decides a gate, so a row must not be able
to pass a broken model because someone wrote it there. The rules, anchored on how GitHub's
and GitLab's caches isolate branches and how Bazel's remote cache takes writes only from
trusted CI:

- **Scope by ref.** Each row records the ref (branch) of the run that wrote it. A run reads
  rows of its own ref and of *trusted refs* — the default branch unless ``[store]
  trusted_refs`` says otherwise — and never another branch's: a pull request's results are
  never served to main or to another pull request.
- **Signatures.** A run that holds the store key (``EVALGATE_STORE_KEY``, a CI secret given
  only to trusted workflows) signs every row it writes: HMAC-SHA256 over the row's content
  and its ref. A run holding the key serves only rows whose signature verifies; a row
  altered in the database (``UPDATE cache SET result = …``) or written by someone without
  the key is ignored and reported, never served. The key is never stored, printed or put
  into a cache key.
- A run without the key (a fork's pull request) cannot verify signatures — the key would
  have to be handed to untrusted code — so it relies on the database's permissions for the
  trusted refs' rows: docs/security.md sets up PostgreSQL roles with which such runs read
  trusted rows and write only their own.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

UNSIGNED = ""


@dataclass
class Trust:
    """This run's ref, the refs it trusts, and the key it signs and verifies with."""

    ref: str
    """The ref this run writes as (its branch; ``detached@<commit>`` without one)."""
    trusted: tuple[str, ...] = ("main", "master")
    """Ref names (or fnmatch patterns: ``release/*``) whose rows every run may read."""
    key: bytes | None = field(default=None, repr=False)
    """The store key, when this run holds it; never printed (``repr`` leaves it out)."""
    rejected: dict[str, int] = field(default_factory=dict)
    """Table → rows ignored because their signature did not verify, for the run's report."""

    @property
    def signing(self) -> bool:
        return self.key is not None

    def readable_refs(self) -> list[str]:
        """Ref names a query may select (patterns are checked in :meth:`may_read`)."""
        return [self.ref, *self.trusted]

    def may_read(self, ref: str) -> bool:
        """Whether rows written by ``ref`` may be served to this run at all."""
        return ref == self.ref or any(fnmatch.fnmatchcase(ref, pattern) for pattern in self.trusted)

    def sign(self, table: str, ref: str, fields: Sequence[Any]) -> str:
        """The signature of a row (empty without a key)."""
        if self.key is None:
            return UNSIGNED
        return hmac.new(self.key, _message(table, ref, fields), hashlib.sha256).hexdigest()

    def accepts(self, table: str, ref: str, signature: str | None, fields: Sequence[Any]) -> bool:
        """Whether a row may be served: its ref is readable and, when this run holds the key,
        its signature verifies (a failure is counted in :attr:`rejected`)."""
        if not self.may_read(ref or ""):
            return False
        if self.key is None:
            return True
        expected = hmac.new(self.key, _message(table, ref, fields), hashlib.sha256).hexdigest()
        if signature and hmac.compare_digest(expected, signature):
            return True
        self.rejected[table] = self.rejected.get(table, 0) + 1
        return False

    def report(self) -> list[str]:
        """One line per table with rows ignored for a bad or missing signature."""
        return [
            f"ignored {count} {table} row(s) of the store whose signature does not verify with EVALGATE_STORE_KEY "
            "(altered in the database, or written by a run without the key): never served"
            for table, count in sorted(self.rejected.items())
        ]


def _message(table: str, ref: str, fields: Sequence[Any]) -> bytes:
    return json.dumps([table, ref, *fields], separators=(",", ":"), default=str, ensure_ascii=False).encode()


LOCAL = Trust("local", ("local",))
"""The trust of a store opened outside a run (``evalgate cache stats``, tests): one scope."""
