"""The installed distribution: its name on the package index and its version.

The import name is ``evalgate``; the distribution is ``pytest-evalgate`` (pytest's naming
convention for plugins — and the name ``evalgate`` on the package index belongs to an
unrelated project). Everything that asks for the version asks here.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "pytest-evalgate"


def installed_version() -> str:
    """The installed version (pyproject.toml's); "unknown" when run from a source tree that
    was never installed."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"
