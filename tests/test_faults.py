"""The fault corpus: every attack and clumsy input that once went wrong, as it was found.

Each test reproduces one reported fault (numbered as in the hardening issue) with the
real thing — a real pytest run, a real loopback server, a real git repository, a real
SQLite file — and checks that it now gives one clear line, the right exit code, and loses
nothing. The first test plants an API key and searches every output for it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from conftest import add_suite, write_project
from fake_openai import FakeOpenAI, answer, prompt_of, send
from gitrepo import GitRepo

from evalgate.changes.rules import build_rules, classify
from evalgate.cli import main
from evalgate.untrusted import code_span, log_line, markdown_text, one_line

KEY = "sk-planted-4f1c9e2b7a6d5e3f"
INJECTED = "::error title=evalgate gate qa::PASS (injected)"


def openai_model(url: str, **options: Any) -> dict[str, Any]:
    return {"kind": "openai", "model": "m", "base_url": url, "api_key_env": "EVALGATE_FAULT_KEY", "timeout": 2,
            "backoff": 0.01, "max_backoff": 0.05, "max_retries": 1, **options}


def workflow_command_lines(text: str) -> list[str]:
    """Lines GitHub's runner would take for a command: ``::`` at the start (after spaces),
    or the legacy ``##[`` anywhere."""
    return [line for line in text.splitlines() if line.lstrip().startswith("::") or "##[" in line]


# --- 1. secrets -----------------------------------------------------------------------


