"""The ``command`` adapter: a program is the model.

For models behind a CLI or a script in another language. Each case runs the program
once, with ``{"id", "input", "tags"}`` as JSON on stdin (never the expected value); its
stdout is the output. A non-zero exit or a timeout is this case's error, quoting the end
of stderr.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

from evalgate.cases import Case
from evalgate.config import CommandModelConfig
from evalgate.errors import ConfigError, ModelError
from evalgate.models.base import ModelOutput
from evalgate.sources import file_digest

_EXCERPT = 300


class CommandModel:
    """Runs ``command`` per case in the project directory."""

    kind = "command"

    def __init__(self, config: CommandModelConfig, project_dir: Path) -> None:
        self.config = config
        self.project_dir = project_dir
        self.argv = shlex.split(config.command) if isinstance(config.command, str) else list(config.command)
        if not self.argv:
            raise ConfigError("model 'command' is empty; give the program to run, e.g. command = [\"python\", \"model.py\"]")

    @property
    def concurrency(self) -> int:
        return self.config.concurrency

    @property
    def deterministic(self) -> bool:
        return self.config.deterministic

    def fingerprint(self) -> dict[str, Any]:
        # Arguments that are files of the project (a script) contribute their content.
        files = {
            arg: file_digest(self.project_dir / arg) for arg in self.argv if (self.project_dir / arg).is_file()
        }
        return {"kind": self.kind, "command": self.argv, "files": files}

    def generate(self, case: Case) -> ModelOutput:
        payload = json.dumps({"id": case.id, "input": case.input, "tags": list(case.tags)}, ensure_ascii=False)
        try:
            done = subprocess.run(
                self.argv,
                input=payload,
                capture_output=True,
                text=True,
                cwd=self.project_dir,
                timeout=self.config.timeout,
            )
        except subprocess.TimeoutExpired:
            raise ModelError(
                f"{self.argv[0]} did not finish within {self.config.timeout:g} s (killed); raise 'timeout'",
                kind="timeout",
            ) from None
        except OSError as err:
            raise ModelError(f"cannot run {self.argv[0]}: {err.strerror}", kind="exception") from None
        if done.returncode != 0:
            tail = done.stderr.strip()[-_EXCERPT:]
            raise ModelError(f"{self.argv[0]} exited with {done.returncode}: {json.dumps(tail)}", kind="exit")
        return ModelOutput(text=done.stdout.rstrip("\n"))
