"""The plugin is loaded into every pytest run: without a tier it must stay light."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_project

HEAVY = ("pydantic", "git", "requests", "junit_xml", "sqlite3", "evalgate.run.evalrun", "evalgate.config")


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


def test_an_eval_run_freezes_its_start_up_and_an_in_process_run_leaves_nothing_frozen(pytester: pytest.Pytester) -> None:
    """A tier's run moves start-up's objects out of the collector's reach (its full passes
    then walk only what the run creates); the config's cleanup gives them back, so a test
    suite that runs evalgate in process (pytester) keeps a collector that sees everything."""
    write_project(pytester.path)
    seen = pytester.path / "frozen.txt"
    pytester.makeconftest(
        f"""
        import gc

        def pytest_runtest_logfinish(nodeid, location):
            with open({str(seen)!r}, "a") as out:
                out.write(f"{{gc.get_freeze_count()}}\\n")
        """
    )
    assert gc.get_freeze_count() == 0
    result = pytester.runpytest_inprocess("--eval-tier=full", "-p", "no:xdist")
    result.assert_outcomes(passed=10)
    during = [int(line) for line in seen.read_text().split()]
    assert len(during) == 10 and min(during) > 1000, during
    assert gc.get_freeze_count() == 0


def test_evalgate_plan_loads_neither_pytest_nor_the_results_document_machinery(tmp_path: Path) -> None:
    """`evalgate plan` runs in pre-push hooks and at the start of every CI job: it imports
    what planning needs, not pytest (only `evalgate run` starts it) and not pydantic's
    source parsing of the results document's docstrings (read only for the published schema)."""
    from gitrepo import GitRepo

    repo = GitRepo(tmp_path / "app")
    write_project(repo.path)
    repo.commit("base")
    repo.write("README.md", "# changed\n")
    repo.commit("docs")
    probe = (
        "import sys, json, inspect\n"
        "parsed = []\n"
        "findsource = inspect.findsource\n"  # what reading a class's source comes down to
        "inspect.findsource = lambda obj: parsed.append(getattr(obj, '__qualname__', '?')) or findsource(obj)\n"
        "from evalgate.cli import main\n"
        "code = main(['plan', '--base', 'HEAD~1'])\n"
        "print(json.dumps({'code': code, 'pytest': 'pytest' in sys.modules, 'parsed': parsed}))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=repo.path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout.splitlines()[-1])
    assert found == {"code": 0, "pytest": False, "parsed": []}, found
