"""Dependencies recorded while suites run: the cache is exact, and explains itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_project

from evalgate.cli import main
from evalgate.run.recording import import_closure, recording
from evalgate.store.deps import DepMap, Digests

PIPELINE = '''
from app.retrieval import retrieve


def answer(prompt):
    return retrieve(prompt)
'''
RETRIEVAL = '''
import json
from pathlib import Path

TEMPLATE = Path(__file__).parent / "template.txt"


def retrieve(prompt):
    prefix = TEMPLATE.read_text().strip()
    return prefix + prompt.removeprefix("q")
'''


def app_project(root: Path, cases: int = 26) -> Path:
    """The issue's reproduction: the model function lives in app/pipeline.py and calls
    retrieve() from app/retrieval.py, which reads a template file at call time."""
    write_project(root, cases=cases, model={"kind": "python", "function": "app.pipeline:answer"}, model_code="")
    (root / "app").mkdir(exist_ok=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "pipeline.py").write_text(PIPELINE)
    (root / "app" / "retrieval.py").write_text(RETRIEVAL)
    (root / "app" / "template.txt").write_text("a\n")
    (root / "app" / "ui.py").write_text("BUTTON = 'blue'\n")
    return root


def test_a_change_to_an_imported_module_is_never_served_from_the_cache(pytester: pytest.Pytester) -> None:
    app_project(pytester.path)
    first = pytester.runpytest("--eval-tier=full")
    first.stdout.fnmatch_lines(["qa*PASS*", "evalgate cache: 0 hit(s), 26 model call(s)*"])
    again = pytester.runpytest("--eval-tier=full")
    again.stdout.fnmatch_lines(["evalgate cache: 26 hit(s), 0 model call(s)*"])
    (pytester.path / "app" / "ui.py").write_text("BUTTON = 'red'\n")  # used by no suite
    unrelated = pytester.runpytest("--eval-tier=full")
    unrelated.stdout.fnmatch_lines(["evalgate cache: 26 hit(s), 0 model call(s)*"])
    retrieval = pytester.path / "app" / "retrieval.py"
    retrieval.write_text(RETRIEVAL.replace('prefix + prompt.removeprefix("q")', '"wrong"'))  # every answer now wrong
    broken = pytester.runpytest("--eval-tier=full")
    broken.stdout.fnmatch_lines([
        "qa*FAIL*",
        "evalgate cache: 0 hit(s), 26 model call(s)*",
        "evalgate cache: 26 cached result(s) not reused: app/retrieval.py changed (a recorded dependency of suite qa)",
    ])
    assert broken.ret == 1


def test_a_file_opened_during_the_call_is_a_dependency(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    app_project(pytester.path, cases=4)
    pytester.runpytest("--eval-tier=full")
    (pytester.path / "app" / "template.txt").write_text("b\n")
    assert main(["cache", "--project", str(pytester.path), "explain", "qa", "case-001"]) == 0
    out = capsys.readouterr().out
    assert "miss" in out and "app/template.txt changed (a recorded dependency of suite qa)" in out
    rerun = pytester.runpytest("--eval-tier=full")
    rerun.stdout.fnmatch_lines(["qa*FAIL*", "evalgate cache: 0 hit(s), 4 model call(s)*"])


def test_import_closure_follows_project_imports_only(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "sub").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "sub" / "__init__.py").write_text("")
    (app / "main.py").write_text("import json\nimport requests\nfrom app.helpers import h\nfrom .sub import deep\n")
    (app / "helpers.py").write_text("from . import leaf\n\ndef h():\n    pass\n")
    (app / "leaf.py").write_text("X = 1\n")
    (app / "sub" / "deep.py").write_text("import pydantic\n")
    (app / "unused.py").write_text("")
    usage = import_closure(app / "main.py", tmp_path)
    names = {Path(path).relative_to(tmp_path).as_posix() for path in usage.files}
    assert names == {"app/main.py", "app/helpers.py", "app/leaf.py", "app/sub/__init__.py", "app/sub/deep.py", "app/__init__.py"}
    assert {"requests", "pydantic"} <= usage.modules and "json" in usage.modules


def test_recording_sees_opens_on_this_thread_only(tmp_path: Path) -> None:
    import threading

    (tmp_path / "read.txt").write_text("x")
    (tmp_path / "other.txt").write_text("y")
    with recording() as usage:
        (tmp_path / "read.txt").read_text()
        thread = threading.Thread(target=(tmp_path / "other.txt").read_text)
        thread.start()
        thread.join()
        (tmp_path / "written.txt").write_text("z")  # written, not read: not a dependency
    assert str(tmp_path / "read.txt") in usage.files
    assert str(tmp_path / "other.txt") not in usage.files and str(tmp_path / "written.txt") not in usage.files


def test_maps_say_what_changed(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("1")
    digests = Digests(tmp_path)
    recorded = digests.map_of(["a.txt", "gone.txt"], {"pytest": "0.0.1"})
    assert recorded.files["gone.txt"] == "missing"
    assert DepMap.from_json(recorded.to_json()) == recorded and len(recorded.id) == 32
    (tmp_path / "a.txt").write_text("2")
    fresh = Digests(tmp_path)
    assert fresh.changes(recorded, "qa") == [
        "a.txt changed (a recorded dependency of suite qa)",
        f"library pytest 0.0.1 → {__import__('importlib.metadata').metadata.version('pytest')} (a recorded dependency of suite qa)",
    ]
    assert digests.relative([str(tmp_path / ".evalgate" / "x"), str(tmp_path / "a.txt"), "/etc/hostname"]) == ["a.txt"]


def test_results_json_and_the_store_keep_the_maps(pytester: pytest.Pytester) -> None:
    app_project(pytester.path, cases=3)
    pytester.runpytest("--eval-tier=full", "--eval-report=out")
    import sqlite3

    connection = sqlite3.connect(pytester.path / ".evalgate" / "cache.sqlite")
    (text,) = connection.execute("SELECT map FROM deps ORDER BY length(map) DESC LIMIT 1").fetchone()
    files = json.loads(text)["files"]
    assert {"app/pipeline.py", "app/retrieval.py", "app/template.txt", "app/__init__.py"} <= set(files)
    assert "app/ui.py" not in files and not any(name.startswith(".evalgate") for name in files)
    (suite,) = connection.execute("SELECT DISTINCT suite FROM suite_maps").fetchone()
    assert suite == "qa"
