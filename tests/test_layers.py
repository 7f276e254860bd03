"""Imports follow the flow: a stage imports only the stages below it (docs/architecture.md).

git → plan, datasets → cases, engine → store / model → score → verdict → reports, with the
pytest face and the CLI on top. Each module's evalgate imports (top level and inside
functions alike) are read with ``ast`` and checked against the layer table below.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

LAYERS: list[set[str]] = [
    {"errors", "redact", "untrusted", "blocks", "tracing", "derived", "about"},
    {"results", "sources", "ci", "config_errors", "checkout"},
    {"config"},
    {"cases"},
    {"models", "scorers", "variants"},
    {"project"},
    {"changes", "store", "verdict"},
    {"document"},
    {"report"},
    {"run", "scaffold"},
    {"plugin", "cli", "__init__", "__main__"},
]
"""Lowest first. A module may import its own package and anything in a lower layer; the
packages of one layer are independent of each other."""


def stage(module: str) -> str:
    """``evalgate.run.engine`` → ``run``; ``evalgate`` → ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer(name: str) -> int:
    return next(index for index, members in enumerate(LAYERS) if name in members)


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("evalgate"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("evalgate"))
    return found


def test_every_module_imports_only_lower_stages() -> None:
    package = REPO / "evalgate"
    problems = []
    for path in sorted(package.rglob("*.py")):
        module = ".".join(("evalgate", *path.relative_to(package).with_suffix("").parts)).removesuffix(".__init__")
        own = stage(module)
        for target in imports(path):
            other = stage(target)
            if other == own or own in ("__init__", "__main__"):
                continue
            if layer(other) >= layer(own):
                problems.append(f"{module} imports {target} ({other} is not below {own})")
    assert not problems, "\n".join(problems)


def test_the_layer_table_names_every_stage() -> None:
    stages = {path.stem for path in (REPO / "evalgate").glob("*.py")}
    stages |= {path.name for path in (REPO / "evalgate").iterdir() if (path / "__init__.py").exists()}
    assert stages == set().union(*LAYERS)
