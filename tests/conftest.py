"""Shared builders: real eval projects written into a temporary directory, cases and results.

Projects are described with keyword options and rendered to TOML, so a test that asks for
a setting gets it — an unknown option is a TypeError, never a string replacement that
silently matched nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from evalgate.cases import Case
from evalgate.config import GateConfig
from evalgate.results import CaseError, CaseResult
from evalgate.verdict.monitor import Baseline, SuiteSpec

REPO = Path(__file__).resolve().parent.parent

MODEL_PY = """
def answer(prompt, correct=10, errors=()):
    n = int(prompt.removeprefix("q").split()[0])
    if n in errors:
        raise RuntimeError(f"model crashed on {prompt}")
    return f"a{n}" if n < correct else "wrong"
"""


def toml_value(value: Any) -> str:
    """A TOML literal for the simple values tests use (strings, numbers, booleans, lists,
    inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + " }"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def toml_table(name: str | None, values: Mapping[str, Any]) -> str:
    """``[name]`` followed by ``key = value`` lines (no header when ``name`` is None)."""
    lines = [f"[{name}]"] if name else []
    lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def write_project(
    root: Path,
    *,
    cases: int = 10,
    correct: int = 10,
    errors: tuple[int, ...] = (),
    min_pass_rate: float = 0.8,
    max_errors: int | None = None,
    suite: str = "qa",
    concerns: tuple[str, ...] = (),
    early_stop: bool = False,
    model: Mapping[str, Any] | None = None,
    model_options: Mapping[str, Any] | None = None,
    model_code: str = MODEL_PY,
    project_options: Mapping[str, Any] | None = None,
    ini: Mapping[str, Any] | None = None,
    tiers: Mapping[str, Mapping[str, Any]] | None = None,
    gate: Mapping[str, Any] | None = None,
    scorer: Mapping[str, Any] | list[Mapping[str, Any]] | None = None,
    suite_options: Mapping[str, Any] | None = None,
    rows: Sequence[Mapping[str, Any]] | None = None,
) -> Path:
    """A project with one suite on model ``toy``: by default a python model where case i
    asks "q<i>", expects "a<i>", and the model answers the first ``correct`` cases right
    and raises on the ``errors`` indices.

    ``model`` replaces the toy model's table (e.g. an ``openai`` model), ``model_options``
    adds keys to it; ``project_options`` adds ``[tool.evalgate]`` keys; ``ini`` adds
    ``[tool.pytest.ini_options]`` keys; ``tiers`` replaces tier files. Without
    ``early_stop`` the ``full``, ``smoke`` and ``deep-dive`` tiers run every planned case,
    so tests of other features see every case. Calling it again rewrites the project."""
    (root / "evals").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "toy_model.py").write_text(model_code)
    table = dict(model) if model is not None else {
        "kind": "python", "function": "toy_model:answer", "params": {"correct": correct, "errors": list(errors)},
    }
    table.update(model_options or {})
    (root / "pyproject.toml").write_text(
        "\n".join([
            toml_table("tool.evalgate", {"suites": ["evals/*.toml"], **(project_options or {})}),
            toml_table("tool.evalgate.models.toy", table),
            toml_table("tool.pytest.ini_options", dict(ini or {})),
        ])
    )
    add_suite(
        root, suite, cases=cases, min_pass_rate=min_pass_rate, max_errors=max_errors, concerns=concerns,
        gate=gate, scorer=scorer, suite_options=suite_options, rows=rows,
    )
    chosen = dict(tiers or {})
    if not early_stop:
        chosen = {
            "full": {"early_stop": False},
            "smoke": {"sample": 20, "early_stop": False},
            "deep-dive": {"repeats": 3, "early_stop": False},
            **chosen,
        }
    if chosen:
        (root / "tiers").mkdir(exist_ok=True)
        for name, settings in chosen.items():
            (root / "tiers" / f"{name}.toml").write_text(toml_table(None, settings))
    return root


def add_suite(
    root: Path,
    name: str,
    *,
    cases: int = 10,
    min_pass_rate: float = 0.8,
    max_errors: int | None = None,
    concerns: tuple[str, ...] = (),
    model: str = "toy",
    gate: Mapping[str, Any] | None = None,
    scorer: Mapping[str, Any] | list[Mapping[str, Any]] | None = None,
    suite_options: Mapping[str, Any] | None = None,
    rows: Sequence[Mapping[str, Any]] | None = None,
) -> Path:
    """Add a suite file and its dataset (``rows``, or ``cases`` rows "q<i>" → "a<i>") to a
    project made by :func:`write_project`."""
    if rows is None:
        rows = [{"id": f"case-{i:03d}", "input": f"q{i}", "expected": f"a{i}"} for i in range(cases)]
    (root / "data" / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    suite_file = root / "evals" / f"{name}.toml"
    settings = {"dataset": f"data/{name}.jsonl", "model": model, "concerns": list(concerns), **(suite_options or {})}
    if isinstance(scorer, list):  # several scorers: an inline array
        settings["scorer"] = scorer
    suite_file.write_text(
        toml_table(None, settings)
        + ("" if isinstance(scorer, list) else toml_table("scorer", dict(scorer or {"kind": "exact"})))
        + toml_table("gate", {"min_pass_rate": min_pass_rate, **({"max_errors": max_errors} if max_errors is not None else {}), **(gate or {})})
    )
    return suite_file


def make_case(
    case_id: str = "c1",
    prompt: str | None = "p",
    expected: Any = None,
    tags: tuple[str, ...] = (),
    messages: tuple[tuple[str, str], ...] | None = None,
    source: str = "d.jsonl:1",
) -> Case:
    """A case for unit tests."""
    return Case(id=case_id, prompt=None if messages else prompt, messages=messages, expected=expected, tags=tags, source=source)


def make_result(
    case_id: str,
    passed: bool | None = True,
    *,
    suite: str = "s",
    repeat: int = 0,
    error: str | None = None,
    output: str = "out",
    latency: float = 0.0,
) -> CaseResult:
    """A scored result (``passed``), or an errored one when ``error`` names an error kind."""
    if error is not None:
        return CaseResult(suite=suite, case_id=case_id, repeat=repeat, error=CaseError(kind=error, message="slow"))  # type: ignore[arg-type]
    return CaseResult(
        suite=suite, case_id=case_id, repeat=repeat, output=output, passed=passed, score=float(bool(passed)), latency=latency
    )


def make_spec(
    order: Sequence[str],
    *,
    population: int | None = None,
    selected: bool = False,
    repeats: int = 1,
    skip_reason: str | None = None,
    baseline: Baseline | None = None,
    name: str = "s",
    min_pass_rate: float = 0.8,
    kind: str = "suite",
    regression_kind: str = "suite",
    alpha_fail_cap: float | None = None,
    **gate: Any,
) -> SuiteSpec:
    """What a suite's verdict is about: ``order`` planned, a population of ``population``
    cases (default: exactly the planned ones), a gate with ``min_pass_rate`` and ``gate``;
    the pass rate and the comparison about the ``suite`` unless ``kind`` / ``regression_kind``
    say ``distribution``."""
    size = len(order) if population is None else population
    config = GateConfig(min_pass_rate=min_pass_rate, **gate)
    return SuiteSpec(name, config, tuple(order), size, size, selected, repeats, skip_reason, baseline,
                     kind=kind, regression_kind=regression_kind, alpha_fail_cap=alpha_fail_cap)  # type: ignore[arg-type]


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``project(cases=..., correct=...)`` writes a project under tmp_path."""

    def make(**kwargs: Any) -> Path:
        return write_project(tmp_path / "proj", **kwargs)

    return make
