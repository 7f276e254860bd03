"""What a model or scorer call really used, recorded while it runs: code it executed, files it
read, environment variables it looked up.

A cached result may be reused only if nothing it depended on changed, and users should not
have to list those things (they forget, and the cache then passes a broken model). So
evalgate watches, on the thread that runs the call (the engine runs each call on one thread):

- **code that executes**, by a trace function on that thread (``sys.settrace``: one Python
  call per Python function entered, no per-line events). Every code object that starts
  running is kept, so lazy imports, ``importlib.import_module`` of a module a test imported
  earlier, and modules loaded from ``.pyc`` files are all seen — what ran, not what an
  import event said. A trace function already set (coverage.py, a debugger) is chained,
  not replaced. Why not ``sys.monitoring`` (3.12+)? Its events are process-wide: every
  thread — pytest's own included — would pay for them, and a call could not tell its code
  from another suite's call running beside it; ``settrace`` is per thread.
- **modules asked for by name**: ``importlib.import_module(name)`` inside a call records
  ``name`` even when the module was imported before (no code of it runs then).
- **files opened for reading**: the ``open`` audit event (``sys.addaudithook``, PEP 578),
  which ``open``, ``pathlib``, ``json.load`` and ``importlib.resources`` all end in.
- **environment variables read** through ``os.environ`` / ``os.getenv``, by name.
- **threads the traced code starts** (``threading.Thread``, so thread pools too): each records
  what it runs and reads the same way, into the call that started it. A thread still running
  when that call ends (a pool kept between calls, a background loader) can go on to work for
  any later call, so from then on everything it records is a dependency of *every* later call
  of every suite (:func:`outliving`): wider than needed, never stale.

The same recorder wraps the *import* of a suite's model and scorer code (configs and prompt
files read at module level are dependencies too). What cannot be seen: another process's
reads (``command`` models), threads started before evalgate records (by a conftest, say) or
with ``_thread`` directly, network state — declare those as ``components``.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

_STATE = threading.local()
_LOCK = threading.Lock()
_INSTALLED = False
_IMPORT_MODULE = importlib.import_module.__code__


@dataclass
class Usage:
    """What one call (or one import) used."""

    code: set[CodeType] = field(default_factory=set)
    """Code objects that started running."""
    files: set[str] = field(default_factory=set)
    """Paths opened for reading (as given: absolute or relative to the working directory)."""
    modules: set[str] = field(default_factory=set)
    """Module names asked for with ``importlib.import_module``."""
    env: set[str] = field(default_factory=set)
    """Environment variables looked up."""
    threads: list[tuple[threading.Thread, Usage]] = field(default_factory=list)
    """Threads the traced code started, each with what it recorded (merged in when this
    recording ends)."""

    def merge(self, other: Usage) -> None:
        # Set updates run in C under the GIL: safe while ``other``'s thread goes on adding.
        self.code |= other.code
        self.files |= other.files
        self.modules |= other.modules
        self.env |= other.env

    def signature(self) -> tuple[frozenset[CodeType], frozenset[str], frozenset[str], frozenset[str]]:
        """A hashable summary: calls that used the same things share one dependency map."""
        return frozenset(self.code), frozenset(self.files), frozenset(self.modules), frozenset(self.env)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "open":
        return
    usage: Usage | None = getattr(_STATE, "usage", None)
    if usage is None:  # the common case: nothing is being recorded on this thread
        return
    path, mode = args[0], args[1]
    if isinstance(path, str | bytes | os.PathLike) and (mode is None or "r" in str(mode) or "+" in str(mode)):
        usage.files.add(os.fsdecode(path))


_ENVIRON_GET = type(os.environ).__getitem__


def _environ_getitem(self: Any, key: Any) -> Any:
    if getattr(_STATE, "tracing", False) and isinstance(key, str):  # the user's code, not evalgate's
        _STATE.usage.env.add(key)
    return _ENVIRON_GET(self, key)


_THREAD_START = threading.Thread.start
_OUTLIVING: list[Usage] = []
"""What threads record that outlived the recording that started them (see the module docstring)."""


def _start_thread(self: threading.Thread) -> None:
    """``Thread.start``: a thread started by traced code records into a usage of its own,
    which the starting recording takes in when it ends (:func:`_close`)."""
    usage: Usage | None = getattr(_STATE, "usage", None)
    if usage is None or not getattr(_STATE, "tracing", False):
        _THREAD_START(self)
        return
    child = Usage()
    run = self.run

    def run_recorded() -> None:
        _STATE.usage, _STATE.tracing = child, True
        previous = sys.gettrace()  # coverage.py's, installed in every new thread
        sys.settrace(_tracer(child, previous))
        try:
            run()
        finally:
            sys.settrace(previous)
            _STATE.usage, _STATE.tracing = None, False
            _close(child)

    self.run = run_recorded  # type: ignore[method-assign]
    _THREAD_START(self)
    # Listed once started: a thread not started yet would look finished to _close.
    usage.threads.append((self, child))


def _close(usage: Usage) -> None:
    """Take in what the threads started under ``usage`` recorded; those still running go
    on recording into :data:`_OUTLIVING`."""
    while usage.threads:
        thread, child = usage.threads.pop()  # (atomic: the thread may be starting more)
        alive = thread.is_alive()  # asked first: a thread that ended had merged its own children
        usage.merge(child)
        if alive:
            with _LOCK:
                _OUTLIVING.append(child)


def outliving() -> Usage | None:
    """Everything recorded so far by threads that outlived the recording that started them
    (None when there are none): a thread kept between calls may work for any later call, so
    it is a dependency of every call that ends after it (conservative: never stale)."""
    if not _OUTLIVING:  # the common case, after every call: no lock taken
        return None
    with _LOCK:
        known = list(_OUTLIVING)
    found = Usage()
    for usage in known:
        _close(usage)  # what the threads *they* started recorded
        found.merge(usage)
    return found


def install() -> None:
    """Install the audit hook, the environment hook and the thread hook (once per process:
    an audit hook cannot be removed; each costs one thread-local lookup when nothing is
    recorded)."""
    global _INSTALLED
    with _LOCK:
        if not _INSTALLED:
            sys.addaudithook(_audit)
            type(os.environ).__getitem__ = _environ_getitem  # type: ignore[method-assign]
            threading.Thread.start = _start_thread  # type: ignore[method-assign]
            _INSTALLED = True


def _tracer(usage: Usage, chained: Any) -> Any:
    code_seen = usage.code
    modules = usage.modules

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        code = frame.f_code
        if code not in code_seen:
            code_seen.add(code)
        if code is _IMPORT_MODULE:
            name = frame.f_locals.get("name")
            if isinstance(name, str):
                package = frame.f_locals.get("package")
                modules.add(importlib.util.resolve_name(name, package) if name.startswith(".") and package else name)
        return chained(frame, event, arg) if chained is not None else None

    return trace


@contextmanager
def recording(trace: bool = True) -> Iterator[Usage]:
    """Record what the code run inside uses, on this thread: the files it opens and, with
    ``trace``, the code it executes and the environment variables it reads. Without it, only
    the parts wrapped in :func:`traced` are traced (the user's model inside an HTTP-free
    call, a custom scorer after an HTTP model: evalgate's own code is not a dependency)."""
    install()
    outer: Usage | None = getattr(_STATE, "usage", None)
    usage = Usage()
    _STATE.usage = usage
    try:
        if trace:
            with traced():
                yield usage
        else:
            yield usage
    finally:
        _STATE.usage = outer
        _close(usage)
        if outer is not None:
            outer.merge(usage)


@contextmanager
def traced(active: bool = True) -> Iterator[None]:
    """Trace the code run inside into the usage being recorded on this thread (nothing
    when ``active`` is false or nothing is being recorded)."""
    usage: Usage | None = getattr(_STATE, "usage", None)
    if not active or usage is None or getattr(_STATE, "tracing", False):
        yield
        return
    previous = sys.gettrace()
    _STATE.tracing = True
    sys.settrace(_tracer(usage, previous))
    try:
        yield
    finally:
        sys.settrace(previous)
        _STATE.tracing = False



def module_imports(module: Any, within: Path) -> set[str]:
    """The names of the modules under ``within`` that ``module`` imports when it is loaded —
    its module-level ``import`` statements (class bodies and ``if`` / ``try`` blocks included,
    function bodies not: those run in calls, where they are traced), followed through the
    project modules they name. Read from the source with ``ast``, so the answer does not
    depend on which module happened to be imported first: a second suite importing a module
    the first one already loaded depends on its module-level code all the same."""
    found: set[str] = set()
    pending = [module]
    root = within.resolve()
    while pending:
        current = pending.pop()
        filename = getattr(current, "__file__", None)
        if not filename or not filename.endswith(".py"):
            continue
        try:
            tree = ast.parse(Path(filename).read_bytes())
        except (OSError, SyntaxError, ValueError):
            continue
        package = current.__name__ if hasattr(current, "__path__") else current.__name__.rpartition(".")[0]
        for name in _top_level_imports(tree, package):
            for depth in range(1, name.count(".") + 2):
                prefix = ".".join(name.split(".")[:depth])
                loaded = sys.modules.get(prefix)
                where = getattr(loaded, "__file__", None) if loaded is not None else None
                if prefix in found or not where or not Path(where).resolve().is_relative_to(root):
                    continue
                found.add(prefix)
                pending.append(loaded)
    return found


def _top_level_imports(tree: ast.Module, package: str) -> Iterator[str]:
    nodes: list[ast.AST] = list(tree.body)
    while nodes:
        node = nodes.pop()
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join(part for part in (*parts, base) if part)
            if base:
                yield base
                yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        else:
            nodes.extend(ast.iter_child_nodes(node))
