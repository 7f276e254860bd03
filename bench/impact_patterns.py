"""The pattern matrix of bench/impact.py: the ways real apps hide what a model depends on.

Each pattern is a small project whose model reaches a dependency the way real code does — a
prompt read once behind ``lru_cache``, a helper loaded with ``importlib.import_module`` (first
time, imported earlier by a test module, from a ``.pyc``), a config read when the module is
imported, functions of several suites in one shared module, code and files used only on
threads (a pool inside the call, a pool kept for the process), a library whose version
changes, an environment variable — run once with the cache on, then *mutated so the answers change*,
then run again. A cached result served after the mutation is a **stale hit**; the target is 0
across the whole matrix. Each run is a fresh process, as CI runs it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CASES = 20
CACHE_LINE = re.compile(r"evalgate cache: (\d+) hit\(s\), (\d+) model call\(s\)")


@dataclass(frozen=True)
class Pattern:
    name: str
    files: dict[str, str]
    """Project files (besides the config and dataset) before the change."""
    function: str
    """``module:function`` of the model."""
    mutate: Callable[[Path], dict[str, str] | None]
    """Changes the project so the answers change; returns extra environment for the run after."""
    env: dict[str, str] | None = None
    """Environment for the first run."""
    model_env: tuple[str, ...] = ()
    """The model's declared ``env`` (the documented way to make a variable a dependency)."""
    compile_first: bool = False


def _write(root: Path, name: str, text: str) -> dict[str, str] | None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)
    return None


