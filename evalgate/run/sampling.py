"""Which cases a tier runs, and in what order.

Each case gets a rank from a seeded hash of its id. Sorting by that rank gives an order
that is random (so a prefix is a fair sample), reproducible (same seed, same order, so
the cache keeps hitting) and stable when cases are added or removed: a new case only
displaces the cases ranked after it, instead of reshuffling the whole suite.

With ``stratify``, cases are grouped by their first tag and the groups interleaved in
proportion to their sizes (case j of a group of n sits at (j + u)/n on a common scale,
u a seeded offset per group), so every prefix is close to proportional. A capped sample
allocates its size to the groups proportionally (largest remainders), giving every
group at least one case when the cap allows.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Sequence

from evalgate.cases import Case
from evalgate.config import TierConfig


def sampling_order(cases: Sequence[Case], seed: int, stratify: bool = False) -> list[Case]:
    """All cases, in the order sequential decisions read them."""
    ranked = sorted(cases, key=lambda case: _rank(case.id, seed))
    if not stratify:
        return ranked
    groups = _strata(ranked)
    position: dict[str, float] = {}
    for name, members in groups.items():
        offset = int.from_bytes(_rank(f"stratum:{name}", seed)[:8], "big") / 2**64
        for index, case in enumerate(members):
            position[case.id] = (index + offset) / len(members)
    return sorted(ranked, key=lambda case: position[case.id])


def cases_for_tier(cases: Sequence[Case], tier: TierConfig, seed: int, stratify: bool = False) -> list[Case]:
    """The cases the tier's cap allows, in sampling order."""
    ordered = sampling_order(cases, seed, stratify)
    size = len(ordered)
    if tier.sample is not None:
        size = min(size, tier.sample)
    elif tier.fraction is not None:
        size = math.ceil(tier.fraction * len(ordered))
    if size >= len(ordered):
        return ordered
    if not stratify:
        return ordered[:size]
    groups = _strata(ordered)
    quota = allocate(size, {name: len(members) for name, members in groups.items()})
    chosen = {case.id for name, members in groups.items() for case in members[: quota[name]]}
    return [case for case in ordered if case.id in chosen]


def allocate(size: int, counts: dict[str, int]) -> dict[str, int]:
    """Split ``size`` over groups in proportion to ``counts`` (largest remainders), with at
    least one per group when ``size`` allows and never more than a group holds."""
    total = sum(counts.values())
    floor_one = size >= len(counts)
    exact = {name: size * count / total for name, count in counts.items()}
    quota = {name: min(counts[name], max(int(value), 1 if floor_one else 0)) for name, value in exact.items()}
    by_remainder = sorted(counts, key=lambda name: (exact[name] - int(exact[name]), counts[name]), reverse=True)
    while sum(quota.values()) < size:
        grew = False
        for name in by_remainder:
            if sum(quota.values()) >= size:
                break
            if quota[name] < counts[name]:
                quota[name] += 1
                grew = True
        if not grew:
            break
    while sum(quota.values()) > size:  # the floor of one overshot: trim the largest groups
        largest = max(quota, key=lambda name: (quota[name], counts[name]))
        quota[largest] -= 1
    return quota


def _strata(ordered: Sequence[Case]) -> dict[str, list[Case]]:
    groups: dict[str, list[Case]] = defaultdict(list)
    for case in ordered:
        groups[case.tags[0] if case.tags else ""].append(case)
    return dict(groups)


def _rank(case_id: str, seed: int) -> bytes:
    return hashlib.sha256(f"{seed}\x00{case_id}".encode()).digest()
