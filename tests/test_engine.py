"""The engine and the robust adapters against a real, misbehaving loopback server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import make_case, write_project
from fake_openai import FakeOpenAI, answer, send

from evalgate.cases import Case
from evalgate.config import CommandModelConfig, OpenAIModelConfig
from evalgate.errors import ModelError
from evalgate.models.registry import build_adapter
from evalgate.results import CaseResult
from evalgate.run.progress import Progress
from evalgate.run.sampling import sampling_order


def case(prompt: str, case_id: str = "c") -> Case:
    return make_case(case_id, prompt)


def adapter(server: FakeOpenAI, tmp_path: Path, **overrides: object):  # type: ignore[no-untyped-def]
    settings = {"kind": "openai", "model": "m", "base_url": server.url, "backoff": 0.01, "max_backoff": 0.2,
                "timeout": 0.5, "max_retries": 3, **overrides}
    model = build_adapter(OpenAIModelConfig.model_validate(settings), tmp_path)
    waits: list[float] = []
    model.sleep = waits.append  # type: ignore[attr-defined]
    return model, waits


def test_retries_honour_retry_after_and_recover(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        model, waits = adapter(server, tmp_path)
        assert model.generate(case("q1 429-once")).text == "a1"
        assert waits == [0.05] and server.requests["q1 429-once"] == 2
        assert model.generate(case("q2 500-twice")).text == "a2"
        assert server.requests["q2 500-twice"] == 3 and all(0 < wait <= 0.2 for wait in waits[1:])
        assert model.generate(case("q3 drop-once")).text == "a3"
        output = model.generate(case("q4"))
        assert output.usage == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}


def test_persistent_faults_end_as_errors_with_kind_status_and_attempts(tmp_path: Path) -> None:
    with FakeOpenAI(slow_seconds=2.0) as server:
        model, _ = adapter(server, tmp_path)
        with pytest.raises(ModelError) as failing:
            model.generate(case("q1 500-always"))
        assert (failing.value.kind, failing.value.status, failing.value.attempts) == ("http", 500, 4)
        with pytest.raises(ModelError) as slow:
            model.generate(case("q2 slow-always"))
        assert slow.value.kind == "timeout" and slow.value.attempts == 4
        with pytest.raises(ModelError) as garbage:
            model.generate(case("q3 garbage"))
        assert garbage.value.attempts == 1 and '"<html>Bad Gateway</html>"' in str(garbage.value)
        with pytest.raises(ModelError, match="response has no choices"):
            model.generate(case("q4 no-choices"))


def test_plain_completions_api(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        model, _ = adapter(server, tmp_path, api="completions")
        assert model.generate(case("q7")).text == "a7"
        assert server.log[-1][1]["prompt"] == "q7"
        server.respond = lambda handler, body: send(handler, 200, json.dumps(answer("/chat/completions", "a7")))
        with pytest.raises(ModelError, match=r"response has no choices\[0\]\.text"):
            model.generate(case("q7"))  # a chat-shaped answer to /completions: a clear error, not a pass


FAULT_ROWS = ["ok", "429-once", "500-twice", "500-always", "slow-always", "drop-once", "garbage", "no-choices", "ok", "ok"]


def openai_model(url: str, **options: object) -> dict[str, object]:
    """The toy model's table for an OpenAI-compatible server at ``url``, with quick retries."""
    return {"kind": "openai", "model": "m", "base_url": url, "timeout": 0.5, "backoff": 0.01, "max_backoff": 0.1,
            "max_retries": 2, **options}


def fault_project(root: Path, url: str, max_errors: int, concurrency: int = 4, **options: object) -> None:
    rows = [{"id": f"case-{i}", "input": f"q{i} {fault}", "expected": f"a{i}"} for i, fault in enumerate(FAULT_ROWS)]
    write_project(root, rows=rows, max_errors=max_errors, min_pass_rate=0.5,
                  model=openai_model(url, concurrency=concurrency, **options))


@pytest.mark.parametrize(("max_errors", "verdict", "status"), [(4, "PASS", 0), (3, "ERROR", 1)])
def test_a_faulty_endpoint_run_finishes_and_the_verdict_follows_the_error_budget(
    pytester: pytest.Pytester, max_errors: int, verdict: str, status: int
) -> None:
    with FakeOpenAI(slow_seconds=1.0) as server:
        fault_project(pytester.path, server.url, max_errors)
        result = pytester.runpytest("--eval-tier=full", "--eval-no-cache", "-v")
    result.assert_outcomes(passed=6)  # the 4 errored cases are skipped with their errors; the gate counts them
    result.stdout.fnmatch_lines(["*6 passed, 4 case error*"])
    for index in (3, 4, 6, 7):
        result.stdout.fnmatch_lines([f"*case-{index} CASE ERROR*"])
    result.stdout.fnmatch_lines(["*model (http, HTTP 500)*after 3 attempts*"])
    result.stdout.fnmatch_lines(["*model (timeout)*after 3 attempts*"])
    result.stdout.fnmatch_lines([f"qa*{verdict}*60.0%*10/10*4/{max_errors}*"])
    assert result.ret == status


