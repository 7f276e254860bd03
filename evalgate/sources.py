"""The user's code and files: importing ``module:function`` settings, digests of files.

Models (``python``), scorers (``custom``) and the result store's keys all need these, so
they live below all three: a content digest is how evalgate notices that code or data
behind a result changed.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from evalgate.errors import ConfigError, DatasetError
from evalgate.tracing import Usage, module_imports, recording
from evalgate.untrusted import one_line

_IMPORTS: dict[str, tuple[Usage, bool]] = {}
"""Module name → (what importing it used, whether it was imported before evalgate watched)."""


def project_file(root: Path, relative: str, what: str, allow_outside: bool = False) -> Path:
    """``relative`` resolved against the project directory ``root`` — refused when it lands
    outside the project (``..``, an absolute path, a symlink pointing out) unless the
    project allows it: a suite file must not make evalgate read, and quote, any file on the
    machine it runs on."""
    try:
        path = (root / relative).resolve()
    except (RuntimeError, OSError) as err:  # a symlink loop (RuntimeError on 3.11, OSError later)
        raise ConfigError(f"{what} {relative!r} cannot be resolved ({one_line(str(err), limit=160)}): a symlink loop? "
                          f"point it at a real file") from None
    if not allow_outside and not path.is_relative_to(root.resolve()):
        raise ConfigError(
            f"{what} {relative!r} resolves to {path}, outside the project {root} (symlinks followed); "
            f"move it into the project, or set allow_outside_project = true in the evalgate config"
        )
    return path


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of a UTF-8 text file, line endings kept; a byte that is not
    UTF-8 is a DatasetError naming the line, the column and the byte."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DatasetError(
                    f"not UTF-8: byte 0x{raw[err.start]:02x} at column {err.start + 1}; save the file as UTF-8",
                    path=path,
                    line=number,
                ) from None


def utf8_problem(data: bytes) -> tuple[int, int, int] | None:
    """``(line, column, byte)`` of the first byte that is not UTF-8, or None."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        before = data[: err.start]
        line = before.count(b"\n") + 1
        column = err.start - (before.rfind(b"\n") + 1) + 1
        return line, column, data[err.start]
    return None


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (a content fingerprint, stable across checkouts)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_function(spec: str, project_dir: Path, what: str) -> Callable[..., Any]:
    """Import ``module:function``, with the project directory importable.

    ``what`` names the setting in messages (``model function``, ``custom scorer``).
    """
    module_name, _, attr = spec.partition(":")
    if str(project_dir) not in sys.path:
        # Like pytest's rootdir conftest handling: project-local modules just work.
        sys.path.insert(0, str(project_dir))
    try:
        preloaded = module_name in sys.modules
        with recording() as usage:  # what the import reads and runs is a dependency of the suites using it
            module = importlib.import_module(module_name)
            local = project_dir.joinpath(*module_name.split(".")).with_suffix(".py")
            loaded = Path(getattr(module, "__file__", "") or "")
            if local.is_file() and loaded.resolve() != local.resolve():
                # Another project's module of the same name was imported earlier in this
                # process (two runs from one Python process): load this project's own.
                module = _load_file(module_name, local)
                preloaded = False
        # The module and its packages ran their module-level code for this import (now or
        # before evalgate watched): their <module> blocks are dependencies either way.
        parts = module_name.split(".")
        usage.modules.update(".".join(parts[:depth]) for depth in range(1, len(parts) + 1))
        usage.modules.update(module_imports(module, project_dir))
        if not preloaded or module_name not in _IMPORTS:
            _IMPORTS[module_name] = (usage, preloaded)
    except ImportError as err:
        raise ConfigError(
            f"{what} '{spec}': cannot import module '{module_name}' ({err}); put {module_name}.py "
            f"in {project_dir} or install the package that provides it"
        ) from None
    except SyntaxError as err:
        line = f"{err.filename}:{err.lineno}" if err.filename else module_name
        raise ConfigError(f"{what} '{spec}': {line}: SyntaxError: {err.msg}; fix the module") from None
    except Exception as err:  # the module's own code raised while it was imported
        raise ConfigError(f"{what} '{spec}': importing '{module_name}' raised {type(err).__name__}: {err}; "
                          f"fix the module (its import runs when evalgate loads the project)") from None
    target: Any = module
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            where = getattr(module, "__file__", None)
            shown = f" ({where})" if where else ""
            raise ConfigError(f"{what} '{spec}': module '{module_name}'{shown} has no attribute '{attr}'; check the name there")
    if not callable(target):
        raise ConfigError(f"{what} '{spec}': '{attr}' is not callable")
    return target  # type: ignore[no-any-return]


def import_usage(spec: str) -> tuple[Usage, bool]:
    """What importing the module of ``module:function`` read and executed, and whether it had
    been imported before evalgate could watch (then what its import read is unknown)."""
    return _IMPORTS.get(spec.partition(":")[0], (Usage(), True))


def _load_file(module_name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def source_files(function: Callable[..., Any]) -> list[Path]:
    """The file that defines ``function`` (or class), when there is one."""
    module = sys.modules.get(getattr(function, "__module__", "") or "")
    filename = getattr(module, "__file__", None)
    return [Path(filename)] if filename and Path(filename).is_file() else []


def source_digest(function: Callable[..., Any]) -> str | None:
    """Digest of the file that defines ``function``, so editing it changes the fingerprint."""
    module = sys.modules.get(getattr(function, "__module__", "") or "")
    filename = getattr(module, "__file__", None)
    if not filename or not Path(filename).is_file():
        return None
    return file_digest(Path(filename))
