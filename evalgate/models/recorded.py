"""The ``recorded`` adapter: outputs generated elsewhere, looked up by case id.

For outputs produced by another system (a batch job, a vendor, a paper's released
generations): evalgate scores and gates them without calling any model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalgate.cases import Case, get_field, is_missing
from evalgate.config import RecordedModelConfig
from evalgate.errors import DatasetError, ModelError
from evalgate.models.base import ModelOutput
from evalgate.sources import file_digest, text_lines


class RecordedModel:
    """Answers each case with the recorded output whose id matches the case id."""

    kind = "recorded"

    def __init__(self, config: RecordedModelConfig, project_dir: Path) -> None:
        self.config = config
        self.path = (project_dir / config.path).resolve()
        if not self.path.is_file():
            raise DatasetError(
                "recorded outputs file not found; check the model's 'path' (relative to the "
                "project directory)",
                path=self.path,
            )
        self.digest = file_digest(self.path)
        self.outputs = self._read()

    @property
    def concurrency(self) -> int:
        return self.config.concurrency

    @property
    def deterministic(self) -> bool:
        return True  # a recording never changes

    def dependencies(self) -> list[Path]:
        """The file of recorded outputs."""
        return [self.path]

    def fingerprint(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.digest,
            "output_field": self.config.output_field,
        }

    def generate(self, case: Case) -> ModelOutput:
        if case.id not in self.outputs:
            raise ModelError(
                f"no recorded output for case '{case.id}' in {self.path}; record one or remove the case",
                kind="missing",
            )
        return ModelOutput(text=self.outputs[case.id])

    def _read(self) -> dict[str, str]:
        outputs: dict[str, str] = {}
        for line, text in text_lines(self.path):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as err:
                raise DatasetError(f"invalid JSON ({err.msg})", path=self.path, line=line) from None
            key = get_field(row, self.config.id_field) if isinstance(row, dict) else None
            output = get_field(row, self.config.output_field) if isinstance(row, dict) else None
            if is_missing(key) or key is None:
                raise DatasetError(
                    f"no '{self.config.id_field}' field; set id_field in the model config",
                    path=self.path,
                    line=line,
                )
            if is_missing(output) or not isinstance(output, str):
                raise DatasetError(
                    f"no text at '{self.config.output_field}'; set output_field in the model "
                    f"config (dots reach into objects)",
                    path=self.path,
                    line=line,
                )
            outputs[str(key)] = output
        return outputs