def _pretend_library_upgrade(root: Path) -> dict[str, str] | None:
    """A library upgrade with no file of the project changed: the recorded version is made
    older in the store (what an earlier install would have recorded), then the plan and the
    cache compare it with what is installed."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_deps import _pretend_recorded_version

    _pretend_recorded_version(root, "pluggy", "0.0.1")
    return None


PATTERNS = [
    Pattern("once-per-process cache", {
        "app_model.py": "import functools\nfrom pathlib import Path\n\n\n@functools.lru_cache(maxsize=None)\n"
                        "def prompt():\n    return (Path(__file__).parent / 'prompt.txt').read_text().strip()\n\n\n"
                        "def answer(q):\n    return prompt() + q.removeprefix('q')\n",
        "prompt.txt": "a\n"}, "app_model:answer", lambda root: _write(root, "prompt.txt", "b\n")),
    Pattern("dynamic import", {
        "app/__init__.py": "", "app/dynamic.py": "import importlib\n\n\ndef answer(q):\n    return importlib.import_module('app.qahelper').solve(q)\n",
        "app/qahelper.py": "def solve(q):\n    return 'a' + q.removeprefix('q')\n"},
        "app.dynamic:answer", lambda root: _write(root, "app/qahelper.py", "def solve(q):\n    return 'b' + q.removeprefix('q')\n")),
    Pattern("dynamic import, pre-imported by a test", {
        "app/__init__.py": "", "app/dynamic.py": "import importlib\n\n\ndef answer(q):\n    return importlib.import_module('app.qahelper').solve(q)\n",
        "app/qahelper.py": "def solve(q):\n    return 'a' + q.removeprefix('q')\n", "conftest.py": "import app.qahelper\n"},
        "app.dynamic:answer", lambda root: _write(root, "app/qahelper.py", "def solve(q):\n    return 'b' + q.removeprefix('q')\n")),
    Pattern("dynamic import from .pyc", {
        "app/__init__.py": "", "app/dynamic.py": "import importlib\n\n\ndef answer(q):\n    return importlib.import_module('app.qahelper').solve(q)\n",
        "app/qahelper.py": "def solve(q):\n    return 'a' + q.removeprefix('q')\n"},
        "app.dynamic:answer", lambda root: _write(root, "app/qahelper.py", "def solve(q):\n    return 'b' + q.removeprefix('q')\n"),
        compile_first=True),
    Pattern("import-time read", {
        "configured.py": "import json\nfrom pathlib import Path\n\nPARAMS = json.loads((Path(__file__).parent / 'config' / 'params.json').read_text())\n\n\n"
                         "def answer(q):\n    return PARAMS['prefix'] + q.removeprefix('q')\n",
        "config/params.json": '{"prefix": "a"}'}, "configured:answer", lambda root: _write(root, "config/params.json", '{"prefix": "b"}')),
    Pattern("per-function model in a shared module", {
        "app/__init__.py": "", "app/models.py": "def qa(q):\n    return 'a' + q.removeprefix('q')\n\n\ndef chat(q):\n    return 'c'\n"},
        "app.models:qa", lambda root: _write(root, "app/models.py", "def qa(q):\n    return 'b' + q.removeprefix('q')\n\n\ndef chat(q):\n    return 'c'\n")),
    Pattern("library upgrade", {
        "lib_model.py": "import pluggy\n\n\ndef answer(q):\n    pluggy.HookimplMarker('x')\n    return 'a' + q.removeprefix('q')\n"},
        "lib_model:answer", _pretend_library_upgrade),
    Pattern("helper on a thread pool inside the call", {
        "app/__init__.py": "", "app/helper.py": "def solve(q):\n    return 'a' + q.removeprefix('q')\n",
        "app/pooled.py": "from concurrent.futures import ThreadPoolExecutor\n\nfrom app import helper\n\n\n"
                         "def answer(q):\n    with ThreadPoolExecutor(2) as pool:\n        return pool.submit(helper.solve, q).result()\n"},
        "app.pooled:answer", lambda root: _write(root, "app/helper.py", "def solve(q):\n    return 'b' + q.removeprefix('q')\n")),
    Pattern("prompt read on a pool kept for the process", {
        "app/__init__.py": "",
        "app/kept.py": "from concurrent.futures import ThreadPoolExecutor\nfrom pathlib import Path\n\nPOOL = ThreadPoolExecutor(1)\n\n\n"
                       "def read(q):\n    return (Path(__file__).parent / 'prompt.txt').read_text().strip() + q.removeprefix('q')\n\n\n"
                       "def answer(q):\n    return POOL.submit(read, q).result()\n",
        "app/prompt.txt": "a\n"}, "app.kept:answer", lambda root: _write(root, "app/prompt.txt", "b\n")),
    Pattern("environment variable", {
        "env_model.py": "import os\n\n\ndef answer(q):\n    return os.environ.get('MODEL_PREFIX', 'a') + q.removeprefix('q')\n"},
        "env_model:answer", lambda root: {"MODEL_PREFIX": "b"}, env={"MODEL_PREFIX": "a"}, model_env=("MODEL_*",)),
]


def write_project(root: Path, pattern: Pattern) -> None:
    (root / "evals").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "tiers").mkdir()
    (root / "data" / "qa.jsonl").write_text("".join(json.dumps({"id": f"c{i}", "input": f"q{i}", "expected": f"a{i}"}) + "\n"
                                                    for i in range(CASES)))
    env = f"env = {json.dumps(list(pattern.model_env))}\n" if pattern.model_env else ""
    (root / "evalgate.toml").write_text(f'suites = ["evals/*.toml"]\n[models.m]\nkind = "python"\nfunction = "{pattern.function}"\n{env}')
    (root / "evals" / "qa.toml").write_text('dataset = "data/qa.jsonl"\nmodel = "m"\nscorer = {kind = "exact"}\ngate = {min_pass_rate = 0.9}\n')
    (root / "tiers" / "full.toml").write_text("early_stop = false\n")
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    for name, text in pattern.files.items():
        _write(root, name, text)


def run(root: Path, env: dict[str, str]) -> tuple[int, int]:
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "--eval-tier=full"], cwd=root, env=env, capture_output=True, text=True)
    found = CACHE_LINE.search(done.stdout)
    if found is None:
        raise SystemExit(f"no cache line in {root}:\n{done.stdout[-2000:]}{done.stderr[-1000:]}")
    return int(found.group(1)), int(found.group(2))


def pattern_matrix(workdir: Path) -> dict[str, object]:
    """Every pattern: run, mutate so the answers change, run again; stale hits per pattern."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("EVALGATE_", "GITHUB_", "MODEL_"))}
    rows = {}
    for index, pattern in enumerate(PATTERNS):
        root = workdir / f"pattern-{index}"
        write_project(root, pattern)
        if pattern.compile_first:
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "app")], check=True)
        env = {**base, **(pattern.env or {})}
        first = run(root, env)
        again = run(root, env)
        extra = pattern.mutate(root) or {}
        if pattern.compile_first:
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "app")], check=True)
        hits, calls = run(root, {**env, **extra})
        rows[pattern.name] = {"first_run_calls": first[1], "unchanged_rerun_hits": again[0], "stale_hits": hits,
                              "calls_after_change": calls}
    return {"patterns": rows, "stale_hits": sum(int(row["stale_hits"]) for row in rows.values()),
            "unchanged_reruns_all_hits": all(row["unchanged_rerun_hits"] == CASES for row in rows.values())}
