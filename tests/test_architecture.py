"""docs/architecture.md names the package as it is: every module it names exists, every
module that exists is named, and no class grows into a god object."""

from __future__ import annotations

import ast
import re

from conftest import REPO

PACKAGE = REPO / "evalgate"


def named_modules() -> set[str]:
    """``folder/module.py`` for each module the doc's module table names."""
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text.split("## Modules", 1)[1].split("\n## ", 1)[0]
    named = set()
    for row in table.splitlines():
        cells = row.split("|")
        if len(cells) < 4 or not cells[1].strip().startswith("`evalgate/"):
            continue
        folder = cells[1].strip().strip("`").removeprefix("evalgate/")
        named |= {folder + name for name in re.findall(r"`([a-z_]+\.py)`", cells[3])}
    return named


def test_the_module_table_names_every_module_and_only_real_ones() -> None:
    real = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")}
    real -= {path for path in real if path.endswith("/__init__.py")}  # a package's __init__ is its folder
    named = named_modules()
    assert not named - real, f"docs/architecture.md names modules that do not exist: {sorted(named - real)}"
    assert not real - named, f"docs/architecture.md does not name: {sorted(real - named)}"


def test_no_class_has_more_than_twenty_methods() -> None:
    large = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                methods = sum(isinstance(each, ast.FunctionDef | ast.AsyncFunctionDef) for each in node.body)
                if methods > 20:
                    large.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({methods} methods)")
    assert not large, "split these by concern: " + "; ".join(large)