def test_one_process_keeps_the_endpoint_busy(pytester: pytest.Pytester) -> None:
    with FakeOpenAI(latency=0.4) as server:
        write_project(pytester.path, cases=24, max_errors=10, model=openai_model(server.url, concurrency=8, timeout=5))
        result = pytester.runpytest("--eval-tier=full", "--eval-no-cache", "-p", "no:xdist")
        assert server.max_in_flight >= 6, server.max_in_flight
    result.assert_outcomes(passed=24)


def test_exitfirst_cancels_pending_calls(pytester: pytest.Pytester) -> None:
    with FakeOpenAI(latency=0.3) as server:
        cases = [make_case(f"case-{i:02d}", f"q{i}", f"a{i}") for i in range(40)]
        first = sampling_order(cases, seed=0)[0]  # the first item pytest runs fails
        rows = [{"id": c.id, "input": f"{c.prompt}{' 500-always' if c is first else ''}", "expected": c.expected} for c in cases]
        write_project(pytester.path, rows=rows, model=openai_model(server.url, concurrency=2, max_retries=0))
        result = pytester.runpytest("--eval-tier=full", "--eval-no-cache", "-x", "-p", "no:randomly")
        total = sum(server.requests.values())
    assert result.ret == 1
    assert total < 20, total  # the queued calls for the other cases were dropped


def test_progress_line_on_long_runs(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=3, correct=3, ini={"eval_progress_seconds": "0"})
    result = pytester.runpytest("--eval-tier=full")
    result.stdout.fnmatch_lines(["evalgate: 3/3 cases, 0 in flight, 0 cached, 0 errors, * cases/s"])


def test_progress_counts() -> None:
    progress = Progress(total=10, started=0.0, last_shown=0.0, interval=5.0)
    progress.update(CaseResult(suite="s", case_id="a", passed=True, score=1.0, cached=True))
    progress.update(CaseResult(suite="s", case_id="b", error={"kind": "timeout", "message": "slow"}))  # type: ignore[arg-type]
    assert not progress.due(now=4.0) and progress.due(now=5.0) and not progress.due(now=6.0)
    assert progress.line(in_flight=3, now=2.0) == "evalgate: 2/10 cases, 3 in flight, 1 cached, 1 errors, 1.0 cases/s"


COMMAND_MODEL = """
import json, sys
case = json.load(sys.stdin)
if case["input"] == "fail":
    print("something broke", file=sys.stderr)
    sys.exit(3)
if case["input"] == "hang":
    import time; time.sleep(5)
assert "expected" not in case
print("echo:" + case["input"] + ":" + case["id"])
"""


def test_command_adapter(tmp_path: Path) -> None:
    (tmp_path / "cmd_model.py").write_text(COMMAND_MODEL)
    model = build_adapter(CommandModelConfig(kind="command", command=[sys.executable, "cmd_model.py"], timeout=1), tmp_path)
    assert model.generate(case("hi", "c7")).text == "echo:hi:c7"
    with pytest.raises(ModelError, match=r'exited with 3: "something broke"') as failed:
        model.generate(case("fail"))
    assert failed.value.kind == "exit"
    with pytest.raises(ModelError, match="did not finish within 1 s") as hung:
        model.generate(case("hang"))
    assert hung.value.kind == "timeout"
    before = model.fingerprint()
    (tmp_path / "cmd_model.py").write_text(COMMAND_MODEL + "\n# edited\n")
    assert build_adapter(CommandModelConfig(kind="command", command=f"{sys.executable} cmd_model.py"), tmp_path).fingerprint() != before


