"""Splitting a run's cases over CI runners: ``--eval-shard K/N``.

A case belongs to shard ``sha256(case id) mod N + 1``: deterministic on every runner, and
stable when cases are added (a new case lands in one shard; no other case moves).
Shards run every case they own (early stopping needs the whole sampling-order prefix,
which only the merge sees); ``evalgate report merge`` then decides each suite once.
"""

from __future__ import annotations

import hashlib

from evalgate.errors import ConfigError


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` → ``(2, 4)``; a ConfigError saying how to write it otherwise."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ConfigError(f"--eval-shard {text!r}: write it as K/N, e.g. 2/4 (shard 2 of 4)") from None
    if count < 1 or not 1 <= index <= count:
        raise ConfigError(f"--eval-shard {text!r}: K must be between 1 and N, and N at least 1")
    return index, count


def in_shard(case_id: str, shard: tuple[int, int]) -> bool:
    """True when the case belongs to ``shard`` (``(K, N)``)."""
    index, count = shard
    digest = hashlib.sha256(case_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1 == index
