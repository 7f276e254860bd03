"""The docs a newcomer reads are true: README is short, every link lands, every command shown
runs in a test (here, or in the test named for it), numbers quoted come from a run, and the
install instructions work under the distribution's real name."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *sorted((REPO / "examples").glob("*/README.md"))]

RUN_ELSEWHERE = {
    'python -m pip install -e ".[test]" && python -m pytest -n auto': ".ci/run",
    "bash scripts/install-local-llm.sh": ".ci/run",
    "python -m pip install . && evalgate run examples/gsm8k --tier full --report reports/gsm8k": ".ci/run",
    "python examples/local-llm/run.py": "tests/test_local_llm.py::test_run_script_is_the_one_command",
    "python examples/safety/run.py": "tests/test_local_llm.py::test_the_safety_run_script_is_the_one_command",
    "cd examples/safety && pytest --eval-tier=full --eval-report reports":
        "tests/test_safety_example.py::test_the_recorded_example_runs_its_suites_and_distrusts_its_weak_judge",
    "evalgate run examples/slices --tier full": "tests/test_slices.py::test_the_slices_example_blocks_on_the_failing_slice_and_names_it",
    "evalgate run examples/slices --tier all-cases": "tests/test_slices.py::test_the_slices_example_blocks_on_the_failing_slice_and_names_it",
    "cd examples/assistant": "tests/test_example_and_cli.py::test_assistant_example_plans_from_what_its_suites_use",
    "pytest --eval-tier=full": "tests/test_example_and_cli.py::test_assistant_example_plans_from_what_its_suites_use",
    "evalgate deps rag": "tests/test_example_and_cli.py::test_assistant_example_plans_from_what_its_suites_use",
    "git switch -c tune": "tests/test_example_and_cli.py::test_assistant_example_plans_from_what_its_suites_use",
    'echo "# prefer longer passages on ties" >> app/rag/retrieval.py':
        "tests/test_example_and_cli.py::test_assistant_example_plans_from_what_its_suites_use",
    "echo \"THEME['accent'] = '#223377'\" >> app/web/ui.py":
        "tests/test_example_and_cli.py::test_assistant_example_plans_from_what_its_suites_use",
    "git commit -qam tune": "tests/test_example_and_cli.py::test_assistant_example_plans_from_what_its_suites_use",
    "evalgate plan": "tests/test_example_and_cli.py::test_assistant_example_plans_from_what_its_suites_use",
}
"""Commands run by CI itself or by a test of their own (named here; the test below checks it exists)."""

RUN_HERE = {
    "python -m pip install .": "test_the_distribution_installs_from_a_path_and_a_git_url_under_its_real_name",
    "python -m pip install /path/to/evalgate": "test_the_distribution_installs_from_a_path_and_a_git_url_under_its_real_name",
    'python -m pip install "pytest-evalgate @ git+https://github.com/OWNER/evalgate@SHA"':
        "test_the_distribution_installs_from_a_path_and_a_git_url_under_its_real_name",
    "evalgate check": "test_use_it_in_your_project_commands_run_on_a_starter_project",
    "pytest --eval-tier=smoke": "test_use_it_in_your_project_commands_run_on_a_starter_project",
    "pytest --eval-tier=full -n auto --eval-report reports/": "test_use_it_in_your_project_commands_run_on_a_starter_project",
    "pytest --eval-tier=auto": "test_use_it_in_your_project_commands_run_on_a_starter_project",
    "evalgate run examples/gsm8k --tier full --report reports/gsm8k": "test_the_gsm8k_commands_give_the_numbers_the_readmes_quote",
    "cd examples/gsm8k && pytest --eval-tier=full --eval-report reports": "test_the_gsm8k_commands_give_the_numbers_the_readmes_quote",
    "evalgate run examples/gsm8k --tier all-cases": "test_the_gsm8k_commands_give_the_numbers_the_readmes_quote",
}


def documented_commands() -> list[tuple[str, str]]:
    """``(file, command)`` for every command line in a bash block of README and the examples'
    READMEs (comments stripped)."""
    found = []
    for path in [REPO / "README.md", *sorted((REPO / "examples").glob("*/README.md"))]:
        for block in re.findall(r"```(?:bash|sh)\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
            for line in block.splitlines():
                command = re.sub(r"\s+#.*$", "", line).strip()
                if command and not command.startswith("#"):
                    found.append((str(path.relative_to(REPO)), command))
    return found


def test_readme_is_read_in_five_minutes() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move reference material into docs/"


def test_no_doc_installs_the_package_index_evalgate() -> None:
    """``evalgate`` on the package index is somebody else's project."""
    pattern = re.compile(r"pip install\s+(?:-\S+\s+)*[\"']?evalgate(?:\[|[\"'\s@]|$)", re.M)
    offenders = [f"{path.relative_to(REPO)}: {match.group(0)}" for path in [*DOCS, REPO / "action.yml",
                 *(REPO / "examples").rglob("*.yml")] for match in pattern.finditer(path.read_text(encoding="utf-8"))]
    assert not offenders, offenders


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def test_every_relative_link_lands() -> None:
    problems = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            file, _, anchor = target.partition("#")
            where = (path.parent / file).resolve() if file else path
            if not where.exists():
                problems.append(f"{path.relative_to(REPO)}: {target} (no such file)")
            elif anchor and where.suffix == ".md":
                anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", where.read_text(encoding="utf-8"), re.M)}
                if anchor not in anchors:
                    problems.append(f"{path.relative_to(REPO)}: {target} (no heading '{anchor}')")
    assert not problems, "\n".join(problems)


