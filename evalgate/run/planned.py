"""A suite as one run executes it: its tier, its cases in sampling order, its items.

The item names are made here and only here; every other place that needs to go from a
pytest node back to a case looks the name up in :meth:`PlannedSuite.items` instead of
parsing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from evalgate.cases import Case
from evalgate.project import Suite


@dataclass(frozen=True)
class PlannedSuite:
    """A suite as this run will execute it: its selected cases, in sampling order."""

    suite: Suite
    cases: list[Case]
    """The planned cases, in sampling order."""
    repeats: int
    tier: str
    early_stop: bool = True
    full_order: tuple[str, ...] = ()
    """Every planned case id of the suite in sampling order, all shards together."""

    def items(self) -> Iterator[tuple[str, Case, int]]:
        """``(item name, case, repeat index)`` for every item this suite contributes: the
        case id, with ``[r2]``-style suffixes when the tier repeats cases. Generated, not
        kept: a 100,000-case suite should not hold a second list of its items."""
        for case in self.cases:
            if self.repeats == 1:
                yield case.id, case, 0
            else:
                for repeat in range(self.repeats):
                    yield f"{case.id}[r{repeat + 1}]", case, repeat

    @cached_property
    def by_item_name(self) -> dict[str, tuple[Case, int]]:
        """Item name → ``(case, repeat index)``: how a node id reported by an xdist worker
        is traced back to its case, without parsing the name."""
        return {name: (case, repeat) for name, case, repeat in self.items()}
