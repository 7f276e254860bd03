"""What every model adapter is: one base class that declares every capability with its default.

An adapter turns a case into output text. Everything the rest of evalgate asks of an
adapter is declared here, once, with the answer most adapters give; an adapter overrides
only what differs. Nothing elsewhere probes an adapter with ``getattr`` or keeps its own
list of kinds: the engine asks :attr:`ModelAdapter.pool_size`, xdist sharing asks
:attr:`ModelAdapter.leaves_process`, ``-n auto`` asks :attr:`ModelAdapter.waits_elsewhere`,
and so on. A new adapter kind is three pieces — its config class (a member of
:data:`evalgate.config.ModelConfig`), its module with a subclass of :class:`ModelAdapter`,
and one line in :mod:`evalgate.models.registry`.

The *fingerprint* is everything that determines the outputs (adapter kind, model id,
generation parameters, the endpoint, content of the code or file behind it). The result
cache keys on it, so two adapters with equal fingerprints must give interchangeable
outputs — and a secret such as an API key must never be part of it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from evalgate.cases import Case
from evalgate.errors import ModelError

if TYPE_CHECKING:
    from evalgate.config import ModelConfigBase
    from evalgate.models.sharing import ProcessSlots

ConfigT = TypeVar("ConfigT", bound="ModelConfigBase")


@dataclass(frozen=True)
class ModelOutput:
    """One model answer: the text, plus token usage when the backend reports it."""

    text: str
    usage: dict[str, int] | None = None
    """Token counts as the backend reported them; None when it reports none."""


class ModelAdapter(ABC, Generic[ConfigT]):
    """A model under test, as the engine sees it. Subclass it and implement
    :meth:`fingerprint` and :meth:`generate`; override a capability only where the
    default below is wrong for your kind."""

    kind: ClassVar[str]
    """Adapter kind: the ``kind`` of its config class (one of :data:`evalgate.config.MODEL_KINDS`)."""

    leaves_process: ClassVar[bool] = False
    """Whether calls reach something outside this Python process (a server, a program, a
    service). Then ``concurrency`` is what that endpoint may see at once from the whole run,
    so xdist workers split it (:mod:`evalgate.models.sharing`); otherwise each process has
    its own. Default: False (the model runs in the process)."""

    waits_elsewhere: ClassVar[bool] = False
    """Whether a call spends its time waiting on another process rather than computing in
    this one. When every suite's model does, ``-n auto`` starts no xdist workers: one
    process's engine already keeps each endpoint at its concurrency. Default: False."""

    reports_usage: ClassVar[bool] = False
    """Whether outputs carry token usage (:attr:`ModelOutput.usage`). When False, the cost
    reports say "not reported" for this model instead of counting 0 tokens. Default: False."""

    can_embed: ClassVar[bool] = False
    """Whether :meth:`embed` works (a ``similarity`` scorer's model). Default: False."""

    def __init__(self, config: ConfigT, project_dir: Path) -> None:
        self.config = config
        self.project_dir = project_dir
        self.process_slots: ProcessSlots | None = None
        """Cross-process slots each call must hold, when xdist workers share fewer slots
        than there are workers (set by :func:`evalgate.models.registry.build_adapter`)."""

    # --- what the engine needs ---------------------------------------------------------

    @property
    def concurrency(self) -> int:
        """How many calls may run at once (the config's ``concurrency``)."""
        return self.config.concurrency

    @property
    def pool_size(self) -> int:
        """Threads the engine gives this adapter. Default: ``concurrency``; an adapter whose
        calls back off between retries asks for more, so a call waiting out a backoff does
        not keep the others from the endpoint."""
        return self.concurrency

    @property
    def deterministic(self) -> bool:
        """Whether one input always gives one output; if not, repeats run and are cached
        apart. Default: True (a function, a recording)."""
        return True

    def readiness(self) -> str | None:
        """Why the first call would fail before it is made (an API key variable that is
        not set), as one line, or None. Default: None."""
        return None

    # --- what the cache needs ----------------------------------------------------------

    @abstractmethod
    def fingerprint(self) -> dict[str, Any]:
        """Everything that determines the outputs, JSON-serialisable, without secrets."""

    def dependencies(self) -> list[Path]:
        """Files every result depends on, known before any call (a prompt file, a recording);
        what calls use is recorded as they run. Default: none."""
        return []

    def code(self) -> tuple[str, ...]:
        """``module:name`` of the project's Python code a call runs in this process (a
        ``python`` model's function, a ``custom`` adapter's class). What it executes, reads and
        imports is recorded while calls run (:mod:`evalgate.tracing`); empty (the default):
        calls run only evalgate's code, and no trace function is set."""
        return ()

    def recorded_variants(self, names: list[str]) -> bool:
        """Whether robustness variants with these names can be answered. Default: True (the
        model is called with the perturbed input); a recording answers only rows it has."""
        return True

    # --- calls -------------------------------------------------------------------------

    @abstractmethod
    def generate(self, case: Case) -> ModelOutput:
        """The output for one case; raise ModelError when there is none."""

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Embedding vectors of ``texts``, in order (see :attr:`can_embed`)."""
        raise ModelError(f"a {self.kind} model gives no embeddings; use an openai model for a similarity scorer",
                         kind="bad-response")

    def stop(self) -> None:
        """The run is over: calls not yet sent are not sent. Default: nothing to do."""

    def close(self) -> None:
        """Release connections and other resources (after :meth:`stop`). Default: nothing."""
