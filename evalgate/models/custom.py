"""The ``custom`` adapter: your own class is the model.

For backends none of the built-in kinds speaks (an SDK with its own client, a batch API,
an in-process pipeline with state). ``adapter = "module:Class"`` names a class that is
called once as ``Class(**params)``; its instance must have ``generate(case)`` returning
the output text or a :class:`~evalgate.models.base.ModelOutput`, and may have
``fingerprint()`` returning JSON-able settings that determine its outputs (never a
secret). What its methods execute and read is recorded as they run (:mod:`evalgate.tracing`),
so editing the adapter invalidates its cached results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalgate.cases import Case
from evalgate.config import CustomModelConfig
from evalgate.errors import ConfigError, ModelError
from evalgate.models.base import ModelAdapter, ModelOutput
from evalgate.sources import import_function


class CustomModel(ModelAdapter[CustomModelConfig]):
    """Wraps a user's adapter object; concurrency and determinism come from the config."""

    kind = "custom"
    leaves_process = True  # a user's backend may well call a service: its concurrency is the run's total

    def __init__(self, config: CustomModelConfig, project_dir: Path) -> None:
        super().__init__(config, project_dir)
        factory = import_function(config.adapter, project_dir, "custom model adapter")
        try:
            self.instance = factory(**config.params)
        except Exception as err:  # the user's constructor may raise anything: a config problem
            raise ConfigError(
                f"custom model adapter '{config.adapter}' could not be created with params "
                f"{sorted(config.params)}: {type(err).__name__}: {err}"
            ) from None
        if not callable(getattr(self.instance, "generate", None)):
            raise ConfigError(
                f"custom model adapter '{config.adapter}' has no generate(case) method; "
                f"see the ModelAdapter protocol in evalgate.models.base"
            )

    @property
    def deterministic(self) -> bool:
        return self.config.deterministic

    def code(self) -> tuple[str, ...]:
        return (self.config.adapter,)

    def fingerprint(self) -> dict[str, Any]:
        own = getattr(self.instance, "fingerprint", None)
        return {
            "kind": self.kind,
            "adapter": self.config.adapter,
            "params": self.config.params,
            "settings": own() if callable(own) else None,
        }

    def generate(self, case: Case) -> ModelOutput:
        try:
            result = self.instance.generate(case)
        except ModelError:
            raise
        except Exception as err:  # the user's code may raise anything; it is this case's error
            raise ModelError(f"{self.config.adapter} raised {type(err).__name__}: {err}") from err
        if isinstance(result, str):
            return ModelOutput(text=result)
        if isinstance(result, ModelOutput):
            return result
        raise ModelError(
            f"{self.config.adapter}.generate returned {type(result).__name__}; return the output "
            f"text (str) or a ModelOutput",
            kind="bad-response",
        )
