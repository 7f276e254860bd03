"""The suites' recorded dependency maps, as the planner takes them.

``evalgate plan`` and ``--eval-tier=auto`` read each suite's newest map from the result store
(:meth:`~evalgate.store.sqlite.DependencyMaps.latest_suite_maps`). They are used only when they
can be trusted for this project as it is: every suite has one, and each was recorded under
the lock files the project has now; otherwise the plan falls back to the rules alone and
says why.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from evalgate.changes.plan import UsageMaps
from evalgate.project import Project
from evalgate.store.deps import Digests
from evalgate.store.location import existing_store


def load_usage_maps(project: Project) -> tuple[UsageMaps | None, str]:
    """``(maps, why)``: the maps when usable, else None and the reason the rules decide."""
    if not project.config.changes.recorded_dependencies:
        return None, "recorded_dependencies = false in [changes]: the rules alone decide"
    store = existing_store(project)
    if store is None:
        return None, "no recorded dependencies yet (no result store): the rules alone decide"
    try:
        latest = store.maps.latest_suite_maps() if store.enabled else {}
        unreadable, trust = store.maps.unreadable, store.db.trust
    finally:
        store.close()
    names = [suite.name for suite in project.suites]
    missing = [name for name in names if name not in latest]
    if missing:
        elsewhere = [name for name in missing if unreadable.get(name)]
        never = [name for name in missing if not unreadable.get(name)]
        why = []
        if elsewhere:
            refs = ", ".join(sorted({ref for name in elsewhere for ref in unreadable[name]}))
            why.append(f"no recorded dependencies {trust.ref} may read for {', '.join(elsewhere)} (recorded only on {refs}, "
                       f"which {trust.ref} does not trust: docs/security.md; run the evals on {trust.ref} with the cache once)")
        if never:
            why.append(f"no recorded dependencies for {', '.join(never)} (not run with the cache yet)")
        return None, f"{'; '.join(why)}: the rules alone decide"
    lock = Digests(project.root).lock()
    stale = [name for name in names if latest[name][0].lock != lock]
    if stale:
        return None, f"the dependencies of {', '.join(stale)} were recorded under other lock files: the rules alone decide"
    oldest = min(recorded for _, recorded, _ in latest.values())
    note = f"suites' dependencies as recorded by their last runs (oldest {age(oldest)} ago)"
    digests = Digests(project.root)
    libraries = {name: upgrades for name in names if (upgrades := _upgrades(latest[name][0].dists, digests))}
    return UsageMaps({name: latest[name][0].uses() for name in names}, note, libraries), note


def _upgrades(recorded: Mapping[str, str], digests: Digests) -> tuple[str, ...]:
    """``name old → new`` for each recorded library whose installed version differs now."""
    return tuple(f"library {name} {version} → {digests.version(name) or 'not installed'}"
                 for name, version in sorted(recorded.items()) if digests.version(name) != version)


def age(timestamp: float) -> str:
    """How long ago ``timestamp`` was, compactly: ``42s``, ``5m``, ``3h``, ``2d``."""
    seconds = max(0.0, time.time() - timestamp)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"
