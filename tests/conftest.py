"""Shared helpers: real eval projects written into a temporary directory."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

MODEL_PY = """
def answer(prompt, correct=10, errors=()):
    n = int(prompt.removeprefix("q"))
    if n in errors:
        raise RuntimeError(f"model crashed on {prompt}")
    return f"a{n}" if n < correct else "wrong"
"""


def write_project(
    root: Path,
    *,
    cases: int = 10,
    correct: int = 10,
    errors: tuple[int, ...] = (),
    min_pass_rate: float = 0.8,
    max_errors: int = 0,
    suite: str = "qa",
    concerns: tuple[str, ...] = (),
    extra_config: str = "",
    early_stop: bool = False,
) -> Path:
    """A project with one python-model suite: case i asks "q<i>", expects "a<i>"; the model
    answers the first ``correct`` cases right and raises on the ``errors`` indices.

    Its ``full`` and ``smoke`` tiers run every planned case (``early_stop`` false) unless
    asked otherwise, so tests of other features see every case."""
    (root / "evals").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "toy_model.py").write_text(MODEL_PY)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [tool.evalgate]
            suites = ["evals/*.toml"]
            {extra_config}

            [tool.evalgate.models.toy]
            kind = "python"
            function = "toy_model:answer"
            params = {{ correct = {correct}, errors = {list(errors)} }}

            [tool.pytest.ini_options]
            """
        )
    )
    add_suite(root, suite, cases=cases, min_pass_rate=min_pass_rate, max_errors=max_errors, concerns=concerns)
    if not early_stop:
        (root / "tiers").mkdir(exist_ok=True)
        (root / "tiers" / "full.toml").write_text("early_stop = false\n")
        (root / "tiers" / "smoke.toml").write_text("sample = 20\nearly_stop = false\n")
        (root / "tiers" / "deep-dive.toml").write_text("repeats = 3\nearly_stop = false\n")
    return root


def add_suite(
    root: Path,
    name: str,
    *,
    cases: int = 10,
    min_pass_rate: float = 0.8,
    max_errors: int = 0,
    concerns: tuple[str, ...] = (),
    model: str = "toy",
) -> Path:
    """Add a suite file and its dataset to a project made by :func:`write_project`."""
    rows = [{"id": f"case-{i:03d}", "input": f"q{i}", "expected": f"a{i}"} for i in range(cases)]
    (root / "data" / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    suite_file = root / "evals" / f"{name}.toml"
    suite_file.write_text(
        textwrap.dedent(
            f"""
            dataset = "data/{name}.jsonl"
            model = "{model}"
            concerns = {list(concerns)}

            [scorer]
            kind = "exact"

            [gate]
            min_pass_rate = {min_pass_rate}
            max_errors = {max_errors}
            """
        )
    )
    return suite_file


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``project(cases=..., correct=...)`` writes a project under tmp_path."""

    def make(**kwargs: object) -> Path:
        return write_project(tmp_path / "proj", **kwargs)  # type: ignore[arg-type]

    return make
