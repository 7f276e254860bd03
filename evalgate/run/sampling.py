"""Which cases a tier runs, and in what order.

Each case gets a rank from a seeded hash of its id. Sorting by that rank gives an order
that is random (so a prefix is a fair sample), reproducible (same seed, same order, so
the cache keeps hitting) and stable when cases are added or removed: a new case only
displaces the cases ranked after it, instead of reshuffling the whole suite.

With ``stratify``, cases are grouped by their first tag and the groups interleaved in
proportion to their sizes (case j of a group of n sits at (j + u)/n on a common scale,
u a seeded offset per group), so every prefix holds each group in proportion: a prefix
covering a share t of the scale holds t·n cases of a group of n on average over the
offset, small groups included. A capped sample is such a prefix. There is deliberately
no floor of one case per group: it would over-sample small groups, and a sample tested
as if it were a fair draw of the suite would then be biased toward them. Slice gates that
need more of a tag than the cap holds get a *longer prefix* instead (:func:`cases_for_tier`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence

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


def cases_for_tier(
    cases: Sequence[Case], tier: TierConfig, seed: int, stratify: bool = False, needs: Mapping[str, int] | None = None
) -> list[Case]:
    """The cases the tier's cap allows: a prefix of the sampling order — with ``needs``
    (tag → cases of it the slice gates need), the shortest prefix that also holds that many
    of each tag. A longer prefix stays a fair sample of the suite and of every slice; topping
    up a slice with cases from further on would bias both."""
    order = sampling_order(cases, seed, stratify)
    size = tier.size(len(cases))
    if not needs:
        return order[:size]
    missing = {tag: need for tag, need in needs.items() if need > 0}
    end = 0
    while end < len(order) and (end < size or any(count > 0 for count in missing.values())):
        for tag in order[end].tags:
            if tag in missing:
                missing[tag] -= 1
        end += 1
    return order[:end]


def _strata(ordered: Sequence[Case]) -> dict[str, list[Case]]:
    groups: dict[str, list[Case]] = defaultdict(list)
    for case in ordered:
        groups[case.tags[0] if case.tags else ""].append(case)
    return dict(groups)


def _rank(case_id: str, seed: int) -> bytes:
    return hashlib.sha256(f"{seed}\x00{case_id}".encode()).digest()
