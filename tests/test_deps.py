"""Dependencies recorded while suites run: the cache is exact, and explains itself.

What a suite depends on is the union of what any of its calls — and the import of its code —
executed or read. Each pattern a real app uses (a prompt read once behind a cache, a helper
imported by name, a config read at import, an environment variable, a library upgrade,
several suites' functions in one module, work done on threads) is a test here that fails when a changed
dependency would be served from the cache.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import add_suite, toml_table, write_project
from gitrepo import GitRepo, committed_project

from evalgate.blocks import MODULE, blocks_of
from evalgate.cli import main
from evalgate.store.deps import DepMap, Digests
from evalgate.tracing import recording

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
    """The model function lives in app/pipeline.py and calls retrieve() from
    app/retrieval.py, which reads a template file at call time."""
    write_project(root, cases=cases, model={"kind": "python", "function": "app.pipeline:answer"}, model_code="")
    (root / "app").mkdir(exist_ok=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "pipeline.py").write_text(PIPELINE)
    (root / "app" / "retrieval.py").write_text(RETRIEVAL)
    (root / "app" / "template.txt").write_text("a\n")
    (root / "app" / "ui.py").write_text("BUTTON = 'blue'\n")
    return root


def calls(result: pytest.RunResult) -> tuple[int, int]:
    """``(hits, model calls)`` from a run's cache line."""
    line = next(line for line in result.outlines if line.startswith("evalgate cache: ") and "hit(s)" in line)
    hits, _, rest = line.removeprefix("evalgate cache: ").partition(" hit(s), ")
    return int(hits), int(rest.partition(" model call(s)")[0])


def test_a_change_to_an_imported_function_is_never_served_from_the_cache(pytester: pytest.Pytester) -> None:
    app_project(pytester.path)
    first = pytester.runpytest("--eval-tier=full")
    first.stdout.fnmatch_lines(["qa*PASS*", "evalgate cache: 0 hit(s), 26 model call(s)*"])
    assert calls(pytester.runpytest("--eval-tier=full")) == (26, 0)
    (pytester.path / "app" / "ui.py").write_text("BUTTON = 'red'\n")  # used by no suite
    assert calls(pytester.runpytest("--eval-tier=full")) == (26, 0)
    retrieval = pytester.path / "app" / "retrieval.py"
    retrieval.write_text(RETRIEVAL.replace('prefix + prompt.removeprefix("q")', '"wrong"'))  # every answer now wrong
    broken = pytester.runpytest("--eval-tier=full")
    broken.stdout.fnmatch_lines([
        "qa*FAIL*",
        "evalgate cache: 0 hit(s), 26 model call(s)*",
        "evalgate cache: 26 cached result(s) not reused: app/retrieval.py: retrieve changed (a recorded dependency of suite qa)",
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


# --- the patterns of real apps ----------------------------------------------------------------

CACHED_PROMPT = '''
import functools
from pathlib import Path


@functools.lru_cache(maxsize=None)
def prompt():
    return (Path(__file__).parent / "prompt.txt").read_text().strip()


def answer(question):
    return prompt() + question.removeprefix("q")
'''


def test_a_prompt_read_once_behind_a_cache_is_a_dependency_of_every_result(pytester: pytest.Pytester) -> None:
    """Only the first call reads the file; the other 39 read the cached text. Every result of
    the suite depends on it all the same: after the prompt changes, nothing is reused."""
    write_project(pytester.path, cases=40, model={"kind": "python", "function": "app_model:answer"}, model_code="")
    (pytester.path / "app_model.py").write_text(CACHED_PROMPT)
    (pytester.path / "prompt.txt").write_text("a\n")
    assert calls(pytester.runpytest("--eval-tier=full")) == (0, 40)
    assert calls(pytester.runpytest("--eval-tier=full")) == (40, 0)
    (pytester.path / "prompt.txt").write_text("wrong\n")
    broken = pytester.runpytest("--eval-tier=full")
    assert calls(broken) == (0, 40) and broken.ret == 1


DYNAMIC = '''
import importlib


def answer(question):
    helper = importlib.import_module("app.qahelper")
    return helper.solve(question)
'''


@pytest.mark.parametrize("how", ["lazy", "pre-imported", "compiled"])
def test_a_helper_imported_by_name_inside_the_call_is_a_dependency(pytester: pytest.Pytester, how: str) -> None:
    """``importlib.import_module`` inside the call: the helper's code runs in the call however
    it was loaded — for the first time, imported earlier by a test module, or from a .pyc."""
    write_project(pytester.path, cases=20, model={"kind": "python", "function": "app.dynamic:answer"}, model_code="")
    app = pytester.path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "dynamic.py").write_text(DYNAMIC)
    (app / "qahelper.py").write_text('def solve(question):\n    return "a" + question.removeprefix("q")\n')
    if how == "pre-imported":
        (pytester.path / "conftest.py").write_text("import app.qahelper  # a test imported it first\n")
    if how == "compiled":
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(app)], check=True)
    assert calls(pytester.runpytest_subprocess("--eval-tier=full")) == (0, 20)
    assert calls(pytester.runpytest_subprocess("--eval-tier=full")) == (20, 0)
    (app / "qahelper.py").write_text('def solve(question):\n    return "wrong"\n')
    if how == "compiled":
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(app)], check=True)
    broken = pytester.runpytest_subprocess("--eval-tier=full")
    assert calls(broken) == (0, 20) and broken.ret == 1