def test_every_documented_command_is_run_by_a_test() -> None:
    missing = [f"{file}: {command}" for file, command in documented_commands()
               if command not in RUN_HERE and command not in RUN_ELSEWHERE]
    assert not missing, "commands no test runs (add them to RUN_HERE or RUN_ELSEWHERE):\n" + "\n".join(missing)
    here = {name for name in globals() if name.startswith("test_")}
    assert set(RUN_HERE.values()) <= here
    for command, where in RUN_ELSEWHERE.items():
        if where == ".ci/run":
            assert command in (REPO / ".ci" / "run").read_text(), f".ci/run does not run: {command}"
            continue
        file, _, name = where.partition("::")
        assert f"def {name}(" in (REPO / file).read_text(), f"{where} does not exist (it should run: {command})"


def _evalgate(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evalgate", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=600)


def test_the_gsm8k_commands_give_the_numbers_the_readmes_quote(tmp_path: Path) -> None:
    (tmp_path / "examples").mkdir()
    shutil.copytree(REPO / "examples" / "gsm8k", tmp_path / "examples" / "gsm8k", ignore=shutil.ignore_patterns(".evalgate", "reports"))
    cache = str(tmp_path / "cache.sqlite")
    full = _evalgate(["run", "examples/gsm8k", "--tier", "full", "--report", "reports/gsm8k"], tmp_path, EVALGATE_CACHE=cache)
    assert full.returncode == 1, full.stdout[-2000:]  # on purpose: the 6B gate fails
    found = dict(re.findall(r"^(gsm8k-\S+): (?:PASS|FAIL) — .*settled after (\d+) of 300", full.stdout, re.M))
    readme = (REPO / "README.md").read_text()
    example = (REPO / "examples" / "gsm8k" / "README.md").read_text()
    assert f"after {found['gsm8k-175b-verification']} and {found['gsm8k-6b-finetuning']} of 300 cases" in readme
    for name, settled in found.items():
        assert re.search(rf"\| {name} \| (PASS|FAIL) \| {settled} of 300 cases \|", example), (name, settled)
    assert (tmp_path / "reports" / "gsm8k" / "report.html").exists()
    inside = subprocess.run([sys.executable, "-m", "pytest", "--eval-tier=full", "--eval-report", "reports"],
                            cwd=tmp_path / "examples" / "gsm8k", capture_output=True, text=True, timeout=600,
                            env={**os.environ, "EVALGATE_CACHE": cache})
    cached = re.search(r"evalgate cache: \d+ hit\(s\), 0 model call\(s\)", inside.stdout)
    assert inside.returncode == 1 and cached is not None, inside.stdout[-2000:]  # the second run: all from the cache
    assert cached.group(0) in " ".join(example.split()), "examples/gsm8k/README.md quotes another cache line"
    every = _evalgate(["run", "examples/gsm8k", "--tier", "all-cases"], tmp_path, EVALGATE_CACHE=cache)
    rates = re.findall(r"^gsm8k-\S+: \w+ — pass rate (\d+\.\d)%", every.stdout, re.M)
    assert sorted(rates) == ["23.7", "56.7"] and "56.7 % and 23.7 %" in example


def test_use_it_in_your_project_commands_run_on_a_starter_project(tmp_path: Path) -> None:
    """The README's project commands, on what ``evalgate init`` writes, in a git repository."""
    assert _evalgate(["init"], tmp_path).returncode == 0
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start"], cwd=tmp_path, check=True)
    check = _evalgate(["check"], tmp_path)
    assert check.returncode == 0, check.stderr
    env = {**os.environ, "EVALGATE_CACHE": str(tmp_path / ".evalgate" / "cache.sqlite")}
    for args in (["--eval-tier=smoke"], ["--eval-tier=full", "-n", "auto", "--eval-report", "reports/"], ["--eval-tier=auto"]):
        done = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, (args, done.stdout[-2000:])
    assert (tmp_path / "reports" / "junit.xml").exists()


def test_the_distribution_installs_from_a_path_and_a_git_url_under_its_real_name(tmp_path: Path) -> None:
    """A fresh environment, the README's two install lines (offline: the dependencies come from
    this environment), then a gated run. pip refuses a ``name @ url`` whose metadata names
    another distribution, so the ``pytest-evalgate @ …`` line proves the name (a ``file:`` URL to
    the clone stands in for the git one: how pip fetches git is pip's, the name is ours)."""
    clone = tmp_path / "evalgate"  # the working tree as a repository of its own (CI's checkout may not be one)
    shutil.copytree(REPO, clone, ignore=shutil.ignore_patterns(".git", ".evalgate", "__pycache__", "*.egg-info", "build",
                                                               ".venv", "reports", ".mypy_cache", ".ruff_cache", ".pytest_cache"))
    for source in (str(clone), f"pytest-evalgate @ {clone.as_uri()}"):
        env_dir = tmp_path / f"venv-{len(source)}"
        venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
        python = env_dir / "bin" / "python"
        install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", source],
                                 capture_output=True, text=True, timeout=600)
        assert install.returncode == 0, install.stderr[-2000:]
        shown = subprocess.run([str(python), "-m", "pip", "show", "pytest-evalgate"], capture_output=True, text=True)
        assert "Name: pytest-evalgate" in shown.stdout and str(env_dir) in shown.stdout
        project = tmp_path / f"project-{len(source)}"
        project.mkdir()
        assert subprocess.run([str(python), "-m", "evalgate", "init"], cwd=project, capture_output=True).returncode == 0
        # Installed (not editable), evalgate's modules are pytest's to rewrite unless the plugin unmarks them:
        # a conftest lists how each was loaded, with byte-code writing off as in many container images.
        (project / "conftest.py").write_text(
            "import sys\n\ndef pytest_sessionfinish(session):\n"
            "    names = ('evalgate.run.evalrun', 'evalgate.verdict.gate', 'evalgate.config')\n"
            "    print('evalgate loaders:', sorted({type(sys.modules[n].__spec__.loader).__name__ for n in names}))\n"
        )
        env = {**os.environ, "PYTHONPATH": "", "PYTHONDONTWRITEBYTECODE": "1"}
        run = subprocess.run([str(python), "-m", "pytest", "--eval-tier=smoke", "-p", "no:cacheprovider", "-s"], cwd=project,
                             capture_output=True, text=True, timeout=600, env=env)
        assert run.returncode == 0 and "evalgate verdicts" in run.stdout, run.stdout[-2000:]
        loaders = run.stdout.split("evalgate loaders:", 1)[1].splitlines()[0]  # printed after the progress dots
        assert "SourceFileLoader" in loaders and "AssertionRewritingHook" not in loaders, loaders
        version = subprocess.run([str(python), "-m", "evalgate", "--version"], capture_output=True, text=True)
        assert "(pytest-evalgate)" in version.stdout


@pytest.mark.parametrize("name", ["configuration", "tiers", "statistics", "reports", "cache", "ci", "shared-store",
                                  "security", "benchmarks", "architecture", "glossary", "dependencies"])
def test_the_reference_lives_in_docs(name: str) -> None:
    assert f"(docs/{name}.md)" in (REPO / "README.md").read_text()
