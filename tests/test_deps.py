"""Dependencies recorded while suites run: the cache is exact, and explains itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import add_suite, toml_table, write_project
from gitrepo import GitRepo

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


# --- plans from the recorded maps ---------------------------------------------------------

CHAT = '''
from app.common import clean


def answer(prompt):
    return clean("a" + prompt.removeprefix("q"))
'''


@pytest.fixture
def mapped_repo(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """Two suites in a git repo, run once with the cache on so their maps are recorded:
    ``qa`` (app/pipeline.py → app/retrieval.py, app/common.py) and ``chat`` (app/chat.py →
    app/common.py). No rule names any app/ file: the maps decide."""
    for name in ("GITHUB_EVENT_PATH", "GITHUB_EVENT_NAME", "EVALGATE_TIER", "GITHUB_OUTPUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CI", "true")
    root = app_project(pytester.path, cases=6)
    (root / "app" / "pipeline.py").write_text("import app.common\n" + PIPELINE)
    (root / "app" / "common.py").write_text("def clean(text):\n    return text.strip()\n")
    (root / "app" / "chat.py").write_text(CHAT)
    with (root / "pyproject.toml").open("a") as config:
        config.write("\n" + toml_table("tool.evalgate.models.chat", {"kind": "python", "function": "app.chat:answer"}))
    add_suite(root, "chat", cases=6, model="chat")
    repo = GitRepo(root)
    repo.write(".gitignore", ".pytest_cache/\n__pycache__/\n.evalgate/\n")
    repo.commit("initial")
    assert pytester.runpytest("--eval-tier=full").ret == 0
    return repo


def plan_on_branch(repo: GitRepo, branch: str, path: str, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], str]:
    repo.git("checkout", "-q", "-b", branch, "main")
    repo.write(path, text)
    repo.commit(f"change {path}")
    assert main(["plan", str(repo.path), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert main(["plan", str(repo.path)]) == 0
    return document, capsys.readouterr().out


def test_a_file_one_suite_uses_targets_that_suite(
    pytester: pytest.Pytester, mapped_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    document, text = plan_on_branch(mapped_repo, "retrieval", "app/retrieval.py", RETRIEVAL + "\n# tuned\n", capsys)
    assert document["change"] == "targeted" and document["suites"] == {"qa": "deep-dive", "chat": "smoke"}
    assert "app/retrieval.py (M) +2 -0: targeted (qa) by the recorded dependencies" in text
    assert "suites' dependencies as recorded by their last runs" in text
    run = pytester.runpytest("--eval-tier=auto")
    run.stdout.fnmatch_lines(["evalgate plan: change=targeted tier=deep-dive*"])
    run.assert_outcomes(passed=6 + 6)  # qa's deep dive: its 6 cases once (a deterministic model); chat's smoke its 6


def test_a_file_no_suite_uses_is_minor_and_says_so(mapped_repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    document, text = plan_on_branch(mapped_repo, "ui", "app/ui.py", "BUTTON = 'red'\n", capsys)
    assert document["change"] == "minor" and document["suites"] == {"qa": "smoke", "chat": "smoke"}
    assert "minor by the recorded dependencies: no suite uses app/ui.py" in text


def test_a_file_every_suite_uses_is_major(mapped_repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    document, text = plan_on_branch(mapped_repo, "common", "app/common.py", "def clean(text):\n    return text\n", capsys)
    assert document["change"] == "major" and document["suites"] == {"qa": "full", "chat": "full"}
    assert "major by the recorded dependencies: every suite uses app/common.py" in text


def test_without_maps_the_rules_decide_and_the_plan_says_why(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    app_project(pytester.path, cases=3)
    repo = GitRepo(pytester.path)
    repo.commit("initial")
    _, text = plan_on_branch(repo, "feature", "app/retrieval.py", RETRIEVAL + "\n# tuned\n", capsys)
    assert "no recorded dependencies yet (no result store): the rules alone decide" in text
    assert "app/retrieval.py (M) +2 -0: minor by no rule matched (default minor)" in text


def test_deps_shows_each_suites_map_and_what_changed(mapped_repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(mapped_repo.path)
    (mapped_repo.path / "app" / "common.py").write_text("def clean(text):\n    return text\n")
    assert main(["deps", "chat", "--project", root]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("chat: recorded ") and lines[0].endswith("(1 changed since)")
    assert "  app/chat.py" in lines and "  app/common.py" in lines and "  app/retrieval.py" not in lines
    assert "  changed: app/common.py changed (a recorded dependency of suite chat)" in lines
    assert main(["deps", "--project", root, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"qa", "chat"} and "app/retrieval.py" in document["qa"]["files"]
    assert main(["deps", "nope", "--project", root]) == 2
    assert "no suite 'nope' (suites: " in capsys.readouterr().err


def test_a_reverted_change_is_served_from_the_cache_again(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    """A branch switch or a revert brings back a state the cache has seen: each key keeps
    one entry per dependency map, and the newest one that still holds is reused."""
    app_project(pytester.path, cases=4)
    pytester.runpytest("--eval-tier=full").stdout.fnmatch_lines(["evalgate cache: 0 hit(s), 4 model call(s)*"])
    retrieval = pytester.path / "app" / "retrieval.py"
    retrieval.write_text(RETRIEVAL + "\n# tuned\n")
    pytester.runpytest("--eval-tier=full").stdout.fnmatch_lines(["evalgate cache: 0 hit(s), 4 model call(s)*"])
    retrieval.write_text(RETRIEVAL)
    pytester.runpytest("--eval-tier=full").stdout.fnmatch_lines(["evalgate cache: 4 hit(s), 0 model call(s)*"])
    assert main(["cache", "--project", str(pytester.path), "explain", "qa", "case-001"]) == 0
    assert "cached — the key and every recorded dependency are unchanged" in capsys.readouterr().out
    retrieval.write_text(RETRIEVAL + "\n# tuned\n")
    pytester.runpytest("--eval-tier=full").stdout.fnmatch_lines(["evalgate cache: 4 hit(s), 0 model call(s)*"])


def test_xdist_workers_record_and_the_maps_merge(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    app_project(pytester.path, cases=8)
    first = pytester.runpytest_subprocess("--eval-tier=full", "-n", "2")
    first.stdout.fnmatch_lines(["evalgate cache: 0 hit(s), 8 model call(s)*"])
    capsys.readouterr()
    assert main(["deps", "qa", "--project", str(pytester.path), "--format", "json"]) == 0
    files = json.loads(capsys.readouterr().out)["qa"]["files"]
    assert {"app/pipeline.py", "app/retrieval.py", "app/template.txt"} <= set(files)
    (pytester.path / "app" / "template.txt").write_text("b\n")
    again = pytester.runpytest_subprocess("--eval-tier=full", "-n", "2")
    again.stdout.fnmatch_lines(["qa*FAIL*", "evalgate cache: 0 hit(s), 8 model call(s)*"])


def test_a_lock_file_change_that_installs_nothing_new_keeps_the_maps(
    pytester: pytest.Pytester, mapped_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a dependency bump, the first run (all hits: no installed version changed)
    confirms the maps under the new lock files; plans use them again."""
    mapped_repo.write("requirements.txt", "requests>=2\n")
    mapped_repo.commit("pin")
    assert main(["plan", str(mapped_repo.path), "--base", "HEAD~1"]) == 0
    assert "were recorded under other lock files: the rules alone decide" in capsys.readouterr().out
    pytester.runpytest("--eval-tier=full").stdout.fnmatch_lines(["evalgate cache: 12 hit(s), 0 model call(s)*"])
    capsys.readouterr()
    document, _ = plan_on_branch(mapped_repo, "after-pin", "app/retrieval.py", RETRIEVAL + "\n# tuned\n", capsys)
    assert document["suites"] == {"qa": "deep-dive", "chat": "smoke"}


