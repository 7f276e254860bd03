"""Model adapters: one module per kind, all behind :class:`ModelAdapter`."""

from __future__ import annotations

from pathlib import Path

from evalgate.config import (
    CommandModelConfig,
    ModelConfig,
    OpenAIModelConfig,
    PythonModelConfig,
    RecordedModelConfig,
)
from evalgate.models.base import ModelAdapter, ModelOutput
from evalgate.models.command import CommandModel
from evalgate.models.openai import OpenAIModel
from evalgate.models.python import PythonModel
from evalgate.models.recorded import RecordedModel

__all__ = ["ModelAdapter", "ModelOutput", "build_adapter"]


def build_adapter(config: ModelConfig, project_dir: Path) -> ModelAdapter:
    """The adapter for a validated model config."""
    if isinstance(config, PythonModelConfig):
        return PythonModel(config, project_dir)
    if isinstance(config, RecordedModelConfig):
        return RecordedModel(config, project_dir)
    if isinstance(config, OpenAIModelConfig):
        return OpenAIModel(config, project_dir)
    if isinstance(config, CommandModelConfig):
        return CommandModel(config, project_dir)
    raise TypeError(f"unknown model config {config!r}")
