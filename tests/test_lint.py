"""ruff (lint and import order, configured in pyproject.toml) is clean on everything we ship."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_ruff_is_clean() -> None:
    paths = ["evalgate", "tests", "bench", "examples", "scripts"]
    run = subprocess.run([sys.executable, "-m", "ruff", "check", *paths], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
