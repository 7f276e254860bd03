"""``evalgate init``: a working starter project in an existing folder.

Writes a config, one example suite with its dataset and a tiny Python model, and copies
the default tiers so they can be edited — then ``pytest --eval-tier=smoke`` runs at once.
Never overwrites: an existing file is an error naming it.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from evalgate.config import PROJECT_FILE, find_project_file
from evalgate.errors import ConfigError

CONFIG = """\
# evalgate project config; every key is described in evalgate's README, "Configuration reference".
suites = ["evals/*.toml"]

[models.example]
kind = "python"
function = "example_model:answer"
# A hosted or local model instead:
# kind = "openai"
# model = "gpt-4o-mini"
# api_key_env = "OPENAI_API_KEY"
"""

SUITE = """\
description = "Example: arithmetic the example model gets right"
dataset = "data/example.jsonl"
model = "example"
concerns = ["example"]

[scorer]
kind = "numeric"

[gate]
min_pass_rate = 0.9
"""

DATASET = "".join(
    f'{{"id": "add-{a}-{b}", "input": "What is {a} + {b}?", "expected": {a + b}}}\n'
    for a, b in [(1, 2), (3, 4), (10, 5), (7, 8), (12, 30), (6, 6), (9, 1), (20, 22), (5, 0), (13, 17)]
)

MODEL = '''\
"""A stand-in model: replace it with a call to yours."""

import re


def answer(prompt: str) -> str:
    numbers = [int(n) for n in re.findall(r"\\d+", prompt)]
    return f"The answer is {sum(numbers)}."
'''


def init_project(directory: Path) -> list[Path]:
    """Write the starter files into ``directory``; the paths written."""
    if find_project_file(directory) is not None:
        raise ConfigError(f"{directory} already has an evalgate config; edit it instead of running init")
    files = {
        PROJECT_FILE: CONFIG,
        "evals/example.toml": SUITE,
        "data/example.jsonl": DATASET,
        "example_model.py": MODEL,
    }
    for resource in importlib.resources.files("evalgate.default_tiers").iterdir():
        if resource.name.endswith(".toml"):
            files[f"tiers/{resource.name}"] = resource.read_text(encoding="utf-8")
    existing = [name for name in files if (directory / name).exists()]
    if existing:
        raise ConfigError(f"{directory / existing[0]} already exists; evalgate init never overwrites files")
    written = []
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    written.append(_ignore(directory))
    return written


IGNORED = (".evalgate/", "reports/")
"""evalgate's own output: the result store and reports are never part of a change."""


def _ignore(directory: Path) -> Path:
    """Add evalgate's output folders to ``.gitignore`` (created, or appended to once)."""
    path = directory / ".gitignore"
    present = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    missing = [entry for entry in IGNORED if entry not in present]
    if missing:
        prefix = "" if not present or not present[-1] else "\n"
        with path.open("a", encoding="utf-8") as handle:
            handle.write(prefix + "# evalgate: the result store and reports\n" + "\n".join(missing) + "\n")
    return path