THREADED = {
    "app/__init__.py": "",
    "app/helper.py": (
        "from pathlib import Path\n\n"
        "PROMPT = Path(__file__).parent / 'prompt.txt'\n\n\n"
        "def respond(question):\n"
        "    return PROMPT.read_text().strip() + question.removeprefix('q')\n"
    ),
    "app/prompt.txt": "a\n",
    # A pool made inside the call, joined before it returns.
    "app/inside.py": (
        "from concurrent.futures import ThreadPoolExecutor\n\nfrom app import helper\n\n\n"
        "def answer(question):\n"
        "    with ThreadPoolExecutor(2) as pool:\n"
        "        return pool.submit(helper.respond, question).result()\n"
    ),
    # One pool for the process, shared by two suites' models: its thread outlives the call that
    # started it and then works for every later call, of either suite.
    "app/shared.py": (
        "from concurrent.futures import ThreadPoolExecutor\n\nfrom app import helper\n\n"
        "POOL = ThreadPoolExecutor(1)\n\n\n"
        "def qa(question):\n    return POOL.submit(helper.respond, question).result()\n\n\n"
        "def chat(question):\n    return POOL.submit(helper.respond, question).result()\n"
    ),
    # A loader thread started when the module is imported, reading the prompt after the import.
    "app/background.py": (
        "import threading\nimport time\nfrom pathlib import Path\n\n"
        "LOADED = threading.Event()\nPREFIX = []\n\n\n"
        "def load():\n"
        "    time.sleep(0.2)\n"
        "    PREFIX.append((Path(__file__).parent / 'prompt.txt').read_text().strip())\n"
        "    LOADED.set()\n\n\n"
        "threading.Thread(target=load, daemon=True).start()\n\n\n"
        "def answer(question):\n"
        "    LOADED.wait()\n"
        "    return PREFIX[0] + question.removeprefix('q')\n"
    ),
}