def echo_the_key(handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
    """A misbehaving gateway: error pages and even answers quote the request's headers."""
    auth = handler.headers.get("Authorization", "")
    prompt = prompt_of(body)
    if prompt.startswith("q0"):
        send(handler, 401, json.dumps({"error": f"invalid credentials: Authorization: {auth}"}))
    elif prompt.startswith("q1"):
        send(handler, 500, f"<html>upstream failed for request with header {auth} and api-key: {KEY}</html>")
    else:
        send(handler, 200, json.dumps(answer(handler.path, f"a{prompt[1:]} (served for {auth})")))


def test_a_planted_key_appears_in_no_output(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALGATE_FAULT_KEY", KEY)
    summary = pytester.path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(pytester.path / "github_output"))
    with FakeOpenAI() as server:
        server.respond = echo_the_key
        write_project(pytester.path, cases=5, max_errors=5, min_pass_rate=0.1, model=openai_model(server.url),
                      scorer={"kind": "contains"})
        result = pytester.runpytest("--eval-tier=full", "-v", "--tb=long", "--junitxml=pytest.xml", "--eval-report=out")
    assert main(["report", "github", str(pytester.path / "out")]) == 0
    outputs = {
        "stdout": result.stdout.str(), "stderr": result.stderr.str(),
        **{path.name: path.read_bytes().decode("utf-8", "replace") for path in pytester.path.rglob("*")
           if path.is_file() and path.suffix in (".xml", ".json", ".md", ".sqlite", ".txt", "") and "cache" not in path.parts},
    }
    outputs["cache"] = b"".join(path.read_bytes() for path in (pytester.path / ".evalgate").glob("cache.sqlite*")).decode("latin-1")
    leaked = [name for name, text in outputs.items() if KEY in text]
    assert not leaked, f"the key leaked into {leaked}"
    assert "[redacted]" in outputs["results.json"] and summary.read_text()


def test_credentials_in_a_url_appear_in_no_output(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``base_url_env`` URL with ``user:password@`` and a key in its query: every error names
    the URL, none shows the password or the key."""
    with socket_closed() as port:
        monkeypatch.setenv("EVALGATE_GATEWAY", f"http://bob:hunter2-pw@127.0.0.1:{port}/v1?api_key=query-key-77")
        write_project(pytester.path, cases=3, max_errors=5, min_pass_rate=0.1,
                      model=openai_model("http://127.0.0.1:9/v1", base_url_env="EVALGATE_GATEWAY", api_key_env=""))
        result = pytester.runpytest("--eval-tier=full", "-v", "--junitxml=pytest.xml", "--eval-report=out")
    texts = [result.stdout.str(), result.stderr.str()]
    texts += [path.read_bytes().decode("latin-1") for path in pytester.path.rglob("*") if path.is_file()
              and (path.suffix in (".xml", ".json", ".md", ".html") or path.name.startswith("cache.sqlite"))]
    assert "cannot connect to http://bob:[redacted]@127.0.0.1" in result.stdout.str()
    assert not [text for text in texts if "hunter2-pw" in text or "query-key-77" in text]


def socket_closed() -> Any:
    """A port nothing listens on (bound, then closed)."""
    import contextlib
    import socket

    @contextlib.contextmanager
    def port() -> Any:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            number = probe.getsockname()[1]
        yield number

    return port()


# --- 2, 3. workflow commands and markup -------------------------------------------------


HOSTILE_SUITE = "x\n::error title=evalgate::pwned @acme-security #1 <b>"


def test_a_suite_file_name_is_data_everywhere(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    write_project(pytester.path, cases=3)
    (pytester.path / "evals" / "qa.toml").rename(pytester.path / "evals" / f"{HOSTILE_SUITE}.toml")
    assert main(["check", str(pytester.path)]) == 0
    checked = capsys.readouterr()
    result = pytester.runpytest("--eval-tier=full", "-v", "--eval-report=out")
    assert result.ret == 0
    assert workflow_command_lines(checked.out + checked.err + result.stdout.str()) == []
    summary = (pytester.path / "out" / "summary.md").read_text()
    assert "x___error_title_evalgate__pwned__acme-security__1__b_" in summary  # the default name: safe characters only
    assert "@acme" not in summary and "<b>" not in summary
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    capsys.readouterr()
    assert main(["report", "comment", str(pytester.path / "out")]) == 0
    comment = capsys.readouterr().out
    assert "@acme" not in comment and "<b>" not in comment and workflow_command_lines(comment) == []


def test_a_suite_file_with_the_node_id_separator_gives_one_verdict_with_or_without_workers(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=8, correct=6, min_pass_rate=0.7)
    (pytester.path / "evals" / "qa.toml").rename(pytester.path / "evals" / "a::b.toml")
    serial = pytester.runpytest_subprocess("--eval-tier=full", "-n", "0")
    workers = pytester.runpytest_subprocess("--eval-tier=full", "-n", "2")
    for run in (serial, workers):
        run.stdout.fnmatch_lines(["a__b*PASS*75.0%*8/8*"])
        assert run.ret == 0




def test_a_file_name_cannot_inject_workflow_commands_into_the_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_EVENT_PATH", "EVALGATE_TIER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out.txt"))
    root = write_project(tmp_path / "p", cases=3, project_options={"rules": [{"paths": ["prompts/**"], "change": "targeted", "concern": "x"}]})
    repo = GitRepo(root)
    repo.write(".gitignore", ".pytest_cache/\n__pycache__/\n")
    repo.commit("initial")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/x\n::error title=injected::pwned\n::stop-commands::t.txt", "hi\n")
    repo.write("notes ##[warning]legacy.txt", "hi\n")
    repo.commit("sneaky names")
    completed = subprocess.run([sys.executable, "-m", "evalgate", "plan", str(root), "--format", "github"],
                               capture_output=True, text=True, cwd=root)
    assert completed.returncode == 0, completed.stderr
    assert workflow_command_lines(completed.stdout) == []
    text = subprocess.run([sys.executable, "-m", "evalgate", "plan", str(root)], capture_output=True, text=True, cwd=root)
    assert workflow_command_lines(text.stdout) == [] and "targeted (x) by rule 'prompts/**'" in text.stdout
    assert "prompts/x\\n::error" in text.stdout  # shown, escaped, on one line


def test_globs_match_names_with_line_breaks() -> None:
    from evalgate.config import RuleConfig

    rules = build_rules([RuleConfig(paths=["prompts/**"], change="major")], [], use_defaults=False)
    assert classify("prompts/x\n::error::pwned.txt", rules)[0] == "major"


MODEL_THAT_INJECTS = f'''
def answer(prompt):
    n = int(prompt.removeprefix("q"))
    if n == 0:
        raise RuntimeError("bad day\\n{INJECTED}\\n##[stop-commands]tok")
    if n == 1:
        return "</details><img src=x onerror=alert(1)> **no** [link](https://evil.example) | broken | `tick"
    return f"a{{n}}"
'''


def test_model_text_reaches_no_log_line_or_markup(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=4, max_errors=2, min_pass_rate=0.1, model_code=MODEL_THAT_INJECTS,
                  model={"kind": "python", "function": "toy_model:answer"},
                  rows=[{"id": f"case`{i}", "input": f"q{i}", "expected": f"a{i}"} for i in range(4)])
    (pytester.path / "evals" / "qa.toml").rename(pytester.path / "evals" / "x|y <b>.toml")
    result = pytester.runpytest("--eval-tier=full", "-v", "--tb=long", "--eval-report=out", "-rA")
    output = result.stdout.str() + result.stderr.str()
    assert workflow_command_lines(output) == [], workflow_command_lines(output)
    summary = (pytester.path / "out" / "summary.md").read_text()
    html = rendered(summary)
    assert html.count("<details>") == html.count("</details>") == 2  # ours (cost, failed cases): the model closed none
    assert "<img" not in html and "<strong>" not in html and "<a " not in html
    assert html.count("<tr>") == 2  # the header and one suite: "|" in a name split no cell
    assert "<code>case`0</code>" in html and "<code>x_y__b_</code>" in html  # the file name made a safe suite name


def rendered(markdown: str) -> str:
    """summary.md as GitHub would show it: CommonMark with tables, raw HTML allowed."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


def test_escaping_helpers() -> None:
    assert one_line("a\nb\r\x1b[31m") == "a\\nb\\r\\e[31m"
    assert "##[" not in one_line("x ##[error]y") and log_line("  ::error::x").lstrip()[:2] != "::"
    assert code_span("a`b") == "``a`b``" and code_span("|", table=True) == "`\\|`" and code_span("<b>|") == "`<b>|`"
    assert markdown_text("<b>*x*</b>") == "&lt;b&gt;\\*x\\*&lt;/b&gt;"


# --- 4. paths outside the project -----------------------------------------------------------


def test_a_dataset_outside_the_project_is_refused_and_never_quoted(pytester: pytest.Pytester, tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "private.csv"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:root:/root:/bin/bash\nline2\n")
    write_project(pytester.path, cases=2)
    add_suite(pytester.path, "qa", suite_options={"dataset": {"path": str(secret), "format": "csv"}})
    result = pytester.runpytest("--eval-tier=full")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*resolves to *private.csv, outside the project*allow_outside_project = true*"])
    assert "root:x:0:0" not in result.stdout.str() + result.stderr.str()
    (pytester.path / "data" / "link.csv").symlink_to(secret)
    add_suite(pytester.path, "qa", suite_options={"dataset": {"path": "data/link.csv", "format": "csv"}})
    linked = pytester.runpytest("--eval-tier=full")
    assert linked.ret == pytest.ExitCode.USAGE_ERROR and "outside the project" in linked.stderr.str()
    write_project(pytester.path, cases=2, project_options={"allow_outside_project": True})
    add_suite(pytester.path, "qa", suite_options={"dataset": {"path": str(secret), "format": "csv"}})
    allowed = pytester.runpytest("--eval-tier=full")
    # The file is read once allowed, and quoted no further than a field name's excerpt.
    allowed.stderr.fnmatch_lines(["*private.csv:2: row has no 'input'*(fields here: root:x:0:0:root:/root:/bin/ba…)"])


# --- 5, 6. the cache never destroys a user's file, and recovers from damage -------------------


def test_evalgate_cache_pointing_at_a_dataset_leaves_it_untouched(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(pytester.path, cases=3)
    dataset = pytester.path / "data" / "qa.jsonl"
    before = dataset.read_bytes()
    monkeypatch.setenv("EVALGATE_CACHE", str(dataset))
    result = pytester.runpytest("--eval-tier=full")
    assert result.ret == 0 and dataset.read_bytes() == before
    assert not list(dataset.parent.glob("qa.jsonl.corrupt-*"))
    result.stdout.fnmatch_lines(["*qa.jsonl is not an evalgate result store (not an SQLite file): left as it is*"])
    other = pytester.path / "other.db"
    connection = sqlite3.connect(other)
    connection.execute("CREATE TABLE accounts (id INTEGER)")
    connection.commit()
    connection.close()
    monkeypatch.setenv("EVALGATE_CACHE", str(other))
    again = pytester.runpytest("--eval-tier=full")
    again.stdout.fnmatch_lines(["*other.db is another program's SQLite database (tables: accounts)*left as it is*"])
    assert sqlite3.connect(other).execute("SELECT name FROM sqlite_master").fetchall() == [("accounts",)]
    monkeypatch.setenv("EVALGATE_CACHE", "/dev/null")
    device = pytester.runpytest("--eval-tier=full")
    assert device.ret == 0 and Path("/dev/null").exists() and not Path("/dev/null").is_file()
    device.stdout.fnmatch_lines(["*/dev/null is not a regular file*"])


def test_a_foreign_sqlite_file_is_not_changed_by_a_single_byte(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not even its journal mode: the file is refused before anything is written to it."""
    write_project(pytester.path, cases=3)
    other = pytester.path / "app.db"
    connection = sqlite3.connect(other)
    connection.execute("CREATE TABLE accounts (id INTEGER)")
    connection.commit()
    connection.close()
    before = other.read_bytes()
    monkeypatch.setenv("EVALGATE_CACHE", str(other))
    result = pytester.runpytest("--eval-tier=full")
    assert result.ret == 0 and other.read_bytes() == before
    assert not Path(f"{other}-wal").exists() and not list(pytester.path.glob("app.db.corrupt-*"))
    empty = pytester.path / "empty.db"
    sqlite3.connect(empty).execute("PRAGMA user_version = 1").connection.commit()  # a database with no tables
    before = empty.read_bytes()
    monkeypatch.setenv("EVALGATE_CACHE", str(empty))
    pytester.runpytest("--eval-tier=full").stdout.fnmatch_lines(["*empty.db is an SQLite database evalgate did not create*"])
    assert empty.read_bytes() == before


def test_a_zero_byte_cache_file_is_adopted_aloud(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(pytester.path, cases=3)
    placeholder = pytester.path / "placeholder.sqlite"
    placeholder.touch()
    monkeypatch.setenv("EVALGATE_CACHE", str(placeholder))
    result = pytester.runpytest("--eval-tier=full")
    result.stdout.fnmatch_lines(["evalgate cache warning: *placeholder.sqlite was an empty file; started a new store in it*"])
    assert pytester.runpytest("--eval-tier=full").stdout.str().count("was an empty file") == 0


def test_a_cache_with_a_corrupt_middle_page_is_moved_aside(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=300, correct=300)
    pytester.runpytest("--eval-tier=full")
    database = pytester.path / ".evalgate" / "cache.sqlite"
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = connection.execute("PRAGMA page_size").fetchone()[0]
    connection.close()
    pages = database.stat().st_size // page
    with database.open("r+b") as handle:  # one page in the middle of the file
        handle.seek((pages // 2) * page)
        handle.write(b"\x5a" * page)
    first = pytester.runpytest("--eval-tier=full")
    assert first.ret == 0
    first.stdout.fnmatch_lines(["*cache.sqlite is not a usable cache*moved it to cache.sqlite.corrupt-*"])
    assert list(database.parent.glob("cache.sqlite.corrupt-*"))


def test_a_cache_with_corrupt_last_pages_is_moved_aside(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(pytester.path, cases=200, correct=200)
    pytester.runpytest("--eval-tier=full")
    database = pytester.path / ".evalgate" / "cache.sqlite"
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = connection.execute("PRAGMA page_size").fetchone()[0]
    connection.close()
    size = database.stat().st_size
    with database.open("r+b") as handle:  # dd conv=notrunc over the last three pages
        handle.seek(size - 3 * page)
        handle.write(b"\x5a" * 3 * page)
    first = pytester.runpytest("--eval-tier=full")
    assert first.ret == 0
    first.stdout.fnmatch_lines(["*cache.sqlite is not a usable cache*moved it to cache.sqlite.corrupt-*"])
    second = pytester.runpytest("--eval-tier=full")
    assert "reading the cache failed" not in second.stdout.str()  # a new store, not a warning forever
    for command in (["stats"], ["prune", "--max-size", "1KB"], ["explain", "qa", "case-001"]):
        assert main(["cache", "--project", str(pytester.path), *command]) == 0
    assert "Traceback" not in capsys.readouterr().err


# --- 7. a truncated body is retried -----------------------------------------------------


def test_a_truncated_response_body_is_retried(pytester: pytest.Pytester) -> None:
    state = {"broken": 0}

    def truncated_once(handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if state["broken"] < 2:
            state["broken"] += 1
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            handler.wfile.write(b"40\r\n{\"choices\": [")  # a chunk that never completes
            handler.wfile.flush()
            handler.close_connection = True
            return
        send(handler, 200, json.dumps(answer(handler.path, "a" + prompt_of(body)[1:])))

    with FakeOpenAI() as server:
        server.respond = truncated_once
        write_project(pytester.path, cases=2, model=openai_model(server.url, api_key_env="", max_retries=3))
        result = pytester.runpytest("--eval-tier=full")
    assert result.ret == 0 and "Traceback" not in result.stdout.str()
    result.assert_outcomes(passed=2)


# --- 8. bytes that are not UTF-8 -------------------------------------------------------------


def test_non_utf8_input_is_one_line_naming_file_and_line(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=2)
    (pytester.path / "data" / "qa.jsonl").write_bytes(b'{"id": "a", "input": "q0", "expected": "a0"}\n{"id": "b", "input": "\xff"}\n')
    result = pytester.runpytest("--eval-tier=full")
    assert result.ret == pytest.ExitCode.USAGE_ERROR and "INTERNALERROR" not in result.stdout.str()
    result.stderr.fnmatch_lines(["ERROR: *qa.jsonl:2: not UTF-8: byte 0xff at column 23; save the file as UTF-8"])
    write_project(pytester.path, cases=2)
    suite = pytester.path / "evals" / "qa.toml"
    suite.write_bytes(suite.read_bytes() + b"# caf\xe9\n")
    assert main(["check", str(pytester.path)]) == 2


# --- 9, 10. unwritable reports, closed pipes, bad report input ----------------------------------


def test_an_unwritable_report_folder_prints_the_table_then_one_error(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=3)
    (pytester.path / "blocker").write_text("a file where a folder should be")
    result = pytester.runpytest("--eval-tier=full", "--eval-report=blocker/reports")
    assert result.ret == pytest.ExitCode.USAGE_ERROR and "Traceback" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*evalgate verdicts (tier: full)*", "qa*PASS*", "evalgate: error: cannot write the reports to *blocker/reports*"])


def test_a_closed_pipe_and_bad_report_input_end_quietly(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=3)
    GitRepo(pytester.path).commit("initial")
    piped = subprocess.run(f"{sys.executable} -m evalgate plan {pytester.path} --format json | head -c 5",
                           shell=True, capture_output=True, text=True)
    assert piped.stdout == "{\n  \"" and "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr
    (pytester.path / "bad.json").write_text('{"schema_version": 2, "suites": [{"suite": "x"}], "cases": []}')
    bad = subprocess.run([sys.executable, "-m", "evalgate", "report", "github", str(pytester.path / "bad.json")],
                         capture_output=True, text=True, env={**os.environ, "GITHUB_OUTPUT": str(pytester.path / "o")})
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "not an evalgate results.json" in bad.stderr


# --- 11. a command's grandchildren die with it ---------------------------------------------------


def test_a_hung_grandchild_is_killed_with_its_command(pytester: pytest.Pytester) -> None:
    marker = "31337.5"
    (pytester.path / "hangs.py").write_text(f"import os, sys\nsys.stdin.read()\nos.system('sleep {marker}')\n")
    write_project(pytester.path, cases=1, max_errors=1, min_pass_rate=0.0,
                  model={"kind": "command", "command": [sys.executable, "hangs.py"], "timeout": 1})
    started = time.monotonic()
    result = pytester.runpytest_subprocess("--eval-tier=full")
    assert time.monotonic() - started < 30
    result.stdout.fnmatch_lines(["*did not finish within 1 s (killed with its children)*"])
    time.sleep(0.2)
    alive = [pid for pid in os.listdir("/proc") if pid.isdigit() and marker in _cmdline(pid)]
    for pid in alive:
        os.kill(int(pid), signal.SIGKILL)
    assert alive == []


def _alive_with(marker: str) -> list[int]:
    alive = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and marker in _cmdline(pid)]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return alive


def test_a_grandchild_in_its_own_session_holding_the_output_is_killed_at_the_timeout(pytester: pytest.Pytester) -> None:
    """It escaped the command's process group (setsid) and keeps stdout open: the call still
    ends at the timeout, and the grandchild is found by the pipe it holds and killed."""
    marker = "31338.5"
    (pytester.path / "daemon.py").write_text(
        "import subprocess, sys\nsys.stdin.read()\n"
        f"subprocess.Popen(['sleep', '{marker}'], start_new_session=True)\nprint('a0')\n")
    write_project(pytester.path, cases=1, max_errors=1, min_pass_rate=0.0,
                  model={"kind": "command", "command": [sys.executable, "daemon.py"], "timeout": 1})
    started = time.monotonic()
    result = pytester.runpytest_subprocess("--eval-tier=full")
    assert time.monotonic() - started < 30
    result.stdout.fnmatch_lines(["*did not finish within 1 s*"])
    time.sleep(0.2)
    assert _alive_with(marker) == []


def test_sigterm_to_pytest_leaves_no_command_running(pytester: pytest.Pytester) -> None:
    marker = "31339.5"
    (pytester.path / "slow.py").write_text(f"import os, sys\nsys.stdin.read()\nos.system('sleep {marker}')\n")
    write_project(pytester.path, cases=2, model={"kind": "command", "command": [sys.executable, "slow.py"], "timeout": 600})
    run = subprocess.Popen([sys.executable, "-m", "pytest", "--eval-tier=full", "-p", "no:cacheprovider"], cwd=pytester.path,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not [pid for pid in os.listdir("/proc") if pid.isdigit() and marker in _cmdline(pid)]:
        assert time.monotonic() < deadline and run.poll() is None, "the command never started"
        time.sleep(0.1)
    run.terminate()
    run.communicate(timeout=60)
    time.sleep(0.3)
    assert run.returncode != 0 and _alive_with(marker) == []


def test_a_catastrophically_backtracking_regex_is_one_errored_case(pytester: pytest.Pytester) -> None:
    model = 'def answer(prompt, **params):\n    return "a" * 40 + "!"\n'
    write_project(pytester.path, cases=3, max_errors=5, min_pass_rate=0.1, model_code=model,
                  scorer={"kind": "regex", "pattern": "(a|aa)+$", "timeout": 0.3})
    started = time.monotonic()
    result = pytester.runpytest("--eval-tier=full")
    assert time.monotonic() - started < 20
    result.stdout.fnmatch_lines(["*took more than 0.3 s on this output (catastrophic backtracking?)*"])
    assert result.ret == 1  # every case errored: never a pass


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


# --- 12-14, 17. messages that say what is wrong and how to fix it ----------------------------------


@pytest.mark.parametrize(
    ("config", "suite", "expected"),
    [
        ('[tool.evalgate]\n[tool.evalgate.models.m]\nkind = "pyhton"\nfunction = "x:y"\n', None,
         "key 'tool.evalgate.models.m.kind' is 'pyhton', not one of 'python', 'recorded', 'openai', 'command', 'custom' (did you mean 'python'?)"),
        ('[tool.evalgate]\n[tool.evalgate.models.m]\nkind = "openai"\nmodel = "x"\ntemprature = 0\n', None,
         "unknown key 'tool.evalgate.models.m.temprature'; remove it or fix its name (did you mean 'temperature'?)"),
        ("[tool.evalgate]\n", 'dataset = "data/d.jsonl"\nscorer = {kind = "exact"}\ngate = {min_pass_rate = 0.5}\n[model]\nkind = "command"\ncomand = ["x"]\n',
         "unknown key 'model.comand'; remove it or fix its name (did you mean 'command'?)"),
        ("[tool.evalgate]\n", 'dataset = "data/d.jsonl"\nmodel = "m"\nscorer = {kind = "exact"}\n[gate]\nmin_pas_rate = 0.5\n',
         "unknown key 'gate.min_pas_rate'; remove it or fix its name (did you mean 'min_pass_rate'?)"),
        ("[tool.evalgate]\n", 'dataset = "data/d.jsonl"\nmodel = "m"\nscorer = {kind = "exact"}\n[gate]\nmin_pass_rate = 90\n',
         "it is a share between 0 and 1 — did you mean 0.9?"),
        ("[tool.evalgate]\n", 'dataset = "data/d.jsonl"\nmodel = "m"\nscorer = {kind = "contains", ignore_cas = true}\ngate = {min_pass_rate = 0.5}\n',
         "did you mean 'case_sensitive'? letter case is ignored by default; case_sensitive = true matches it"),
        ("[tool.evalgate]\n", 'dataset = "data/d.jsonl"\nmodel = "m"\nscorer = {kind = "regex", ignore_cas = true}\ngate = {min_pass_rate = 0.5}\n',
         "(did you mean 'ignore_case'?)"),
    ],
)
def test_config_messages_name_the_real_choices(tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str, suite: str | None, expected: str) -> None:
    (tmp_path / "evals").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "d.jsonl").write_text('{"id": "a", "input": "q", "expected": "a"}\n')
    (tmp_path / "pyproject.toml").write_text(config)
    (tmp_path / "evals" / "s.toml").write_text(suite or 'dataset = "data/d.jsonl"\nmodel = "m"\nscorer = {kind = "exact"}\ngate = {min_pass_rate = 0.5}\n')
    assert main(["check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err


def test_an_unknown_model_is_spelled_for_the_file_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "evals").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "d.jsonl").write_text('{"id": "a", "input": "q", "expected": "a"}\n')
    (tmp_path / "evalgate.toml").write_text('suites = ["evals/*.toml"]\n')
    (tmp_path / "evals" / "s.toml").write_text('dataset = "data/d.jsonl"\nmodel = "capital"\nscorer = {kind = "exact"}\ngate = {min_pass_rate = 0.5}\n')
    assert main(["check", str(tmp_path)]) == 2
    assert "add [models.capital] to evalgate.toml" in capsys.readouterr().err


# --- 15. a missing API key is named before any call -----------------------------------------------


def test_a_missing_api_key_is_named_before_any_call(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("EVALGATE_FAULT_KEY", raising=False)
    with FakeOpenAI() as server:
        write_project(pytester.path, cases=3, model=openai_model(server.url))
        result = pytester.runpytest("--eval-tier=full")
        calls = sum(server.requests.values())
    assert result.ret == pytest.ExitCode.USAGE_ERROR and calls == 0
    result.stderr.fnmatch_lines(["*the API key variable $EVALGATE_FAULT_KEY is not set; export it*"])
    assert main(["check", str(pytester.path)]) == 2
    assert "$EVALGATE_FAULT_KEY is not set" in capsys.readouterr().err


# --- 16. the user's own traceback ----------------------------------------------------------------


NESTED_FAILURE = '''
def helper_that_breaks(text):
    return {"a": 1}[text]


def answer(prompt):
    return helper_that_breaks(prompt)
'''


def test_a_failing_model_function_shows_the_users_traceback(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=1, max_errors=1, min_pass_rate=0.0, model_code=NESTED_FAILURE,
                  model={"kind": "python", "function": "toy_model:answer"})
    quiet = pytester.runpytest("--eval-tier=full")
    assert "helper_that_breaks" not in quiet.stdout.str()  # the default stays one line
    verbose = pytester.runpytest("--eval-tier=full", "--tb=long", "--junitxml=j.xml")
    verbose.stdout.fnmatch_lines(["*Traceback (most recent call last):*", "*in helper_that_breaks*", "*KeyError: 'q0'*"])
    frames = verbose.stdout.str().split("Traceback (most recent call last):")[1].split("evalgate cache:")[0]
    assert "helper_that_breaks" in frames and "evalgate/" not in frames  # the user's frames only
    assert "helper_that_breaks" in (pytester.path / "j.xml").read_text()


# --- 18, 19. one set of numbers, wall time ----------------------------------------------------------


def test_the_table_counts_what_the_verdict_read_and_shows_wall_time(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=60, correct=60, early_stop=True, min_pass_rate=0.5, gate={"max_errors": 30})
    result = pytester.runpytest_subprocess("--eval-tier=full", "-n", "2", "--eval-report=out")
    suite = json.loads((pytester.path / "out" / "results.json").read_text())["suites"][0]
    counted, population = suite["counted"], suite["population"]
    if suite["exact"]:  # a loaded machine: both workers finished every case before the stop landed
        assert f"all {population} cases" in suite["reason"] and counted == population
    else:
        assert f"settled after {counted} of {population} cases" in suite["reason"]
        assert f"({suite['pass_rate']:.1%} so far)" in suite["reason"]
    result.stdout.fnmatch_lines([f"qa*PASS*{suite['pass_rate']:.1%}*{counted}/{population}*"])
    assert suite["wall_seconds"] is not None and suite["wall_seconds"] >= 0


# --- 20. concurrency stays full while calls back off ---------------------------------------------------


def test_backoff_does_not_empty_the_concurrency(pytester: pytest.Pytester) -> None:
    with FakeOpenAI(latency=0.2) as server:
        rows = [{"id": f"case-{i:02d}", "input": f"q{i} 500-twice" if i % 3 == 0 else f"q{i}", "expected": f"a{i}"} for i in range(36)]
        write_project(pytester.path, rows=rows, max_errors=36,
                      model=openai_model(server.url, api_key_env="", concurrency=6, backoff=0.6, max_backoff=0.6, max_retries=3))
        pytester.runpytest("--eval-tier=full", "--eval-no-cache", "-p", "no:xdist")
        peak = server.max_in_flight
    assert peak == 6  # never more than the concurrency, and all of it in use while others wait


# --- 21. a path option with a space does not lose the project -----------------------------------------


def test_report_and_baseline_paths_outside_the_project(pytester: pytest.Pytester, tmp_path: Path) -> None:
    write_project(pytester.path, cases=3)
    outside = tmp_path / "elsewhere" / "reports"
    result = pytester.runpytest("--eval-tier=full", "--eval-report", str(outside))
    assert result.ret == 0 and (outside / "results.json").exists()
    again = pytester.runpytest("--eval-tier=full", "--eval-baseline", str(outside / "results.json"))
    assert again.ret == 0


# --- 22. a trailer cannot shrink a major change's gate -----------------------------------------------


def test_a_trailer_cannot_lower_the_tier_of_a_major_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("GITHUB_EVENT_PATH", "EVALGATE_TIER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CI", "true")
    root = write_project(tmp_path / "p", cases=40)
    repo = GitRepo(root)
    repo.write(".gitignore", ".pytest_cache/\n__pycache__/\n")
    repo.commit("initial")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("uv.lock", "a model swap\n")
    repo.commit("swap the model\n\nEval-Tier: smoke")
    assert main(["plan", str(root), "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["tier"] == "full" and plan["override"] is None
    assert plan["override_note"].startswith("override ignored: commit trailer 'Eval-Tier: smoke' would run less than the change needs")
    write_project(root, cases=40, project_options={"changes": {"allow_downgrade": True}})
    repo.commit("allow it\n\nEval-Tier: smoke")
    assert main(["plan", str(root), "--format", "json"]) == 0
    allowed = json.loads(capsys.readouterr().out)
    assert allowed["tier"] == "smoke" and allowed["override_note"].startswith("OVERRIDE LOWERS THE TIER")
