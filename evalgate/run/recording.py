"""What a suite's model and scorer really use: recorded while they run, never declared.

A cached result may be reused only if nothing it depended on changed, and a plan can only
target the suites a change touches if it knows which suites use which files. Both need the
files behind a result — the model function's module, the project modules *it* imports,
prompt templates and few-shot files it opens — and the versions of the libraries it
imports. Users should not have to list them (they forget, and the cache then passes a
broken model), so evalgate watches:

- **imports**: the modules a model or scorer function's module imports, found by reading
  its source (``ast``) and following project-local imports, so the answer does not depend on
  what happened to be imported earlier in the process; plus modules first imported lazily
  inside a call (the ``import`` audit event);
- **opened files**: every file opened for reading during a call — ``open``, ``pathlib``,
  ``json.load``, ``importlib.resources`` all end in the ``open`` audit event
  (``sys.addaudithook``, PEP 578).

Events are attributed to the call running on the thread that raised them (the engine runs
each call on one thread), and only files under the project directory count; a third-party
module counts as its distribution's name and version. What cannot be seen: a subprocess's
own reads (``command`` models), network state, a model behind an HTTP endpoint — declare
those as ``components``. Cost: one cheap check per audit event outside calls; see
``bench/impact.py``.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_STATE = threading.local()
_INSTALLED = False
_LOCK = threading.Lock()


@dataclass
class Usage:
    """What one call (or one import) used."""

    files: set[str] = field(default_factory=set)
    """Absolute paths opened for reading or imported as modules."""
    modules: set[str] = field(default_factory=set)
    """Top-level names of modules imported from outside the project."""

    def merge(self, other: Usage) -> None:
        self.files |= other.files
        self.modules |= other.modules


def _hook(event: str, args: tuple[Any, ...]) -> None:
    usage: Usage | None = getattr(_STATE, "usage", None)
    if usage is None:  # the common case: nothing is being recorded on this thread
        return
    if event == "open":
        path, mode = args[0], args[1]
        if isinstance(path, str | bytes | os.PathLike) and (mode is None or "r" in str(mode)):
            usage.files.add(os.fsdecode(path))
    elif event == "import":
        name, filename = args[0], args[1]
        if filename:
            usage.files.add(os.fsdecode(filename))
        usage.modules.add(str(name).partition(".")[0])


def install() -> None:
    """Install the audit hook (once per process; hooks cannot be removed, so it stays)."""
    global _INSTALLED
    with _LOCK:
        if not _INSTALLED:
            sys.addaudithook(_hook)
            _INSTALLED = True


@contextmanager
def recording() -> Iterator[Usage]:
    """Record what the code run inside uses, on this thread."""
    install()
    outer: Usage | None = getattr(_STATE, "usage", None)
    usage = Usage()
    _STATE.usage = usage
    try:
        yield usage
    finally:
        _STATE.usage = outer
        if outer is not None:
            outer.merge(usage)


def import_closure(module_file: Path, root: Path) -> Usage:
    """The project files a module's source imports, followed through project-local modules
    (read with ``ast``, nothing is imported), and the top-level names of the other modules."""
    usage = Usage()
    root = root.resolve()
    pending = [module_file.resolve()]
    # Importing the module ran its packages' __init__ files first (app/__init__.py, …).
    pending += [folder / "__init__.py" for folder in pending[0].parents if folder.is_relative_to(root) and folder != root]
    while pending:
        path = pending.pop()
        if str(path) in usage.files or not path.is_file():
            continue
        usage.files.add(str(path))
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        for name in _imported_names(tree, path, root):
            found = _project_file(name, root)
            if found is None:
                usage.modules.add(name.partition(".")[0])
                continue
            pending.append(found)
            parts = name.split(".")
            for depth in range(1, len(parts)):  # importing a.b.c runs a/__init__ and a/b/__init__
                package = _project_file(".".join(parts[:depth]), root)
                if package is not None:
                    pending.append(package)
    return usage


def _imported_names(tree: ast.AST, path: Path, root: Path) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # a relative import: resolve against the module's package
                package = path.parent
                for _ in range(node.level - 1):
                    package = package.parent
                try:
                    prefix = ".".join(package.relative_to(root).parts)
                except ValueError:
                    continue
                base = ".".join(part for part in (prefix, base) if part)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names if base)


def _project_file(name: str, root: Path) -> Path | None:
    """The file of module ``name`` when it lives under the project root (a package's
    ``__init__.py`` for packages), found without importing it."""
    if not name or name.partition(".")[0] in sys.stdlib_module_names:
        return None
    parts = name.split(".")
    for candidate in (root.joinpath(*parts).with_suffix(".py"), root.joinpath(*parts, "__init__.py")):
        if candidate.is_file():
            return candidate.resolve()
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        return None
    origin = Path(spec.origin).resolve() if spec is not None and spec.origin else None
    return origin if origin is not None and origin.is_relative_to(root) else None
