"""A suite as one run executes it: its tier, its cases in sampling order, its items.

The item names are made here and only here; every other place that needs to go from a
pytest node back to a case looks the name up in :meth:`PlannedSuite.items` instead of
parsing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from evalgate.cases import Case
from evalgate.project import Suite
from evalgate.untrusted import one_line
from evalgate.variants import Variant


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
    variants: tuple[Variant, ...] = ()
    """The tier's robustness variants: each case also runs with these perturbed inputs."""
    seed: int = 0
    """The project seed the variants' perturbations are drawn from."""

    def items(self) -> Iterator[tuple[str, Case, int]]:
        """``(item name, case, repeat index)`` for every item this suite contributes: the
        case id, with ``[r2]``-style suffixes when the tier repeats cases, then its variants
        (``q1[typo]``, ``q1[typo-r2]``) right after it, so a case and its variants finish
        together. Generated, not kept: a 100,000-case suite should not hold a second list
        of its items."""
        for case in self.cases:
            for run in (case, *self.variant_cases(case)):
                for repeat in range(self.repeats):
                    yield _item_name(case.id, run.variant, repeat, self.repeats), run, repeat

    def variant_cases(self, case: Case) -> tuple[Case, ...]:
        """The case's variants, made once per case and run (a custom perturbation may be slow)."""
        if not self.variants:
            return ()
        made = self._variant_memo.get(case.id)
        if made is None:
            made = self._variant_memo[case.id] = tuple(variant.apply(case, self.seed) for variant in self.variants)
        return made

    @cached_property
    def _variant_memo(self) -> dict[str, tuple[Case, ...]]:
        return {}

    @property
    def runs_per_case(self) -> int:
        """Items each planned case contributes: its repeats, times one plus its variants."""
        return self.repeats * (1 + len(self.variants))

    @property
    def variant_names(self) -> tuple[str, ...]:
        return tuple(variant.name for variant in self.variants)

    @cached_property
    def by_item_name(self) -> dict[str, tuple[Case, int]]:
        """Item name → ``(case, repeat index)``: how a node id reported by an xdist worker
        is traced back to its case, without parsing the name."""
        return {name: (case, repeat) for name, case, repeat in self.items()}


def _item_name(case_id: str, variant: str | None, repeat: int, repeats: int) -> str:
    """``q1``, ``q1[r2]``, ``q1[typo]``, ``q1[typo-r2]``: pytest's parametrize style."""
    parts = [variant] if variant is not None else []
    if repeats > 1:
        parts.append(f"r{repeat + 1}")
    return f"{case_id}[{'-'.join(parts)}]" if parts else case_id


def safe_nodeid(path: Path, root: Path) -> str:
    """A suite file's node id: its path from the rootdir, as pytest would write it, with what a
    file name could smuggle into pytest's output made visible — a line break (``\n``), other
    control characters, and ``::`` (pytest's separator: ``a::b.toml`` would read as a file ``a``
    with a test ``b.toml``, and xdist would schedule the wrong items). Every process computes the
    same id, so ``-n`` and ``--lf`` work as for any file."""
    try:
        relative = path.relative_to(root).as_posix()
    except ValueError:
        relative = path.as_posix()
    return one_line(relative).replace("::", ":\u2060:")
