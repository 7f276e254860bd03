"""Cache keys of cases, and why a key changed.

A key's *parts* are kept readable (not just hashed) so ``evalgate cache explain`` can say
which part changed: "component prompts/solve.txt changed", "model temperature changed
(0 → 0.7)". Secrets never enter them: adapters' fingerprints exclude API keys.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evalgate.cases import Case
from evalgate.project import Project, Suite
from evalgate.sources import file_digest
from evalgate.store.deps import SKIPPED_PARTS

SCHEMA_VERSION = 3
"""Part of every key: bump when the meaning of a cached result changes. (2: results are valid
only with their recorded dependency map; 3: only with their run's union of the suite's
dependencies, code recorded by execution, the endpoint in the model's fingerprint.)"""


def cache_key(parts: Mapping[str, Any]) -> str:
    """The key of a set of key parts (canonical JSON, SHA-256)."""
    encoded = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def env_digests(patterns: Sequence[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Name → digest of the value of every environment variable a model's ``env`` names
    (names, or fnmatch patterns such as ``MODEL_*``); ``unset`` for a named one that is not
    set. Values never enter a key, a message or a file: only their SHA-256."""
    environ = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for pattern in patterns:
        names = [name for name in environ if fnmatch.fnmatchcase(name, pattern)] if any(c in pattern for c in "*?[") else [pattern]
        for name in names:
            value = environ.get(name)
            found[name] = "unset" if value is None else hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return dict(sorted(found.items()))


def component_digests(root: Path, globs: Sequence[str]) -> dict[str, str]:
    """``relative path → sha256`` of every file the globs match; a glob that matches
    nothing maps to ``"missing"`` so that adding the file later changes the key.

    A trailing ``**`` means every file below, on every Python (``Path.glob`` matched only
    folders with it before 3.13), as it does in change rules."""
    digests: dict[str, str] = {}
    for pattern in globs:
        walk = f"{pattern}/*" if pattern == "**" or pattern.endswith("/**") else pattern
        matched = sorted(
            path for path in root.glob(walk)
            if path.is_file() and not SKIPPED_PARTS.intersection(path.relative_to(root).parts)
        )
        if not matched:
            digests[pattern] = "missing"
        for path in matched:
            digests[path.relative_to(root).as_posix()] = file_digest(path)
    return digests


class SuiteKeys:
    """Computes the key parts of a suite's cases; the suite-wide parts once."""

    def __init__(self, project: Project, suite: Suite) -> None:
        globs = [*project.config.components, *suite.model.components, *suite.config.components]
        self.base: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "model": suite.adapter.fingerprint(),
            "components": component_digests(project.root, list(dict.fromkeys(globs))),
            "scorer": suite.scorer.fingerprint(),
        }
        if suite.model.env:
            self.base["env"] = env_digests(suite.model.env)
        self.deterministic = suite.adapter.deterministic
        self.known: dict[tuple[str, str | None, int], str] = {}
        """Keys already computed: the prefetch and each item ask for the same ones. Only
        the key is kept; the parts are rebuilt for the few cases that miss."""

    def parts(self, case: Case, repeat: int) -> dict[str, Any]:
        """Everything that determines this case's result."""
        return {
            **self.base,
            "case": {"id": case.id, "content": case.content_hash()},
            "repeat": None if self.deterministic else repeat,
        }

    def take(self, case: Case, repeat: int) -> str:
        """The key of one case run, forgotten here once taken (the item has it now)."""
        slot = (case.id, case.variant, repeat if not self.deterministic else 0)
        return self.known.pop(slot, None) or cache_key(self.parts(case, repeat))

    def key(self, case: Case, repeat: int) -> str:
        """The key of one case run."""
        slot = (case.id, case.variant, repeat if not self.deterministic else 0)
        key = self.known.get(slot)
        if key is None:
            key = self.known[slot] = cache_key(self.parts(case, repeat))
        return key


def explain_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Human reasons why ``new`` key parts differ from ``old``; empty when they are equal."""
    reasons: list[str] = []
    if old.get("schema") != new.get("schema"):
        reasons.append(f"evalgate's cache schema changed ({old.get('schema')} → {new.get('schema')})")
    reasons += _diff("model", old.get("model", {}), new.get("model", {}))
    old_components, new_components = old.get("components", {}), new.get("components", {})
    for path in sorted(set(old_components) | set(new_components)):
        before, after = old_components.get(path), new_components.get(path)
        if before == after:
            continue
        if before is None or before == "missing":
            reasons.append(f"component {path} was added")
        elif after is None:
            reasons.append(f"component {path} is no longer declared")
        elif after == "missing":
            reasons.append(f"component {path} was deleted")
        else:
            reasons.append(f"component {path} changed")
    old_env, new_env = old.get("env", {}), new.get("env", {})
    for name in sorted(set(old_env) | set(new_env)):
        if old_env.get(name) != new_env.get(name):
            reasons.append(f"environment variable {name} changed (its value is not shown)")
    if old.get("case") != new.get("case"):
        reasons.append("the case's content (input or expected value) changed")
    reasons += _diff("scorer", old.get("scorer", {}), new.get("scorer", {}))
    if old.get("repeat") != new.get("repeat"):
        reasons.append(f"repeat index differs ({old.get('repeat')} → {new.get('repeat')}): the model is not deterministic")
    return reasons


def _diff(label: str, old: Any, new: Any, prefix: str = "") -> list[str]:
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        reasons = []
        for key in sorted(set(old) | set(new)):
            reasons += _diff(label, old.get(key), new.get(key), f"{prefix}{key}.")
        return reasons
    name = prefix.rstrip(".") or "settings"
    if name in ("source", "file", "params.source"):
        return [f"{label} {name} changed (the code or file behind it was edited)"]
    return [f"{label} {name} changed ({_short(old)} → {_short(new)})"]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
