"""Derived fields in JSON that read back: for the dataclasses results.json is made of.

A verdict's dataclass is its own schema (pydantic reads dataclasses), and a few of its
properties — a pass rate, a slice's label — are worth writing out for readers of the JSON
(``@computed_field``). Reading the file back must then accept those keys without making them
fields: :class:`Derived` drops them before validation, so the reader stays strict about
every other key (``extra="forbid"``) and a derived value is always recomputed, never trusted.
"""

from __future__ import annotations

from typing import Any

from pydantic import model_validator
from pydantic.fields import ComputedFieldInfo


class Derived:
    """Mixin for a dataclass with ``@computed_field`` properties: JSON written with them
    validates back into the dataclass."""

    __slots__ = ()

    @model_validator(mode="before")
    @classmethod
    def _without_derived(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = cls.upgrade(data)
        derived = derived_names(cls)
        return {key: value for key, value in data.items() if key not in derived} if derived & data.keys() else data


    @classmethod
    def upgrade(cls, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` as this version reads it, from a file an earlier version wrote (the
        derived keys still in): overridden where a field was added that such a file holds
        only in derived form."""
        return data


def derived_names(cls: type) -> frozenset[str]:
    """The names of ``cls``'s computed fields (its own and inherited)."""
    cached = cls.__dict__.get("_derived_names")
    if cached is None:
        cached = frozenset(
            name
            for klass in cls.__mro__
            for name, value in vars(klass).items()
            if isinstance(getattr(value, "decorator_info", None), ComputedFieldInfo)
        )
        type.__setattr__(cls, "_derived_names", cached)
    return cached
