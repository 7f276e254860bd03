"""Model kinds → adapters: one table, keyed by the config classes of the union.

A new adapter is a config class in :mod:`evalgate.config` (a member of ``ModelConfig``)
plus one entry here; a test fails if the two disagree.
"""

from __future__ import annotations

from collections.abc import Callable
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
from evalgate.models.sharing import per_process, register_guard

BUILDERS: dict[type[Any], Callable[[Any, Path], ModelAdapter]] = {
    PythonModelConfig: PythonModel,
    RecordedModelConfig: RecordedModel,
    OpenAIModelConfig: OpenAIModel,
    CommandModelConfig: CommandModel,
    CustomModelConfig: CustomModel,
}
"""One adapter class per member of :data:`evalgate.config.ModelConfig` (a test checks it)."""


def build_adapter(config: ModelConfig, project_dir: Path, worker: tuple[int, int] | None = None) -> ModelAdapter:
    """The adapter for a validated model config, as this process should run it: in an
    xdist ``worker`` (index, count), with its share of the run's ``concurrency``."""
    config, slots = per_process(config, worker)
    adapter = BUILDERS[type(config)](config, project_dir)
    if slots is not None:
        register_guard(adapter, slots)
    return adapter
