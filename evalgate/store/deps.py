"""Dependency maps: the project files (with their content digests) and the library versions
a result depended on, and whether they still hold.

A cached result is reused only when every file in its map still has the recorded content
and every library the recorded version; otherwise it misses, and ``evalgate cache explain``
names what changed ("app/retrieval.py changed (a recorded dependency of suite qa)"). The
union of a run's maps per suite is the suite's *map*, which ``evalgate plan`` uses to send a
change to exactly the suites that use the changed files.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from evalgate.sources import file_digest

MISSING = "missing"
LOCKFILES = (
    "poetry.lock", "uv.lock", "pdm.lock", "Pipfile.lock", "requirements.txt", "requirements-dev.txt",
    "constraints.txt", "environment.yml",
)
"""Files whose content pins the environment: a map recorded under other pins is not trusted
for planning."""
SKIPPED_PARTS = frozenset({"__pycache__", ".evalgate", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
"""Folders whose files are never dependencies or components: caches, bytecode, the store."""


@dataclass(frozen=True)
class DepMap:
    """What a result (or a suite) depended on."""

    files: Mapping[str, str]
    """Project-relative POSIX path → SHA-256 of its content (``missing`` when it did not exist)."""
    dists: Mapping[str, str] = field(default_factory=dict)
    """Distribution name → version."""
    lock: str = ""
    """Digest of the project's lock files when the map was recorded."""

    @cached_property
    def id(self) -> str:
        """A content id: equal maps share one row in the store."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:32]

    def to_json(self) -> str:
        return self._json

    @cached_property
    def _json(self) -> str:  # a map is shared by every call that used the same things
        return json.dumps({"files": dict(self.files), "dists": dict(self.dists), "lock": self.lock}, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> DepMap:
        data = json.loads(text)
        return cls(dict(data["files"]), dict(data.get("dists", {})), str(data.get("lock", "")))

    def union(self, other: DepMap) -> DepMap:
        return DepMap({**self.files, **other.files}, {**self.dists, **other.dists}, self.lock or other.lock)


class Digests:
    """Content digests of project files, each computed once per process unless the file's
    size or modification time changes."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.known: dict[str, tuple[tuple[int, int], str]] = {}
        self.versions: dict[str, str | None] = {}

    def of(self, relative: str) -> str:
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
            try:
                path = Path(raw if os.path.isabs(raw) else self.root / raw).resolve()
                relative = path.relative_to(self.root)
            except (ValueError, OSError):
                continue
            if SKIPPED_PARTS & set(relative.parts) or any(path == s or s in path.parents for s in skip):
                continue
            if path.is_dir():
                continue
            chosen.add(relative.as_posix())
        return sorted(chosen)

    def map_of(self, files: Iterable[str], dists: Mapping[str, str]) -> DepMap:
        """A map of these project-relative files as they are now."""
        return DepMap({name: self.of(name) for name in sorted(set(files))}, dict(dists), self.lock())

    def changes(self, recorded: DepMap, suite: str | None = None) -> list[str]:
        """What differs between the recorded map and the project now, as reasons."""
        whose = f" (a recorded dependency of suite {suite})" if suite else " (a recorded dependency)"
        reasons = []
        for name, digest in sorted(recorded.files.items()):
            now = self.of(name)
            if now != digest:
                state = "was deleted" if now == MISSING else "was added" if digest == MISSING else "changed"
                reasons.append(f"{name} {state}{whose}")
        for name, version in sorted(recorded.dists.items()):
            now_version = self.version(name)
            if now_version != version:
                reasons.append(f"library {name} {version} → {now_version or 'not installed'}{whose}")
        return reasons