@pytest.mark.parametrize("model", ["app.inside:answer", "app.shared:qa", "app.background:answer"])
def test_what_threads_the_model_starts_run_and_read_are_dependencies(pytester: pytest.Pytester, model: str) -> None:
    """The helper's code and the prompt are used only on threads: a pool inside the call, a
    pool kept for the process (shared with a second suite), a loader started at import.
    Changing either misses the cache and catches the regression, in both suites."""
    write_project(pytester.path, cases=20, model={"kind": "python", "function": model}, model_code="")
    (pytester.path / "app").mkdir()
    for path, text in THREADED.items():
        (pytester.path / path).write_text(text)
    with (pytester.path / "pyproject.toml").open("a") as config:
        config.write("\n" + toml_table("tool.evalgate.models.chat", {"kind": "python", "function": "app.shared:chat"}))
    add_suite(pytester.path, "chat", cases=20, model="chat")
    first = calls(pytester.runpytest_subprocess("--eval-tier=full"))
    assert first[0] == 0 and first[1] > 0
    assert calls(pytester.runpytest_subprocess("--eval-tier=full")) == (first[1], 0)
    (pytester.path / "app" / "prompt.txt").write_text("wrong\n")
    broken = pytester.runpytest_subprocess("--eval-tier=full")
    assert calls(broken)[0] == 0 and broken.ret == 1
    broken.stdout.fnmatch_lines(["qa*FAIL*", "chat*FAIL*"])
    (pytester.path / "app" / "prompt.txt").write_text("a\n")
    assert calls(pytester.runpytest_subprocess("--eval-tier=full")) == (first[1], 0)  # as before: all reused
    if model == "app.background:answer":
        return  # its own code is in the module: the helper is the other suite's
    helper = pytester.path / "app" / "helper.py"
    helper.write_text(THREADED["app/helper.py"].replace("return PROMPT", "return 'x' + PROMPT"))
    broken = pytester.runpytest_subprocess("--eval-tier=full")
    assert calls(broken)[0] == 0 and broken.ret == 1


CONFIGURED = '''
import json
from pathlib import Path

PARAMS = json.loads((Path(__file__).parent / "config" / "params.json").read_text())


def answer(question):
    return PARAMS["prefix"] + question.removeprefix("q")
'''


