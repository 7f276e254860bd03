"""Tokens and money in the reports: counted from the usage backends report, cached answers
at what they cost when produced, sampling and early stopping as a stated estimate."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, make_spec, write_project
from fake_openai import FakeOpenAI
from test_engine import openai_model

from evalgate.config import PriceConfig
from evalgate.report.cost import Prices, cost_line, suite_cost, tokens, total_line
from evalgate.results import CaseResult
from evalgate.verdict.gate import decide


def result(case: str, usage: dict[str, int] | None, cached: bool = False) -> CaseResult:
    return CaseResult(suite="s", case_id=case, output="a", score=1.0, passed=True, usage=usage, cached=cached)


def test_spent_saved_and_estimated_by_hand() -> None:
    results = [
        result("c0", {"prompt_tokens": 1000, "completion_tokens": 200}),
        result("c1", {"prompt_tokens": 3000, "completion_tokens": 600}),
        result("c2", {"prompt_tokens": 2000, "completion_tokens": 400}, cached=True),
    ]
    verdict = decide(make_spec(["c0", "c1", "c2"], population=10, min_pass_rate=0.2), results)  # a sample of 3
    price = PriceConfig(input=1.0, output=4.0)  # per million tokens
    cost = suite_cost(verdict, results, Prices(price))
    assert (cost.input_tokens, cost.output_tokens, cost.calls, cost.calls_with_usage) == (4000, 800, 2, 2)
    assert (cost.cached_input_tokens, cost.cached_output_tokens) == (2000, 400)
    # spent: 4000 × 1 + 800 × 4 = 7200 per million; the cached one cost 2000 + 1600 = 3600.
    assert cost.spent == pytest.approx(0.0072) and cost.saved_by_cache == pytest.approx(0.0036)
    # mean per call (0.0018 + 0.0054 + 0.0036) / 3 = 0.0036, times the 7 cases the cap left out.
    assert verdict.saved_by_sampling + verdict.saved_by_early_stop == 7
    assert cost.saved_estimate == pytest.approx(0.0036 * 7)
    line = cost_line(cost)
    assert "4,000 in / 800 out tokens in 2 call(s)" in line and "0.0072 USD spent" in line and "(estimate)" in line
    assert total_line({"s": cost}) == "Cost: 0.0072 USD spent, ≈ 0.0288 USD saved (cache, sampling, early stopping)"


def test_the_judge_is_priced_apart_and_counted_in_the_total() -> None:
    judged = [
        CaseResult(suite="s", case_id="c0", output="a", score=1.0, passed=True, usage={"prompt_tokens": 1000, "completion_tokens": 0},
                   judge_usage={"prompt_tokens": 2000, "completion_tokens": 100}),
        CaseResult(suite="s", case_id="c1", output="a", score=1.0, passed=True, usage={"prompt_tokens": 1000, "completion_tokens": 0},
                   judge_usage=None, cached=True),  # a cached case's judge was not asked again
    ]
    verdict = decide(make_spec(["c0", "c1"], min_pass_rate=0.5), judged)
    cost = suite_cost(verdict, judged, Prices(PriceConfig(input=1.0, output=1.0), PriceConfig(input=10.0, output=20.0)))
    # the judge: 2000 × 10 + 100 × 20 = 22,000 per million tokens
    assert cost.judge_spent == pytest.approx(0.022) and cost.spent == pytest.approx(0.001)
    assert "judge: 2,000 in / 100 out tokens, 0.0220 USD spent" in cost_line(cost)
    assert total_line({"s": cost}) == "Cost: 0.0230 USD spent, ≈ 0.0010 USD saved (cache, sampling, early stopping)"
    unpriced = suite_cost(verdict, judged, Prices(PriceConfig(input=1.0, output=1.0)))
    assert unpriced.judge_spent is None and cost_line(unpriced).endswith("judge: 2,000 in / 100 out tokens")


def test_no_usage_is_not_reported_never_zero() -> None:
    results = [result("c0", None), result("c1", {"total_tokens": 9})]
    verdict = decide(make_spec(["c0", "c1"], min_pass_rate=0.5), results)
    cost = suite_cost(verdict, results, Prices(PriceConfig(input=1.0, output=1.0)))
    assert cost.input_tokens is None and cost.spent is None and tokens({"total_tokens": 9}) is None
    assert cost_line(cost) == "tokens not reported by the backend"


def test_a_run_reports_tokens_and_a_rerun_counts_what_the_cache_saved(pytester: pytest.Pytester) -> None:
    with FakeOpenAI() as server:  # answers every call with 3 input and 1 output tokens
        write_project(pytester.path, cases=10, model=openai_model(server.url, price={"input": 100.0, "output": 400.0, "currency": "EUR"}))
        for _ in range(2):
            assert pytester.runpytest("--eval-tier=full", "--eval-report=out").ret == 0
            suite = json.loads((pytester.path / "out" / "results.json").read_text())["suites"][0]
            if _ == 0:
                assert (suite["cost"]["input_tokens"], suite["cost"]["output_tokens"]) == (30, 10)
                assert suite["cost"]["spent"] == pytest.approx((30 * 100 + 10 * 400) / 1e6)
    cost = suite["cost"]  # the rerun: every answer from the cache, nothing spent
    assert cost["input_tokens"] is None and cost["cached_input_tokens"] == 30 and cost["spent"] == 0
    assert cost["saved_by_cache"] == pytest.approx(0.007) and cost["price"]["currency"] == "EUR"
    summary = (pytester.path / "out" / "summary.md").read_text()
    assert "Cost: 0.0000 EUR spent, ≈ 0.0070 EUR saved" in summary and "0.0070 EUR by the cache" in summary


def test_the_gsm8k_example_says_its_recorded_outputs_report_no_tokens(tmp_path: pytest.TempPathFactory) -> None:
    env = {**os.environ, "EVALGATE_CACHE": str(tmp_path / "cache.sqlite")}  # type: ignore[operator]
    out = tmp_path / "reports"  # type: ignore[operator]
    subprocess.run([sys.executable, "-m", "pytest", "-q", "--eval-tier=smoke", f"--eval-report={out}"],
                   cwd=REPO / "examples" / "gsm8k", env=env, capture_output=True, text=True, timeout=300)
    document = json.loads((out / "results.json").read_text())
    priced = [s for s in document["suites"] if s["cost"]["price"] is not None]
    assert priced and all(s["cost"]["input_tokens"] is None and s["cost"]["spent"] is None for s in priced)
    assert "tokens not reported by the backend" in (out / "summary.md").read_text()
