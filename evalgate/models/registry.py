"""Model kinds → adapters: one table, keyed by the config classes of the union.

A new adapter kind is a config class in :mod:`evalgate.config` (a member of
``ModelConfig``), a module with a :class:`~evalgate.models.base.ModelAdapter` subclass, and
one entry here; a test fails if the table and the union disagree. Everything else asks the
adapter's declared capabilities.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalgate.config import (
    CommandModelConfig,
    CustomModelConfig,
    ModelConfig,
    OpenAIModelConfig,
    PythonModelConfig,
    RecordedModelConfig,
)
from evalgate.models.base import ModelAdapter
from evalgate.models.command import CommandModel
from evalgate.models.custom import CustomModel
from evalgate.models.openai import OpenAIModel
from evalgate.models.python import PythonModel
from evalgate.models.recorded import RecordedModel
from evalgate.models.sharing import per_process

BUILDERS: dict[type[Any], type[ModelAdapter[Any]]] = {
    PythonModelConfig: PythonModel,
    RecordedModelConfig: RecordedModel,
    OpenAIModelConfig: OpenAIModel,
    CommandModelConfig: CommandModel,
    CustomModelConfig: CustomModel,
}
"""One adapter class per member of :data:`evalgate.config.ModelConfig` (a test checks it)."""


def build_adapter(config: ModelConfig, project_dir: Path, worker: tuple[int, int] | None = None) -> ModelAdapter[Any]:
    """The adapter for a validated model config, as this process should run it: in an
    xdist ``worker`` (index, count), with its share of the run's ``concurrency``."""
    adapter_class = BUILDERS[type(config)]
    config, slots = per_process(config, adapter_class.leaves_process, worker)
    adapter = adapter_class(config, project_dir)
    adapter.process_slots = slots
    return adapter
