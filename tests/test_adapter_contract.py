"""The adapter contract: one base class declares every capability, one registry lists the kinds.

The last test adds a new kind to a copy of the package by touching exactly three places —
a config class in the ``ModelConfig`` union, its module, one registry line — and runs a
real gate with it, with and without xdist workers: nothing else in evalgate needs to know.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, toml_table

from evalgate.config import MODEL_KINDS
from evalgate.models.base import ModelAdapter
from evalgate.models.registry import BUILDERS

CAPABILITIES = ("leaves_process", "waits_elsewhere", "reports_usage", "can_embed")


@pytest.mark.parametrize("config_class", list(BUILDERS), ids=lambda c: c.__name__)
def test_every_adapter_subclasses_the_base_and_declares_its_kind(config_class: type) -> None:
    adapter = BUILDERS[config_class]
    assert issubclass(adapter, ModelAdapter)
    assert adapter.kind == config_class.model_fields["kind"].annotation.__args__[0]
    assert all(isinstance(getattr(adapter, name), bool) for name in CAPABILITIES)
    assert {adapter.kind for adapter in BUILDERS.values()} == set(MODEL_KINDS)


def test_nothing_probes_an_adapter_or_keeps_its_own_list_of_kinds() -> None:
    offenders = []
    for path in sorted((REPO / "evalgate").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            if re.search(r"(getattr|hasattr)\(.*adapter", line) or re.search(r"\bKINDS\s*=\s*frozenset", line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_base_class_defaults_are_safe() -> None:
    class Bare(ModelAdapter):  # type: ignore[type-arg]
        kind = "bare"

        def fingerprint(self) -> dict[str, str]:
            return {"kind": self.kind}

        def generate(self, case):  # type: ignore[no-untyped-def]
            raise AssertionError("not called")

    from evalgate.config import PythonModelConfig
    from evalgate.errors import ModelError

    adapter = Bare(PythonModelConfig(kind="python", function="m:f", concurrency=3), Path("."))
    assert (adapter.concurrency, adapter.pool_size, adapter.deterministic) == (3, 3, True)
    assert adapter.readiness() is None and adapter.dependencies() == [] and adapter.process_slots is None
    assert not (adapter.leaves_process or adapter.waits_elsewhere or adapter.reports_usage or adapter.can_embed)
    with pytest.raises(ModelError, match="gives no embeddings"):
        adapter.embed(["text"])
    adapter.stop()
    adapter.close()
    with pytest.raises(TypeError):
        ModelAdapter(adapter.config, Path("."))  # type: ignore[abstract]


TOY_CONFIG = '''

class ToyModelConfig(ModelConfigBase):
    """A toy kind added by tests/test_adapter_contract.py."""

    kind: Literal["toy"]
    """Selects this adapter."""
    answer: str = "yes"
    """What every case is answered with."""

'''

TOY_MODULE = '''
"""A toy kind: every case answered with a fixed text, in a subprocess-free in-process call."""

from typing import Any

from evalgate.config import ToyModelConfig
from evalgate.models.base import ModelAdapter, ModelOutput


class ToyModel(ModelAdapter[ToyModelConfig]):
    kind = "toy"
    leaves_process = True

    def fingerprint(self) -> dict[str, Any]:
        return {"kind": self.kind, "answer": self.config.answer}

    def generate(self, case: Any) -> ModelOutput:
        return ModelOutput(text=self.config.answer, usage={"prompt_tokens": 1, "completion_tokens": 1})
'''


def add_toy_kind(package: Path) -> None:
    """The three edits a new kind needs: config, module, registry."""
    config = package / "config.py"
    text = config.read_text(encoding="utf-8")
    union = "ModelConfig = Annotated[\n    PythonModelConfig"
    assert union in text
    text = text.replace(union, TOY_CONFIG.lstrip("\n") + "\n" + union.replace("PythonModelConfig", "ToyModelConfig | PythonModelConfig"))
    config.write_text(text, encoding="utf-8")
    (package / "models" / "toy.py").write_text(TOY_MODULE, encoding="utf-8")
    registry = package / "models" / "registry.py"
    text = registry.read_text(encoding="utf-8")
    text = text.replace("BUILDERS: dict", "from evalgate.config import ToyModelConfig  # noqa: E402\n"
                        "from evalgate.models.toy import ToyModel  # noqa: E402\n\nBUILDERS: dict")
    text = text.replace("    PythonModelConfig: PythonModel,", "    PythonModelConfig: PythonModel,\n    ToyModelConfig: ToyModel,")
    registry.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_new_kind_needs_only_config_module_and_registry(tmp_path: Path, workers: str) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(REPO / "evalgate", copy / "evalgate", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "tiers", copy / "evalgate" / "default_tiers")
    add_toy_kind(copy / "evalgate")
    project = tmp_path / "project"
    (project / "evals").mkdir(parents=True)
    (project / "evals" / "data.jsonl").write_text(
        "".join(f'{{"id": "c{i}", "input": "q{i}", "expected": "yes"}}\n' for i in range(12)), encoding="utf-8")
    (project / "evalgate.toml").write_text(toml_table("models.toy", {"kind": "toy", "concurrency": 3}), encoding="utf-8")
    (project / "evals" / "toy.toml").write_text(
        'model = "toy"\n' + toml_table("dataset", {"path": "evals/data.jsonl"}) + toml_table("scorer", {"kind": "exact"})
        + toml_table("gate", {"min_pass_rate": 0.9}), encoding="utf-8")
    env = {"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "evalgate", "run", str(project), "--tier", "full", "--", "-n", workers, "-p", "no:cacheprovider"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"toy\b.*PASS", done.stdout), done.stdout
    assert re.search(r"\d+ passed", done.stdout) and " failed" not in done.stdout