def test_a_config_read_when_the_model_module_is_imported_is_a_dependency(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(pytester.path, cases=12, model={"kind": "python", "function": "configured:answer"}, model_code="")
    (pytester.path / "configured.py").write_text(CONFIGURED)
    (pytester.path / "config").mkdir()
    (pytester.path / "config" / "params.json").write_text('{"prefix": "a"}')
    assert calls(pytester.runpytest("--eval-tier=full")) == (0, 12)
    capsys.readouterr()
    assert main(["deps", "qa", "--project", str(pytester.path), "--format", "json"]) == 0
    assert "config/params.json" in json.loads(capsys.readouterr().out)["qa"]["files"]
    (pytester.path / "config" / "params.json").write_text('{"prefix": "x"}')
    broken = pytester.runpytest_subprocess("--eval-tier=full")  # `deps` above imported the module into this process
    assert calls(broken) == (0, 12) and broken.ret == 1


ENVIRONMENT = '''
import os


def answer(question):
    return os.environ.get("MODEL_PREFIX", "a") + question.removeprefix("q")
'''


def test_an_environment_variable_the_model_reads(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Declared in the model's ``env``: its value's digest is in the key, so a change misses.
    Not declared: the run names it, so the user knows the cache cannot see it."""
    write_project(pytester.path, cases=10, model={"kind": "python", "function": "env_model:answer"}, model_code="")
    (pytester.path / "env_model.py").write_text(ENVIRONMENT)
    monkeypatch.setenv("MODEL_PREFIX", "a")
    undeclared = pytester.runpytest("--eval-tier=full")
    undeclared.stdout.fnmatch_lines(["evalgate dependencies: qa: its code read environment variables its model does not "
                                     "declare: MODEL_PREFIX; *in the model's env = *"])
    write_project(pytester.path, cases=10, model={"kind": "python", "function": "env_model:answer", "env": ["MODEL_*"]},
                  model_code="")
    (pytester.path / "env_model.py").write_text(ENVIRONMENT)
    assert calls(pytester.runpytest("--eval-tier=full")) == (0, 10)
    assert calls(pytester.runpytest("--eval-tier=full")) == (10, 0)
    monkeypatch.setenv("MODEL_PREFIX", "secret-value-wrong")
    broken = pytester.runpytest("--eval-tier=full")
    assert calls(broken) == (0, 10) and broken.ret == 1
    import sqlite3

    parts = [row[0] for row in sqlite3.connect(pytester.path / ".evalgate" / "cache.sqlite").execute("SELECT parts FROM cache")]
    assert any('"MODEL_PREFIX"' in text for text in parts)  # in the key: a digest, never the value
    assert not any("secret-value-wrong" in text for text in parts)


SHARED_MODELS = '''
from app import retrieval


def qa(question):
    return retrieval.lookup(question)


def chat(question):
    return "a" + question.removeprefix("q")


def tools(question):
    return "a" + question.removeprefix("q")
'''


@pytest.fixture
def shared_module_repo(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """Three suites whose model functions live in one app/models.py; only ``qa`` calls into
    app/retrieval.py. Run once with the cache on, in a git repository."""
    for name in ("GITHUB_EVENT_PATH", "GITHUB_EVENT_NAME", "EVALGATE_TIER", "GITHUB_OUTPUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CI", "true")
    root = pytester.path
    write_project(root, cases=6, suite="qa", model={"kind": "python", "function": "app.models:qa"}, model_code="")
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "models.py").write_text(SHARED_MODELS)
    (root / "app" / "retrieval.py").write_text('def lookup(question):\n    return "a" + question.removeprefix("q")\n')
    with (root / "pyproject.toml").open("a") as config:
        for name in ("chat", "tools"):
            config.write("\n" + toml_table(f"tool.evalgate.models.{name}", {"kind": "python", "function": f"app.models:{name}"}))
    add_suite(root, "chat", cases=6, model="chat")
    add_suite(root, "tools", cases=6, model="tools")
    repo = GitRepo(root)
    repo.write(".gitignore", ".pytest_cache/\n__pycache__/\n.evalgate/\n")
    repo.commit("initial")
    assert pytester.runpytest("--eval-tier=full").ret == 0
    return repo


def test_a_plan_says_when_the_only_maps_were_recorded_on_a_ref_it_does_not_trust(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Evals run on a feature branch, then main plans: main may not read the branch's maps
    (docs/security.md), and the plan says so instead of "not run with the cache yet"."""
    monkeypatch.delenv("EVALGATE_TIER", raising=False)
    app_project(pytester.path, cases=4)
    repo = committed_project(pytester.path, monkeypatch)
    repo.git("checkout", "-q", "-b", "feature")
    assert pytester.runpytest("--eval-tier=full").ret == 0
    repo.git("checkout", "-q", "main")
    repo.write("app/retrieval.py", RETRIEVAL + "\n# edited\n")
    add_suite(pytester.path, "fresh", cases=2)  # a suite that never ran anywhere
    capsys.readouterr()  # the run's own output
    assert main(["plan", str(repo.path), "--format", "json"]) == 0
    reasons = json.loads(capsys.readouterr().out)["reasons"]
    assert (
        "no recorded dependencies main may read for qa (recorded only on feature, which main does not trust: "
        "docs/security.md; run the evals on main with the cache once); no recorded dependencies for fresh "
        "(not run with the cache yet): the rules alone decide"
    ) in reasons, reasons


def test_one_suites_function_in_a_shared_module_plans_and_reruns_that_suite_alone(
    pytester: pytest.Pytester, shared_module_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = shared_module_repo
    repo.git("checkout", "-q", "-b", "chat-tweak")
    repo.write("app/models.py", SHARED_MODELS.replace('def chat(question):\n    return "a"', 'def chat(question):\n    return "wrong"'))
    repo.commit("tweak chat")
    assert main(["plan", str(repo.path), "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["change"] == "targeted" and plan["suites"] == {"qa": "smoke", "chat": "full", "tools": "smoke"}
    run = pytester.runpytest("--eval-tier=full")
    run.stdout.fnmatch_lines(["chat*FAIL*", "qa*PASS*", "tools*PASS*", "evalgate cache: 12 hit(s), 6 model call(s)*"])


def test_a_helper_only_one_suite_calls_plans_that_suite(
    shared_module_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = shared_module_repo
    repo.git("checkout", "-q", "-b", "retrieval")
    repo.write("app/retrieval.py", 'def lookup(question):\n    return "b" + question.removeprefix("q")\n')
    repo.commit("retrieval")
    assert main(["plan", str(repo.path), "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["suites"] == {"qa": "full", "chat": "smoke", "tools": "smoke"}


def test_module_level_code_of_a_shared_module_concerns_every_suite_using_it(
    shared_module_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = shared_module_repo
    repo.git("checkout", "-q", "-b", "constant")
    repo.write("app/models.py", "PREFIX = 'a'\n" + SHARED_MODELS)
    repo.commit("constant")
    assert main(["plan", str(repo.path), "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["change"] == "major" and set(plan["suites"].values()) == {"full"}


def test_a_library_upgrade_with_no_file_changed_is_major_for_the_suites_that_use_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The suite's code runs a third-party library: the map records its version. Nothing in
    the repository changes, but the installed version does (simulated by rewriting the
    recorded version): the plan is major for that suite, naming both versions."""
    monkeypatch.setenv("CI", "true")
    for name in ("GITHUB_EVENT_PATH", "GITHUB_EVENT_NAME", "EVALGATE_TIER"):
        monkeypatch.delenv(name, raising=False)
    write_project(pytester.path, cases=6, model={"kind": "python", "function": "lib_model:answer"}, model_code="")
    (pytester.path / "lib_model.py").write_text("import pluggy\n\n\ndef answer(q):\n    pluggy.HookimplMarker('x')\n"
                                                "    return 'a' + q.removeprefix('q')\n")
    repo = GitRepo(pytester.path)
    repo.write(".gitignore", ".pytest_cache/\n__pycache__/\n.evalgate/\n")
    repo.commit("initial")
    assert pytester.runpytest("--eval-tier=full").ret == 0
    capsys.readouterr()
    assert main(["deps", "qa", "--project", str(pytester.path), "--format", "json"]) == 0
    import pluggy

    assert json.loads(capsys.readouterr().out)["qa"]["distributions"].get("pluggy") == pluggy.__version__
    _pretend_recorded_version(pytester.path, "pluggy", "0.0.1")
    assert main(["plan", str(pytester.path), "--base", "HEAD", "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["change"] == "major" and plan["suites"] == {"qa": "full"}
    assert any(f"library pluggy 0.0.1 → {pluggy.__version__}" in reason for reason in plan["reasons"])
    rerun = pytester.runpytest("--eval-tier=full")
    assert calls(rerun) == (0, 6)


def _pretend_recorded_version(root: Path, dist: str, version: str) -> None:
    """Rewrite the store's maps as if ``dist`` had been at ``version`` (ids recomputed, as an
    older evalgate run with that version would have written them)."""
    import sqlite3

    connection = sqlite3.connect(root / ".evalgate" / "cache.sqlite")
    renamed: dict[str, str] = {}
    for deps_id, text in connection.execute("SELECT id, map FROM deps").fetchall():
        recorded = DepMap.from_json(text)
        if dist in recorded.dists:
            older = DepMap(recorded.files, {**recorded.dists, dist: version}, recorded.lock, recorded.code, recorded.env_read)
            connection.execute("INSERT OR IGNORE INTO deps (id, map, created_at) VALUES (?, ?, 0)", (older.id, older.to_json()))
            renamed[deps_id] = older.id
    for old, new in renamed.items():
        for table in ("suite_unions", "suite_maps"):
            connection.execute(f"UPDATE {table} SET deps = ? WHERE deps = ?", (new, old))
    connection.commit()


# --- the recorder and the maps ----------------------------------------------------------------


def test_blocks_are_functions_methods_and_the_modules_own_code() -> None:
    source = b"import os\nX = 1\n\n@decorate\ndef a():\n    return [i for i in range(3)]\n\n\nclass C:\n    y = 2\n\n" \
             b"    def m(self):\n        def inner():\n            pass\n        return 1\n"
    blocks = blocks_of(source)
    assert set(blocks.digests) == {"a", "C.m", MODULE}
    assert [blocks.at(line) for line in (1, 4, 6, 9, 12, 14)] == [MODULE, "a", "a", MODULE, "C.m", "C.m"]
    edited = blocks_of(source.replace(b"return 1", b"return 2"))
    assert {name for name in blocks.digests if blocks.digests[name] != edited.digests[name]} == {"C.m"}
    assert set(blocks_of(b"def (broken").digests) == {"<file>"}


def test_recording_sees_its_own_and_its_threads_reads_and_lookups_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the recorded code and the threads it starts use is seen; what another thread
    (another call running beside it) reads meanwhile is not."""
    for name in ("read.txt", "started.txt", "elsewhere.txt"):
        (tmp_path / name).write_text("x")
    monkeypatch.setenv("EVALGATE_SEEN", "1")
    go, done = threading.Event(), threading.Event()

    def work() -> None:
        (tmp_path / "read.txt").read_text()

    def started_here() -> None:
        (tmp_path / "started.txt").read_text()

    def elsewhere() -> None:
        go.wait()
        (tmp_path / "elsewhere.txt").read_text()
        done.set()

    beside = threading.Thread(target=elsewhere)
    beside.start()
    with recording() as usage:
        work()
        __import__("os").environ.get("EVALGATE_SEEN")
        go.set()
        done.wait()
        thread = threading.Thread(target=started_here)
        thread.start()
        thread.join()
        (tmp_path / "written.txt").write_text("z")  # written, not read: not a dependency
    beside.join()
    assert str(tmp_path / "read.txt") in usage.files and work.__code__ in usage.code
    assert str(tmp_path / "started.txt") in usage.files and started_here.__code__ in usage.code
    assert str(tmp_path / "elsewhere.txt") not in usage.files and elsewhere.__code__ not in usage.code
    assert str(tmp_path / "written.txt") not in usage.files
    assert "EVALGATE_SEEN" in usage.env


def test_maps_say_what_changed(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("1")
    (tmp_path / "m.py").write_text("def f():\n    return 1\n\n\ndef g():\n    return 2\n")
    digests = Digests(tmp_path)
    recorded = digests.map_of(["a.txt", "gone.txt"], {"pytest": "0.0.1"}, {"m.py": ["f"]})
    assert recorded.files["gone.txt"] == "missing" and set(recorded.code["m.py"]) == {"f", MODULE}
    assert DepMap.from_json(recorded.to_json()) == recorded and len(recorded.id) == 32
    (tmp_path / "a.txt").write_text("2")
    (tmp_path / "m.py").write_text("def f():\n    return 1\n\n\ndef g():\n    return 3\n")  # g: not recorded
    fresh = Digests(tmp_path)
    assert fresh.changes(recorded, "qa") == [
        "a.txt changed (a recorded dependency of suite qa)",
        f"library pytest 0.0.1 → {__import__('importlib.metadata').metadata.version('pytest')} (a recorded dependency of suite qa)",
    ]
    (tmp_path / "m.py").write_text("def f():\n    return 4\n")
    assert "m.py: f changed (a recorded dependency of suite qa)" in Digests(tmp_path).changes(recorded, "qa")
    assert digests.relative([str(tmp_path / ".evalgate" / "x"), str(tmp_path / "a.txt"), "/etc/hostname"]) == ["a.txt"]


def test_the_store_keeps_each_runs_union_and_each_suites_map(pytester: pytest.Pytester) -> None:
    app_project(pytester.path, cases=3)
    pytester.runpytest("--eval-tier=full", "--eval-report=out")
    import sqlite3

    connection = sqlite3.connect(pytester.path / ".evalgate" / "cache.sqlite")
    ((deps_id,),) = connection.execute("SELECT deps FROM suite_unions").fetchall()
    (text,) = connection.execute("SELECT map FROM deps WHERE id = ?", (deps_id,)).fetchone()
    union = DepMap.from_json(text)
    assert set(union.files) == {"app/template.txt"}
    assert {"app/pipeline.py", "app/retrieval.py", "app/__init__.py"} <= set(union.code)
    assert "retrieve" in union.code["app/retrieval.py"] and "app/ui.py" not in union.code
    (suite,) = connection.execute("SELECT DISTINCT suite FROM suite_maps").fetchone()
    assert suite == "qa"


def test_a_map_altered_in_the_store_is_never_trusted(pytester: pytest.Pytester) -> None:
    """Someone with write access to the store drops the template from the suite's maps and
    changes the template: a trusted altered map would serve 26 stale PASSes."""
    app_project(pytester.path, cases=26)
    pytester.runpytest("--eval-tier=full")
    import sqlite3

    connection = sqlite3.connect(pytester.path / ".evalgate" / "cache.sqlite")
    altered = 0
    for deps_id, text in connection.execute("SELECT id, map FROM deps").fetchall():
        data = json.loads(text)
        if data["files"].pop("app/template.txt", None) is not None:
            connection.execute("UPDATE deps SET map = ? WHERE id = ?", (json.dumps(data, sort_keys=True, separators=(",", ":")), deps_id))
            altered += 1
    connection.commit()
    connection.close()
    assert altered
    (pytester.path / "app" / "template.txt").write_text("b\n")  # every answer now wrong
    rerun = pytester.runpytest("--eval-tier=full")
    rerun.stdout.fnmatch_lines([
        "qa*FAIL*",
        "evalgate cache: 0 hit(s), 26 model call(s)*",
        "evalgate cache warning: ignored * dependency map(s) whose content does not match their id",
    ])


def test_a_stored_map_is_checked_against_its_text() -> None:
    recorded = DepMap({"a.txt": "d1"}, {"pluggy": "1.0"}, "lock", {"app.py": {"f": "d2"}}, ("HOME",))
    text = recorded.to_json()
    loaded = DepMap.stored(recorded.id, text)
    assert loaded == recorded and loaded is not None and loaded.id == recorded.id and loaded.to_json() == text
    assert DepMap.stored(recorded.id, text.replace(",", ", ")) is None  # the same content, not the text its id names
    assert DepMap.stored(recorded.id, text.replace("d1", "d9")) is None
    assert DepMap.stored("0" * 32, text) is None
    assert DepMap.stored(recorded.id, None) is None


# --- plans from the recorded maps ---------------------------------------------------------

CHAT = '''
from app.common import clean


def answer(prompt):
    return clean("a" + prompt.removeprefix("q"))
'''


@pytest.fixture
def mapped_repo(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """Two suites in a git repo, run once with the cache on so their maps are recorded:
    ``qa`` (app/pipeline.py → app/retrieval.py; it imports app/common.py but never calls it)
    and ``chat`` (app/chat.py → app/common.py's clean). No rule names any app/ file."""
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
    assert document["change"] == "targeted" and document["suites"] == {"qa": "full", "chat": "smoke"}
    assert "app/retrieval.py (M) +2 -0: targeted (qa) by the recorded dependencies" in text
    assert "suites' dependencies as recorded by their last runs" in text
    run = pytester.runpytest("--eval-tier=auto")
    run.stdout.fnmatch_lines(["evalgate plan: change=targeted tier=full*"])
    run.assert_outcomes(passed=6 + 6)  # qa's deep dive: its 6 cases once (a deterministic model); chat's smoke its 6


def test_a_file_no_suite_uses_is_minor_and_says_so(mapped_repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    document, text = plan_on_branch(mapped_repo, "ui", "app/ui.py", "BUTTON = 'red'\n", capsys)
    assert document["change"] == "minor" and document["suites"] == {"qa": "smoke", "chat": "smoke"}
    assert "minor by the recorded dependencies: no suite uses app/ui.py" in text


def test_a_function_only_one_suite_calls_targets_it_and_module_code_every_user(
    mapped_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    document, _ = plan_on_branch(mapped_repo, "common", "app/common.py", "def clean(text):\n    return text\n", capsys)
    assert document["change"] == "targeted" and document["suites"] == {"qa": "smoke", "chat": "full"}
    document, text = plan_on_branch(mapped_repo, "common2", "app/common.py", "import os\n\n\ndef clean(text):\n    return text.strip()\n", capsys)
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
    assert "  app/chat.py: <module>, answer" in lines and "  app/common.py: <module>, clean" in lines
    assert not any("app/retrieval.py" in line for line in lines)
    assert "  changed: app/common.py: clean changed (a recorded dependency of suite chat)" in lines
    assert main(["deps", "--project", root, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"qa", "chat"} and "retrieve" in document["qa"]["code"]["app/retrieval.py"]
    assert main(["deps", "nope", "--project", root]) == 2
    assert "no suite 'nope' (suites: " in capsys.readouterr().err


def test_a_reverted_change_is_served_from_the_cache_again(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    """A branch switch or a revert brings back a state the cache has seen: each key keeps one
    entry per run that computed it, and the newest whose run's dependencies hold is reused."""
    app_project(pytester.path, cases=4)
    assert calls(pytester.runpytest("--eval-tier=full")) == (0, 4)
    retrieval = pytester.path / "app" / "retrieval.py"
    retrieval.write_text(RETRIEVAL + "\n# tuned\n")
    assert calls(pytester.runpytest("--eval-tier=full")) == (0, 4)
    retrieval.write_text(RETRIEVAL)
    assert calls(pytester.runpytest("--eval-tier=full")) == (4, 0)
    assert main(["cache", "--project", str(pytester.path), "explain", "qa", "case-001"]) == 0
    assert "cached — the key and every recorded dependency are unchanged" in capsys.readouterr().out
    retrieval.write_text(RETRIEVAL + "\n# tuned\n")
    assert calls(pytester.runpytest("--eval-tier=full")) == (4, 0)


def test_xdist_workers_record_and_the_unions_merge(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(pytester.path, cases=16, model={"kind": "python", "function": "app_model:answer"}, model_code="")
    (pytester.path / "app_model.py").write_text(CACHED_PROMPT)
    (pytester.path / "prompt.txt").write_text("a\n")
    first = pytester.runpytest_subprocess("--eval-tier=full", "-n", "2")
    first.stdout.fnmatch_lines(["evalgate cache: 0 hit(s), 16 model call(s)*"])
    capsys.readouterr()
    assert main(["deps", "qa", "--project", str(pytester.path), "--format", "json"]) == 0
    assert "prompt.txt" in json.loads(capsys.readouterr().out)["qa"]["files"]
    (pytester.path / "prompt.txt").write_text("b\n")
    again = pytester.runpytest_subprocess("--eval-tier=full", "-n", "2")
    again.stdout.fnmatch_lines(["qa*FAIL*", "evalgate cache: 0 hit(s), 16 model call(s)*"])


def test_a_lock_file_change_that_installs_nothing_new_keeps_the_maps(
    pytester: pytest.Pytester, mapped_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a dependency bump, the first run (all hits: no installed version changed)
    confirms the maps under the new lock files; plans use them again."""
    mapped_repo.write("requirements.txt", "requests>=2\n")
    mapped_repo.commit("pin")
    assert main(["plan", str(mapped_repo.path), "--base", "HEAD~1"]) == 0
    assert "were recorded under other lock files: the rules alone decide" in capsys.readouterr().out
    assert calls(pytester.runpytest("--eval-tier=full")) == (12, 0)
    capsys.readouterr()
    document, _ = plan_on_branch(mapped_repo, "after-pin", "app/retrieval.py", RETRIEVAL + "\n# tuned\n", capsys)
    assert document["suites"] == {"qa": "full", "chat": "smoke"}


def test_concurrent_first_calls_make_one_map_and_read_installed_metadata_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first calls of a run finish together on the engine's threads: one of them makes
    the dependency map, the others wait for it, and the installed distributions' metadata
    is read once per run, not per call."""
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
        # The scorer runs a library's code: the suite's map names its distribution and version.
        (pytester.path / "scoring.py").write_text("import pluggy\n\n\ndef same(output, case):\n"
                                                  "    pluggy.HookimplMarker('x')\n    return output == case.expected\n")
        result = pytester.runpytest("--eval-tier=full", "-p", "no:xdist")
    result.assert_outcomes(passed=40)
    assert server.max_in_flight > 1  # the calls did overlap
    assert len(reads) == 1
    capsys.readouterr()
    assert main(["deps", "--project", str(pytester.path), "--format", "json"]) == 0
    import pluggy

    assert json.loads(capsys.readouterr().out)["qa"]["distributions"] == {"pluggy": pluggy.__version__}
