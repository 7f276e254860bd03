"""What every model adapter provides.

An adapter turns a case into output text. It also exposes a *fingerprint*: everything
that determines its behaviour (adapter kind, model id, generation parameters, content
of the code or file behind it). The result cache keys on it, so two adapters with equal
fingerprints must give interchangeable outputs — and a secret such as an API key must
never be part of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from evalgate.cases import Case


@dataclass(frozen=True)
class ModelOutput:
    """One model answer: the text, plus token usage when the backend reports it."""

    text: str
    usage: dict[str, int] | None = None
    """Token counts as the backend reported them; None when it reports none."""


@runtime_checkable
class ModelAdapter(Protocol):
    """A model under test, as the engine sees it."""

    kind: str
    """Adapter kind: one of :data:`evalgate.config.MODEL_KINDS`."""

    @property
    def concurrency(self) -> int:
        """How many calls may run at once."""
        ...

    @property
    def deterministic(self) -> bool:
        """Whether one input always gives one output; if not, repeats are cached apart."""
        ...

    def fingerprint(self) -> dict[str, Any]:
        """Everything that determines the outputs, JSON-serialisable, without secrets."""
        ...

    def generate(self, case: Case) -> ModelOutput:
        """The output for one case; raise ModelError when there is none."""
        ...
