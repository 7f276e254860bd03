"""The plugin is loaded into every pytest run: without a tier it must stay light."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import write_project

HEAVY = ("pydantic", "git", "requests", "junit_xml", "sqlite3", "evalgate.evalrun", "evalgate.config")


def test_importing_the_plugin_imports_none_of_the_machinery() -> None:
    probe = "import sys, pytest, evalgate.plugin, json; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.check_output([sys.executable, "-c", probe], text=True)))
    assert not {name for name in HEAVY if name in loaded}


def test_a_run_without_a_tier_imports_none_of_the_machinery(pytester: pytest.Pytester) -> None:
    write_project(pytester.path)
    pytester.makepyfile(
        test_unit=f"""
        import sys

        def test_nothing_heavy_was_imported():
            assert not [name for name in {HEAVY!r} if name in sys.modules]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:xdist")
    result.assert_outcomes(passed=1)