def test_ctrl_c_cancels_pending_calls_and_ends(pytester: pytest.Pytester) -> None:
    import signal
    import subprocess
    import time

    with FakeOpenAI(latency=0.5) as server:
        write_project(pytester.path, cases=40, model=openai_model(server.url, concurrency=4))
        run = subprocess.Popen(
            [sys.executable, "-m", "pytest", "--eval-tier=full", "--eval-no-cache", "-p", "no:xdist"],
            cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            # A shell's background job inherits SIGINT ignored, and then Python never raises
            # KeyboardInterrupt: give the child the default disposition, as at a terminal.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.monotonic() + 60
        while sum(server.requests.values()) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        run.send_signal(signal.SIGINT)
        output, _ = run.communicate(timeout=60)
        total = sum(server.requests.values())
    assert run.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "KeyboardInterrupt" in output
    assert total < 20, total


def test_engine_runs_a_job_of_a_cancelled_suite_itself(tmp_path: Path) -> None:
    from evalgate.project import load_project
    from evalgate.run.engine import Engine, Job
    from evalgate.run.runner import CaseRunner
    from evalgate.run.session import EvalSession

    root = write_project(tmp_path / "p", cases=4, correct=4, model_options={"concurrency": 2})
    config = root / "pyproject.toml"
    session = EvalSession.for_tier(load_project(config), "full")
    planned = next(iter(session.planned.values()))
    jobs = [Job(f"n{index}", planned, case, 0) for index, case in enumerate(planned.cases)]
    engine = Engine(CaseRunner(session.project, None, "run"), window=4)
    assert engine.result(jobs[0], jobs[1:]).passed
    engine.cancel_suite(planned.suite.name)
    later = engine.result(jobs[3])  # nothing dispatched for it any more: it runs here
    assert later.passed and later.case_id == planned.cases[3].id
    engine.shutdown()


def test_look_ahead_keeps_calls_in_flight_under_xdist(pytester: pytest.Pytester) -> None:
    """Each xdist worker dispatches the items queued for it ahead of pytest's loop (read
    from xdist's worker queue): without that, two workers keep at most 2 calls in flight."""
    with FakeOpenAI(latency=0.2) as server:
        write_project(pytester.path, cases=40, max_errors=10, model=openai_model(server.url, concurrency=8))
        result = pytester.runpytest_subprocess("--eval-tier=full", "--eval-no-cache", "-n", "2")
        peak = server.max_in_flight
    result.assert_outcomes(passed=40)
    assert peak > 2, f"peak in flight {peak}: the look-ahead did not reach xdist's worker queue"


# --- concurrency is a total for the run ------------------------------------------------------


@pytest.mark.parametrize("concurrency", [4, 1])
def test_concurrency_is_a_total_across_xdist_workers(pytester: pytest.Pytester, concurrency: int) -> None:
    """Two workers, each with its own adapter: the endpoint never sees more than the
    configured concurrency at once (shares for 4; lock-file slots for 1 < 2 workers)."""
    with FakeOpenAI(latency=0.05) as server:
        write_project(pytester.path, cases=40, model=openai_model(server.url, concurrency=concurrency, timeout=10))
        result = pytester.runpytest_subprocess("--eval-tier=full", "--eval-no-cache", "-n", "2")
        result.stdout.fnmatch_lines(["qa*PASS*"])
        assert sum(server.requests.values()) == 40
        assert server.max_in_flight == concurrency, server.max_in_flight


def test_share_of_adds_up_to_the_total() -> None:
    from evalgate.models.sharing import current_worker, share_of

    for total in range(1, 70):
        for count in range(1, 9):
            shares = [share_of(total, index, count) for index in range(count)]
            assert max(shares) - min(shares) <= 1
            assert sum(shares) == total if total >= count else shares == [1] * count
    assert current_worker({"workerid": "gw3", "workercount": 4}) == (3, 4)
    assert current_worker({"workerid": "master"}) is None and current_worker(None) is None


def test_n_auto_runs_model_bound_suites_in_one_process(pytester: pytest.Pytester) -> None:
    with FakeOpenAI() as server:
        write_project(pytester.path, cases=10, model=openai_model(server.url, concurrency=8))
        result = pytester.runpytest_subprocess("--eval-tier=full", "--eval-no-cache", "-n", "auto")
        result.stdout.fnmatch_lines(["evalgate: -n auto → one process: every suite waits on its model (openai)*"])
        result.stdout.no_fnmatch_line("*bringing up nodes*")
        result.stdout.no_fnmatch_line("created: * workers")
        assert result.ret == 0
    write_project(pytester.path, cases=10)  # a python model: xdist counts the CPUs as usual
    result = pytester.runpytest_subprocess("--eval-tier=full", "--eval-no-cache", "-n", "auto")
    result.stdout.no_fnmatch_line("evalgate: -n auto*")
    result.stdout.fnmatch_lines(["created: * workers"])


def test_slots_go_to_waiters_in_arrival_order_and_nobody_barges() -> None:
    """A freed slot passes to the longest waiter, never to a thread that arrives later."""
    import threading
    import time

    from evalgate.models.slots import FairSlots

    slots = FairSlots(1)
    order: list[int] = []
    slots.__enter__()  # the one slot is held
    waiters = []
    for index in range(4):
        thread = threading.Thread(target=lambda i=index: (slots.__enter__(), order.append(i), slots.__exit__()))
        thread.start()
        waiters.append(thread)
        while slots.waiting < index + 1:  # queued in this order
            time.sleep(0.001)
    slots.__exit__()  # hand over: 0 runs, then 1, 2, 3
    late = threading.Thread(target=lambda: (slots.__enter__(), order.append(99), slots.__exit__()))
    late.start()
    for thread in [*waiters, late]:
        thread.join(5)
    assert order[:4] == [0, 1, 2, 3] and order[4] == 99
    with pytest.raises(ValueError, match="at least 1"):
        FairSlots(0)
