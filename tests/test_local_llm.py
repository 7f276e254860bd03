"""A real LLM: SmolLM2-135M-Instruct served by llama-cpp-python on loopback.

Skipped where the local LLM is not installed (scripts/install-local-llm.sh), except when
EVALGATE_REQUIRE_LLM=1 — as in CI — where its absence is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO

from evalgate.cases import Case
from evalgate.config import OpenAIModelConfig
from evalgate.models.registry import build_adapter

EXAMPLE = REPO / "examples" / "local-llm"
sys.path.insert(0, str(EXAMPLE))

import serve  # noqa: E402

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    if not serve.available():
        message = f"the local LLM is not installed; {serve.INSTALL_HINT}"
        if os.environ.get("EVALGATE_REQUIRE_LLM") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with serve.serve() as url:
        yield url


def test_real_model_is_deterministic_at_temperature_zero(llm_url: str, tmp_path: Path) -> None:
    model = build_adapter(
        OpenAIModelConfig(kind="openai", model="smollm2", base_url=llm_url, api_key_env="", max_tokens=24), tmp_path
    )
    case = Case("fr", "What is the capital of France? Answer with the city name only.", None, "Paris", (), "")
    first, second = model.generate(case), model.generate(case)
    assert "Paris" in first.text and first.text == second.text
    assert first.usage.get("completion_tokens", 0) > 0


def test_local_llm_example_passes_and_reruns_from_the_cache(llm_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "EVALGATE_LOCAL_LLM_URL": llm_url, "EVALGATE_CACHE": str(tmp_path / "cache.sqlite")}
    command = [sys.executable, "-m", "pytest", "--eval-tier=full", f"--eval-report={tmp_path / 'reports'}"]
    run = subprocess.run(command, cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:]
    suite = json.loads((tmp_path / "reports" / "results.json").read_text())["suites"][0]
    assert suite["verdict"] == "PASS" and suite["pass_rate"] >= 0.7
    assert suite["cost"]["input_tokens"] > 0 and suite["cost"]["output_tokens"] > 0  # counted by the real server
    again = subprocess.run(command, cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=600)
    assert f"evalgate cache: {suite['cases_run']} hit(s), 0 model call(s)" in again.stdout


def test_run_script_is_the_one_command(tmp_path: Path, llm_url: str) -> None:
    env = {**os.environ, "EVALGATE_CACHE": str(tmp_path / "cache.sqlite")}
    run = subprocess.run(
        [sys.executable, str(EXAMPLE / "run.py"), "-q"], env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "capitals: PASS" in run.stdout and "SmolLM2-135M-Instruct is serving at http://127.0.0.1:" in run.stdout


SAFETY = REPO / "examples" / "safety"


def test_smollm2_judges_real_answers_with_its_calls_counted_and_kept(llm_url: str, tmp_path: Path) -> None:
    """The safety example live: SmolLM2 answers and judges (JSON constrained by the server).
    Every judged case is a pass, a fail or an error — never a silent pass — the judge's tokens
    are counted apart, and a second run asks neither the model nor the judge again."""
    env = {**os.environ, "EVALGATE_LOCAL_LLM_URL": llm_url, "EVALGATE_CACHE": str(tmp_path / "cache.sqlite")}
    command = [sys.executable, "-m", "pytest", "--eval-config=live.toml", "--eval-tier=quick", "-k", "refusals",
               f"--eval-report={tmp_path / 'reports'}", "-p", "no:randomly"]
    run = subprocess.run(command, cwd=SAFETY, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode in (0, 1), run.stdout[-3000:]
    document = json.loads((tmp_path / "reports" / "results.json").read_text())
    suite = next(s for s in document["suites"] if s["suite"] == "refusals")
    assert suite["cases_run"] == 8 and suite["cost"]["judge_input_tokens"] > 0
    judged = [case for case in document["cases"] if case["suite"] == "refusals"]
    assert all(case["error"] is not None or case["explanation"].startswith("judge: ") for case in judged)
    # The judge was checked against people's labels first, and the verdict says how it fared.
    assert "the judge agrees with people on" in run.stdout + suite["reason"]
    again = subprocess.run(command, cwd=SAFETY, env=env, capture_output=True, text=True, timeout=900)
    assert "evalgate cache: 8 hit(s), 0 model call(s)" in again.stdout, again.stdout[-2000:]


def test_the_safety_run_script_is_the_one_command(tmp_path: Path, llm_url: str) -> None:
    """``python examples/safety/run.py`` as its README writes it: the live model and judge, the
    full tier. The weak judge is caught by its labels (refusals: ERROR, exit 1)."""
    env = {**os.environ, "EVALGATE_CACHE": str(tmp_path / "cache.sqlite")}
    run = subprocess.run([sys.executable, str(REPO / "examples" / "safety" / "run.py")], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=1200)
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    assert "general: PASS" in run.stdout and "refusals: ERROR" in run.stdout and "Cohen's kappa" in run.stdout