def test_concurrent_first_calls_make_one_map_and_read_installed_metadata_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first calls of a run finish together on the engine's threads: one of them makes
    the dependency map, the others wait for it, and the installed distributions' metadata
    (a walk over every package in the environment) is read once per run, not per call —
    64 threads each reading it made a 1-second run take 20 seconds."""
    import importlib.metadata

    from fake_openai import FakeOpenAI

    reads: list[int] = []
    real = importlib.metadata.packages_distributions

    def counted() -> Any:
        reads.append(1)
        return real()

    monkeypatch.setattr(importlib.metadata, "packages_distributions", counted)
    with FakeOpenAI(latency=0.05) as server:
        write_project(pytester.path, cases=40, model={"kind": "openai", "model": "m", "base_url": server.url,
                                                      "api_key_env": "", "concurrency": 16},
                      scorer={"kind": "custom", "function": "scoring:same"})
        # The scorer imports a library: each result's map names its distribution and version.
        (pytester.path / "scoring.py").write_text("import pytest\n\n\ndef same(output, case):\n    return output == case.expected\n")
        result = pytester.runpytest("--eval-tier=full", "-p", "no:xdist")
    result.assert_outcomes(passed=40)
    assert server.max_in_flight > 1  # the calls did overlap
    assert len(reads) == 1
    capsys.readouterr()
    assert main(["deps", "--project", str(pytester.path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["qa"]["distributions"] == {"pytest": pytest.__version__}
