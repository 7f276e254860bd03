"""The ``python`` adapter: a Python function is the model.

For models you call from Python anyway (a local pipeline, an SDK, a rules engine) and for
tests. The function gets the case input (prompt text or chat messages) and the
configured ``params`` as keyword arguments and returns the output text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalgate.cases import Case
from evalgate.config import PythonModelConfig
from evalgate.errors import ModelError
from evalgate.models.base import ModelAdapter, ModelOutput
from evalgate.sources import import_function


class PythonModel(ModelAdapter[PythonModelConfig]):
    """Calls ``module:function(input, **params)`` for each case."""

    kind = "python"

    def __init__(self, config: PythonModelConfig, project_dir: Path) -> None:
        super().__init__(config, project_dir)
        self.function = import_function(config.function, project_dir, "model function")

    @property
    def deterministic(self) -> bool:
        return self.config.deterministic

    def code(self) -> tuple[str, ...]:
        return (self.config.function,)

    def fingerprint(self) -> dict[str, Any]:
        # The function's source is not here: what it executes is recorded as it runs, block by
        # block, so editing another function of the same module leaves these results valid.
        return {"kind": self.kind, "function": self.config.function, "params": self.config.params}

    def generate(self, case: Case) -> ModelOutput:
        try:
            result = self.function(case.input, **self.config.params)
        except Exception as err:  # the user's code may raise anything; it is this case's error
            raise ModelError(f"{self.config.function} raised {type(err).__name__}: {err}") from err
        if not isinstance(result, str):
            raise ModelError(
                f"{self.config.function} returned {type(result).__name__}; it must return the "
                f"output text (str)",
                kind="bad-response",
            )
        return ModelOutput(text=result)
