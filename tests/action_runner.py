"""Run the `run:` steps of evalgate's composite action locally, the way GitHub would.

A small stand-in for the Actions runner: it renders the `${{ inputs.* }}` and
`${{ steps.*.outputs.* }}` expressions the action uses in `env:` and step properties,
gives every step its own $GITHUB_OUTPUT file, shares $GITHUB_STEP_SUMMARY, and runs the
script with `bash --noprofile --norc -eo pipefail`. `uses:` steps (setup-python, cache,
upload-artifact) are third-party and are recorded, not run; the "Install evalgate" step
is skipped because the tests run inside an environment that has evalgate installed.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACTION = Path(__file__).resolve().parent.parent / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class StepRun:
    name: str
    returncode: int
    stdout: str
    outputs: dict[str, str] = field(default_factory=dict)


def load_action() -> dict[str, Any]:
    return yaml.safe_load(ACTION.read_text())


def run_action(workdir: Path, inputs: dict[str, str], env: dict[str, str]) -> tuple[list[StepRun], dict[str, str], str]:
    """Run the action; ``(step runs, action outputs, step summary)``."""
    action = load_action()
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    values.update(inputs)
    summary = workdir / "step_summary.md"
    summary.write_text("")
    outputs: dict[str, dict[str, str]] = {}
    runs: list[StepRun] = []
    failed = False
    for index, step in enumerate(action["runs"]["steps"]):
        condition = str(step.get("if", ""))
        if "uses" in step or step.get("name") == "Install evalgate":
            continue
        if failed and "always()" not in condition:
            continue
        if "inputs.cache == 'true'" in condition and values["cache"] != "true":
            continue
        if "inputs.comment == 'true'" in condition and (values["comment"] != "true" or env.get("GITHUB_EVENT_NAME") != "pull_request"):
            continue
        output_file = workdir / f"output_{index}"
        output_file.write_text("")

        def render(text: str) -> str:
            return EXPRESSION.sub(lambda m: _value(m.group(1), values, outputs), str(text))

        step_env = {**os.environ, **env, "GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(summary),
                    "GITHUB_ACTION_PATH": str(ACTION.parent)}
        step_env.update({key: render(value) for key, value in step.get("env", {}).items()})
        cwd = workdir / render(step.get("working-directory", "."))
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                              cwd=cwd, env=step_env, capture_output=True, text=True)
        parsed = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)
        if "id" in step:
            outputs[step["id"]] = parsed
        runs.append(StepRun(step.get("name", step.get("id", "")), done.returncode, done.stdout + done.stderr, parsed))
        failed = failed or done.returncode != 0
    action_outputs = {name: _value(spec["value"][3:-2].strip(), values, outputs) for name, spec in action["outputs"].items()}
    return runs, action_outputs, summary.read_text()


def _value(expression: str, inputs: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
    if expression.startswith("inputs."):
        return inputs[expression.removeprefix("inputs.")]
    match = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
    if match:
        return outputs.get(match.group(1), {}).get(match.group(2), "")
    raise AssertionError(f"the local runner does not know the expression {expression!r}")
