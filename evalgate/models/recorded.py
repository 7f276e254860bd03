"""The ``recorded`` adapter: outputs generated elsewhere, looked up by case id or by input.

For outputs produced by another system (a batch job, a vendor, a paper's released
generations): evalgate scores and gates them without calling any model. Matched by id, a
robustness variant looks for its own row (``q1[typo]``) and is an error without one: a
perturbed input is never answered with the case's output. Matched by input, any call —
a judge's included — replays the answer recorded for exactly that input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalgate.cases import Case, get_field, is_missing
from evalgate.config import RecordedModelConfig
from evalgate.errors import DatasetError, ModelError
from evalgate.models.base import ModelAdapter, ModelOutput
from evalgate.results import variant_label
from evalgate.sources import file_digest, text_lines


class RecordedModel(ModelAdapter[RecordedModelConfig]):
    """Answers each case with the recorded output whose id matches the case id."""

    kind = "recorded"

    def __init__(self, config: RecordedModelConfig, project_dir: Path) -> None:
        super().__init__(config, project_dir)
        self.path = (project_dir / config.path).resolve()
        if not self.path.is_file():
            raise DatasetError(
                "recorded outputs file not found; check the model's 'path' (relative to the "
                "project directory)",
                path=self.path,
            )
        self.digest = file_digest(self.path)
        self.outputs = self._read()

    def dependencies(self) -> list[Path]:
        """The file of recorded outputs."""
        return [self.path]

    def fingerprint(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.digest,
            "output_field": self.config.output_field,
            "match": self.config.match,
        }

    def recorded_variants(self, names: list[str]) -> bool:
        """Whether the recording has rows for these robustness variants (``q1[typo]``): a
        recording made without them cannot answer a perturbed input."""
        if self.config.match == "input":
            return False
        suffixes = tuple(f"[{name}]" for name in names)
        return any(key.endswith(suffixes) for key in self.outputs)

    def generate(self, case: Case) -> ModelOutput:
        if self.config.match == "input":
            key = input_key(case.input)
            if key not in self.outputs:
                raise ModelError(
                    f"no recorded output for this input (case '{case.id}') in {self.path}; record the call again",
                    kind="missing",
                )
            return ModelOutput(text=self.outputs[key])
        label = variant_label(case.id, case.variant)
        if label not in self.outputs:
            raise ModelError(
                f"no recorded output for case '{label}' in {self.path}; record one or remove the case",
                kind="missing",
            )
        return ModelOutput(text=self.outputs[label])

    def _read(self) -> dict[str, str]:
        outputs: dict[str, str] = {}
        for line, text in text_lines(self.path):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as err:
                raise DatasetError(f"invalid JSON ({err.msg})", path=self.path, line=line) from None
            except (ValueError, RecursionError):
                raise DatasetError("cannot read this JSON line (nested too deeply, or a number of more than 4300 digits)",
                                   path=self.path, line=line) from None
            field = self.config.input_field if self.config.match == "input" else self.config.id_field
            key = get_field(row, field) if isinstance(row, dict) else None
            output = get_field(row, self.config.output_field) if isinstance(row, dict) else None
            if is_missing(key) or key is None:
                setting = "input_field" if self.config.match == "input" else "id_field"
                raise DatasetError(f"no '{field}' field; set {setting} in the model config", path=self.path, line=line)
            if is_missing(output) or not isinstance(output, str):
                raise DatasetError(
                    f"no text at '{self.config.output_field}'; set output_field in the model "
                    f"config (dots reach into objects)",
                    path=self.path,
                    line=line,
                )
            outputs[input_key(key) if self.config.match == "input" else str(key)] = output
        return outputs


def input_key(value: Any) -> str:
    """A recorded or asked input (a prompt, or chat messages) as one canonical string."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
