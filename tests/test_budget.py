"""Spend caps: a run (or a suite) stops calling at its budget, and what the budget left out is
never a PASS (evalgate.run.budget). A real HTTP server on loopback reports each call's tokens."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import write_project
from fake_openai import FakeOpenAI

PRICE = {"input": 1000.0, "output": 1000.0}
"""Per million tokens: each fake call (3 + 1 tokens) costs 0.004."""


def model(url: str, **options: Any) -> dict[str, Any]:
    return {"kind": "openai", "model": "m", "base_url": url, "api_key_env": "", "timeout": 2, "backoff": 0.01,
            "max_backoff": 0.05, "max_retries": 1, "concurrency": 2, "price": PRICE, **options}


def rows(count: int) -> list[dict[str, str]]:
    return [{"id": f"case-{i:03d}", "input": f"q{i}", "expected": f"a{i}"} for i in range(count)]


def report(root: Any) -> dict[str, Any]:
    return json.loads((root / "out" / "results.json").read_text())["suites"][0]  # type: ignore[no-any-return]


def test_a_run_stops_at_its_budget_and_never_passes_on_what_it_left_out(pytester: pytest.Pytester) -> None:
    with FakeOpenAI() as server:
        # τ = 0.99 on 100 cases: nothing settles before ~99 passes, so the budget (~10 calls) ends it.
        write_project(pytester.path, rows=rows(100), min_pass_rate=0.99, model=model(server.url),
                      project_options={"max_cost": 0.04})
        result = pytester.runpytest("--eval-tier=full", "--eval-no-cache", "--eval-report=out")
        calls = sum(server.requests.values())
    suite = report(pytester.path)
    assert result.ret == 1 and suite["verdict"] == "INCOMPLETE" and suite["blocks_merge"]
    assert "the run's budget is reached (spent 0.0" in suite["reason"] and "of max_cost 0.04)" in suite["reason"]
    assert "never a PASS" in suite["reason"]
    assert 10 <= calls <= 10 + 4 + 1, calls  # the cap, plus at most the engine's window in flight
    result.stdout.fnmatch_lines(["evalgate budget: * call(s) spent 0.0* (run caps: max_cost 0.04)",
                                 "evalgate budget: qa: the run's budget is reached*"])
    result.stdout.fnmatch_lines(["*passed*skipped*"])  # the cases past the budget are skipped, not failed


def test_worker_processes_share_the_run_budget(pytester: pytest.Pytester) -> None:
    """Under -n 2 each worker holds half of the cap: together they never spend past it (plus
    what each had in flight), and the merged verdict is INCOMPLETE, not PASS."""
    with FakeOpenAI() as server:
        write_project(pytester.path, rows=rows(100), min_pass_rate=0.99, model=model(server.url),
                      project_options={"max_cost": 0.04})
        result = pytester.runpytest_subprocess("--eval-tier=full", "--eval-no-cache", "--eval-report=out", "-n", "2")
        calls = sum(server.requests.values())
    suite = report(pytester.path)
    assert result.ret == 1 and suite["verdict"] == "INCOMPLETE", result.stdout.str()[-2000:]
    assert "budget is reached" in suite["reason"]
    assert 10 <= calls <= 10 + 2 * (4 + 1), calls  # the whole cap, plus each worker's window in flight


def test_a_suites_token_cap_and_the_command_line_cap(pytester: pytest.Pytester) -> None:
    with FakeOpenAI() as server:
        write_project(pytester.path, rows=rows(60), min_pass_rate=0.99, model=model(server.url),
                      suite_options={"max_tokens": 20})
        by_suite = pytester.runpytest("--eval-tier=full", "--eval-no-cache", "--eval-report=out")
        assert by_suite.ret == 1 and "the suite's budget is reached (used " in report(pytester.path)["reason"]
        assert "of max_tokens 20 tokens)" in report(pytester.path)["reason"]
        server.requests.clear()
        (pytester.path / "evals" / "qa.toml").write_text((pytester.path / "evals" / "qa.toml").read_text().replace("max_tokens = 20\n", ""))
        by_option = pytester.runpytest("--eval-tier=full", "--eval-no-cache", "--eval-report=out", "--eval-max-cost=0.02")
        assert by_option.ret == 1 and "of max_cost 0.02)" in report(pytester.path)["reason"]
        assert sum(server.requests.values()) <= 5 + 4 + 1


def test_a_verdict_settled_within_the_budget_stands(pytester: pytest.Pytester) -> None:
    with FakeOpenAI() as server:
        write_project(pytester.path, rows=rows(300), min_pass_rate=0.5, early_stop=True, model=model(server.url),
                      project_options={"max_cost": 1.0})
        result = pytester.runpytest("--eval-tier=full", "--eval-no-cache", "--eval-report=out")
    assert result.ret == 0 and report(pytester.path)["verdict"] == "PASS"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"price": None}, "max_cost needs a price for its model"),
        ({"kind": "python", "function": "toy_model:answer"}, "reports no token usage"),
    ],
)
def test_a_cap_that_cannot_be_counted_stops_the_run_before_any_call(pytester: pytest.Pytester, options: dict[str, Any],
                                                                     message: str) -> None:
    with FakeOpenAI() as server:
        table = {key: value for key, value in {**model(server.url), **options}.items() if value is not None}
        if table["kind"] == "python":
            table = {"kind": "python", "function": "toy_model:answer", "price": PRICE}
        write_project(pytester.path, rows=rows(5), model=table, project_options={"max_cost": 0.5})
        result = pytester.runpytest("--eval-tier=full", "--eval-no-cache")
        assert sum(server.requests.values()) == 0
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_the_plan_estimates_what_each_tier_will_cost_from_recorded_calls(pytester: pytest.Pytester,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from gitrepo import GitRepo

    from evalgate.cli import main

    with FakeOpenAI() as server:
        write_project(pytester.path, rows=rows(30), min_pass_rate=0.5, model=model(server.url))
        repo = GitRepo(pytester.path)
        repo.write(".gitignore", ".evalgate/\n")
        repo.commit("start")
        base = repo.git("rev-parse", "HEAD")
        assert main(["plan", str(pytester.path), "--base", base]) == 0
        assert "no recorded call" not in capsys.readouterr().out  # nothing planned: nothing estimated
        pytester.runpytest("--eval-tier=full")  # records 30 calls of 4 tokens each, priced
        repo.write("pyproject.toml", (pytester.path / "pyproject.toml").read_text() + "\n# touched\n")
        repo.commit("a major change")
        assert main(["plan", str(pytester.path), "--base", base]) == 0
        out = capsys.readouterr().out
        assert "cost (upper bounds: the cache and early stopping spend less):" in out
        assert "qa: full, up to 30 case run(s); ≈ 120 tokens, ≈ 0.12 USD at most (≈ 4 tokens per call, from 30 recorded call(s))" in out
        assert main(["plan", str(pytester.path), "--base", base, "--format", "json"]) == 0
        (estimate,) = json.loads(capsys.readouterr().out)["estimates"]
        assert estimate["case_runs"] == 30 and estimate["money"] == pytest.approx(0.12)
