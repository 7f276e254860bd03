"""Which cases a tier runs, and in what order.

Each case gets a rank from a seeded hash of its id. Sorting by that rank gives an order
that is random (so a prefix is a fair sample), reproducible (same seed, same order, so
the cache keeps hitting) and stable when cases are added or removed: a new case only
displaces the cases ranked after it, instead of reshuffling the whole suite.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from evalgate.config import TierConfig
from evalgate.suites import Case


def sampling_order(cases: Sequence[Case], seed: int) -> list[Case]:
    """All cases, ordered by their seeded rank."""
    return sorted(cases, key=lambda case: _rank(case.id, seed))


def cases_for_tier(cases: Sequence[Case], tier: TierConfig, seed: int) -> list[Case]:
    """The prefix of the sampling order that the tier's cap allows."""
    ordered = sampling_order(cases, seed)
    if tier.sample is not None:
        return ordered[: tier.sample]
    if tier.fraction is not None:
        return ordered[: math.ceil(tier.fraction * len(ordered))]
    return ordered


def _rank(case_id: str, seed: int) -> bytes:
    return hashlib.sha256(f"{seed}\x00{case_id}".encode()).digest()
