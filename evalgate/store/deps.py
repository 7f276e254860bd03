"""Dependency maps: what a result (or a suite) depended on — the project files it read (with
their content digests), the blocks of project code it executed (with theirs), the versions of
the libraries whose code ran — and whether they still hold.

A cached result is reused only when everything in the map of its suite still holds: every
file the same content, every executed block (:mod:`evalgate.blocks`) the same source, every
library the same version. Otherwise it misses, and ``evalgate cache explain`` names what
changed ("app/retrieval.py: retrieve changed (a recorded dependency of suite qa)"). Each
run's union of maps per suite is the suite's *map*, which ``evalgate plan`` uses to send a
change to exactly the suites that use the changed files and functions.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import CodeType

from evalgate.blocks import MODULE, Blocks, blocks_of
from evalgate.sources import file_digest
from evalgate.tracing import Usage

MISSING = "missing"
LOCKFILES = (
    "poetry.lock", "uv.lock", "pdm.lock", "Pipfile.lock", "requirements.txt", "requirements-dev.txt",
    "constraints.txt", "environment.yml",
)
"""Files whose content pins the environment: a map recorded under other pins is not trusted
for planning."""
SKIPPED_PARTS = frozenset({"__pycache__", ".evalgate", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache",
                           "site-packages", "dist-packages"})
"""Folders whose files are never dependencies or components: caches, bytecode, the store, and
installed packages (a virtual environment inside the project counts by distribution version)."""
_EVALGATE = Path(__file__).resolve().parents[1]
"""evalgate's own package: its code runs in every call and is covered by the cache's schema."""


@dataclass(frozen=True)
class DepMap:
    """What a result (or a suite) depended on."""

    files: Mapping[str, str]
    """Project-relative POSIX path → SHA-256 of its content (``missing`` when it did not exist)."""
    dists: Mapping[str, str] = field(default_factory=dict)
    """Distribution name → version."""
    lock: str = ""
    """Digest of the project's lock files when the map was recorded."""
    code: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Project-relative ``.py`` path → {block name → digest} of the blocks that executed (and
    the file's ``<module>`` block)."""
    env_read: tuple[str, ...] = ()
    """Environment variables the code looked up (names only, never values): a model's
    ``env`` setting puts the values of the ones that matter into its key."""

    @cached_property
    def id(self) -> str:
        """A content id: equal maps share one row in the store."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:32]

    def to_json(self) -> str:
        return self._json

    @cached_property
    def _json(self) -> str:  # a map is shared by every call that used the same things
        data = {"files": dict(self.files), "dists": dict(self.dists), "lock": self.lock,
                "code": {path: dict(blocks) for path, blocks in self.code.items()}, "env_read": list(self.env_read)}
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> DepMap:
        data = json.loads(text)
        code = {str(path): {str(k): str(v) for k, v in blocks.items()} for path, blocks in dict(data.get("code", {})).items()}
        return cls(dict(data["files"]), dict(data.get("dists", {})), str(data.get("lock", "")), code,
                   tuple(str(name) for name in data.get("env_read", [])))

    @classmethod
    def stored(cls, deps_id: str, text: object) -> DepMap | None:
        """A map as the store holds it, or None when its text is not the one its id names.

        The id is the digest of the canonical text (:meth:`to_json`), and the store keeps that
        text as written, so hashing the text checks the row; re-serialising a parsed map
        instead cost ~2.5 ms per 5,000-file map on every plan and cache lookup."""
        if not isinstance(text, str) or hashlib.sha256(text.encode()).hexdigest()[:32] != deps_id:
            return None
        try:
            recorded = cls.from_json(text)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        recorded.__dict__["_json"] = text  # what cached_property would compute: the same text
        return recorded

    def union(self, other: DepMap) -> DepMap:
        code = {path: dict(blocks) for path, blocks in self.code.items()}
        for path, blocks in other.code.items():
            code[path] = {**code.get(path, {}), **blocks}
        return DepMap({**self.files, **other.files}, {**self.dists, **other.dists}, self.lock or other.lock, code,
                      tuple(sorted({*self.env_read, *other.env_read})))

    def uses(self) -> dict[str, frozenset[str] | None]:
        """Path → the blocks of it this map depends on (None: the whole file), for plans."""
        used: dict[str, frozenset[str] | None] = {path: None for path in self.files}
        for path, blocks in self.code.items():
            if path not in used:
                used[path] = frozenset(blocks)
        return used


EMPTY = DepMap({})


class Digests:
    """Content digests and blocks of project files, each computed once per process unless the
    file's size or modification time changes, and where code and libraries live."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.known: dict[str, tuple[tuple[int, int], str]] = {}
        self.parsed: dict[str, tuple[tuple[int, int], Blocks]] = {}
        self.versions: dict[str, str | None] = {}
        self._modules_seen = -1
        self._imported: set[str] = set()
        self.places: dict[str, tuple[str, str] | None] = {}
        """``co_filename`` → ("project", relative path) or ("dist", top-level module), or None."""
        self.library_roots = sorted(
            {str(Path(path).resolve()) for path in (*sys.path, sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"])
             if path and ("site-packages" in path or "dist-packages" in path)},
            key=len, reverse=True,
        )

    def of(self, relative: str) -> str:
        """The content digest of a project file now (``missing`` when it does not exist)."""
        path = self.root / relative
        try:
            stat = path.stat()
        except OSError:
            return MISSING
        signature = (stat.st_size, stat.st_mtime_ns)
        known = self.known.get(relative)
        if known is not None and known[0] == signature:
            return known[1]
        try:
            digest = file_digest(path)
        except OSError:
            digest = MISSING
        self.known[relative] = (signature, digest)
        return digest

    def blocks(self, relative: str) -> Blocks | None:
        """The blocks of a project source file now (None when it does not exist)."""
        path = self.root / relative
        try:
            stat = path.stat()
            signature = (stat.st_size, stat.st_mtime_ns)
            known = self.parsed.get(relative)
            if known is not None and known[0] == signature:
                return known[1]
            blocks = blocks_of(path.read_bytes())
        except OSError:
            return None
        self.parsed[relative] = (signature, blocks)
        return blocks

    def version(self, distribution: str) -> str | None:
        if distribution not in self.versions:
            try:
                self.versions[distribution] = importlib.metadata.version(distribution)
            except importlib.metadata.PackageNotFoundError:
                self.versions[distribution] = None
        return self.versions[distribution]

    def distributions(self, modules: Iterable[str]) -> dict[str, str]:
        """Name → version of the installed distributions that provide these top-level modules
        (the standard library and modules of no distribution are left out)."""
        found: dict[str, str] = {}
        for module in modules:
            if module in sys.stdlib_module_names or module.startswith("_"):
                continue
            for name in self._providers.get(module, []):
                version = self.version(name)
                if version is not None:
                    found[name] = version
        return found

    @cached_property
    def _providers(self) -> Mapping[str, list[str]]:
        """Top-level module → the distributions that provide it. Read once: it walks every
        installed distribution's metadata (0.1 s and more in a large environment), and a run
        does not install packages while it runs."""
        return importlib.metadata.packages_distributions()

    def lock(self) -> str:
        """Digest of the lock files present in the project directory."""
        found = {name: self.of(name) for name in LOCKFILES if (self.root / name).exists()}
        return hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest()[:16] if found else ""

    def relative(self, paths: Iterable[str], excluded: Iterable[Path] = ()) -> list[str]:
        """The paths that lie under the project (and not in its caches or ``excluded``),
        project-relative and POSIX-style."""
        skip = [path.resolve() for path in excluded]
        chosen = set()
        for raw in paths:
            relative = self._project_path(raw, skip)
            if relative is not None:
                chosen.add(relative)
        return sorted(chosen)

    def _project_path(self, raw: str, skip: list[Path] = []) -> str | None:  # noqa: B006 - read only
        try:
            path = Path(raw if os.path.isabs(raw) else self.root / raw).resolve()
            relative = path.relative_to(self.root)
        except (ValueError, OSError):
            return None
        if SKIPPED_PARTS & set(relative.parts) or any(path == s or s in path.parents for s in skip):
            return None
        if path.is_dir():
            return None
        return relative.as_posix()

    def map_of(self, files: Iterable[str], dists: Mapping[str, str], code: Mapping[str, Iterable[str]] | None = None,
               env_read: Iterable[str] = ()) -> DepMap:
        """A map of these project-relative files (whole), these blocks of project source files,
        and these libraries, as they are now."""
        recorded_code: dict[str, dict[str, str]] = {}
        for relative, names in (code or {}).items():
            blocks = self.blocks(relative)
            if blocks is None:
                continue
            recorded_code[relative] = {name: blocks.digests.get(name, MISSING) for name in {*names, MODULE}}
        return DepMap({name: self.of(name) for name in sorted(set(files))}, dict(dists), self.lock(), recorded_code,
                      tuple(sorted(set(env_read))))

    def map_of_usage(self, usage: Usage, excluded: Iterable[Path] = ()) -> DepMap:
        """The map of what one call (or import) used: the project's files it read, the blocks of
        project code it executed, the libraries whose code it ran."""
        skip = [path.resolve() for path in excluded]
        code: dict[str, set[str]] = {}
        modules: set[str] = set()
        read = set(usage.files)
        for item in usage.code:
            self._place_code(item, code, modules)
        for name in usage.modules:
            module = sys.modules.get(name)
            filename = getattr(module, "__file__", None) if module is not None else None
            place = self._place(filename) if filename else None
            if place is not None and place[0] == "project" and place[1].endswith(".py"):
                code.setdefault(place[1], set()).add(MODULE)
            elif place is not None and place[0] == "project":
                read.add(str(self.root / place[1]))  # a module without source (.pyc only): its file
            elif place is not None:
                modules.add(place[1])
        # A source file opened because it was imported is code (its executed blocks count); one
        # opened as data (a script that reads .py files) counts whole.
        imported = self._module_files()
        files = [path for path in self.relative(read, skip) if not (path.endswith(".py") and path in imported)]
        return self.map_of(files, self.distributions(modules) if modules else {}, code, usage.env)

    def _module_files(self) -> set[str]:
        """Project-relative paths of the modules loaded in this process (refreshed as more load)."""
        if len(sys.modules) != self._modules_seen:
            self._modules_seen = len(sys.modules)
            found = set()
            for module in list(sys.modules.values()):
                filename = getattr(module, "__file__", None)
                place = self._place(filename) if isinstance(filename, str) else None
                if place is not None and place[0] == "project":
                    found.add(place[1])
            self._imported = found
        return self._imported

    def _place_code(self, item: CodeType, code: dict[str, set[str]], modules: set[str]) -> None:
        place = self._place(item.co_filename)
        if place is None:
            return
        kind, where = place
        if kind == "dist":
            modules.add(where)
            return
        blocks = self.blocks(where)
        if blocks is not None:
            names = code.setdefault(where, set())
            names.add(MODULE if item.co_name == "<module>" else blocks.at(item.co_firstlineno))

    def _place(self, filename: str) -> tuple[str, str] | None:
        """Whose code a file is: ("project", its relative path), ("dist", the top-level module
        of an installed distribution), or None (the standard library, evalgate, generated code)."""
        if filename in self.places:
            return self.places[filename]
        place: tuple[str, str] | None = None
        if not filename.startswith("<"):
            path = Path(filename).resolve()
            text = str(path)
            library = next((root for root in self.library_roots if text.startswith(root + os.sep)), None)
            if library is not None:
                top = Path(text[len(library) + 1 :]).parts[0].removesuffix(".py")
                place = None if top in sys.stdlib_module_names or path.is_relative_to(_EVALGATE) else ("dist", top)
            elif not path.is_relative_to(_EVALGATE):
                relative = self._project_path(text)
                place = ("project", relative) if relative is not None else None
        self.places[filename] = place
        return place

    def changes(self, recorded: DepMap, suite: str | None = None) -> list[str]:
        """What differs between the recorded map and the project now, as reasons."""
        whose = f" (a recorded dependency of suite {suite})" if suite else " (a recorded dependency)"
        reasons = []
        for name, digest in sorted(recorded.files.items()):
            now = self.of(name)
            if now != digest:
                state = "was deleted" if now == MISSING else "was added" if digest == MISSING else "changed"
                reasons.append(f"{name} {state}{whose}")
        for name, blocks in sorted(recorded.code.items()):
            current = self.blocks(name)
            if current is None:
                reasons.append(f"{name} was deleted{whose}")
                continue
            changed = sorted(block for block, digest in blocks.items() if current.digests.get(block, MISSING) != digest)
            if changed:
                what = "its module-level code" if changed == [MODULE] else ", ".join(b for b in changed if b != MODULE)
                reasons.append(f"{name}: {what} changed{whose}")
        for name, version in sorted(recorded.dists.items()):
            now_version = self.version(name)
            if now_version != version:
                reasons.append(f"library {name} {version} → {now_version or 'not installed'}{whose}")
        return reasons
