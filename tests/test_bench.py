"""The benchmarks still run (tiny sizes; the numbers themselves come from bench/)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO


def run_benchmark(script: str, tmp_path: Path, *args: str) -> Path:
    """Run bench/SCRIPT with ARGS (tiny sizes) and return the JSON file it wrote (its
    standard error beside it, ``.stderr``)."""
    out = tmp_path / script.replace(".py", ".json")
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), *args, "--out", str(out)], capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stdout + run.stderr
    out.with_suffix(".stderr").write_text(run.stderr)
    return out


def test_plan_benchmark_runs_and_writes_its_metrics(tmp_path: Path) -> None:
    out = run_benchmark("plan.py", tmp_path, "--files", "200", "--changed", "20", "--rounds", "1")
    metrics = json.loads(out.read_text())["metrics"]
    assert metrics["plan_seconds"] > 0 and metrics["ratio_to_git_numstat"] > 0


def test_cache_benchmark_runs_and_writes_its_metrics(tmp_path: Path) -> None:
    out = run_benchmark("cache.py", tmp_path, "--cases", "50", "--rounds", "1")
    metrics = json.loads(out.read_text())["metrics"]
    assert metrics["model_calls_on_rerun"] == 0 and metrics["cached_vs_plain_pytest_ratio"] > 0


def test_throughput_and_overhead_benchmarks_run(tmp_path: Path) -> None:
    for script, args in (("throughput.py", ["--cases", "40", "--concurrency", "1", "8"]), ("overhead.py", ["--cases", "50", "--rounds", "1"])):
        assert json.loads(run_benchmark(script, tmp_path, *args).read_text())["metrics"]


def test_verdicts_benchmark_runs_on_the_shipped_data(tmp_path: Path) -> None:
    out = run_benchmark("verdicts.py", tmp_path, "--orders", "1", "--pair-orders", "1", "--models", "2")
    document = json.loads(out.read_text())
    assert document["metrics"]["max_wrong_verdict_rate_by_distance"] <= 0.05
    assert set(document["by_method"]) >= {"evalgate", "first-n", "random-n-wilson-once", "wilson-every-case"}


def test_startup_benchmark_runs_and_writes_its_metrics(tmp_path: Path) -> None:
    out = run_benchmark("startup.py", tmp_path, "--rounds", "1")
    metrics = json.loads(out.read_text())["metrics"]
    assert metrics["plugin_import_ms"] > 0 and metrics["collect_ratio"] > 0


def test_wire_benchmark_runs_and_keeps_concurrency_a_total(tmp_path: Path) -> None:
    """A tiny run: every variant serves every case, and two workers never exceed C in flight."""
    out = run_benchmark("wire.py", tmp_path, "--cases", "60", "--concurrency", "8", "--rounds", "1", "--python", "current")
    row = json.loads(out.read_text())["by_concurrency"]["8"]
    assert set(row["seconds"]) == {"bare", "evalgate", "evalgate_xdist", "evalgate_n2", "evalgate_no_cache", "evalgate_this_env"}
    assert row["cache_on_vs_off"] > 0
    assert 0 < row["peak_in_flight"]["evalgate_n2"] <= 8 and row["ratio_to_bare"] > 0


def test_conformance_benchmark_runs_and_checks_itself(tmp_path: Path) -> None:
    """A tiny run: every family of cells, the replayed verdicts cross-checked against decide()."""
    out = run_benchmark("conformance.py", tmp_path, "--orders", "2", "--models", "2", "--workers", "1")
    document = json.loads(out.read_text())
    assert {"full", "capped", "stratified", "selected", "paired", "paired_capped", "paired_incomplete", "errors"} <= set(document["families"])
    assert set(document["metrics"]) >= {"worst_wrong_rate", "worst_cell", "wrong_block_rate_capped", "paired_false_alarm_capped"}
    progress = out.with_suffix(".stderr").read_text().splitlines()
    cells = len(document["cells"])
    assert f"screening: {cells:,}/{cells:,} cells, worst wrong rate so far {document['metrics']['screening_max_wrong_rate']:.4f}" in "\n".join(progress)
    assert any("(family full done)" in line for line in progress)


def test_control_benchmark_runs_both_tests_on_the_shipped_data(tmp_path: Path) -> None:
    out = run_benchmark("control.py", tmp_path, "--orders", "2", "--workers", "1")
    document = json.loads(out.read_text())
    assert len(document["cells"]) == 60 and {"control_mean", "direct_mean", "control_wrong"} <= set(document["cells"][0])
    assert set(document["summary"]["targets"]) == {"r=0.02 d=+0.05", "r=0.02 d=+0.1", "r=0.05 d=+0.05", "r=0.05 d=+0.1"}


def test_store_benchmark_runs_on_a_throwaway_server(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    if not (shutil.which("pg_ctl") or any(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))):
        if os.environ.get("EVALGATE_REQUIRE_POSTGRES"):
            pytest.fail("no PostgreSQL server binaries; PostgreSQL 15 is on the CI image")
        pytest.skip("no PostgreSQL server binaries")
    out = run_benchmark("store.py", tmp_path, "--rounds", "1", "--results", "30", "--latency", "0.001")
    document = json.loads(out.read_text())
    assert document["writers"]["postgresql"]["lost"] == 0 and document["writers"]["sqlite"]["lost"] == 0
    assert document["shards"]["median_calls"]["shards_alone"] == 1319  # alone, a shard never stops early
    assert document["pull_request"]["pr_calls_with_main_as_baseline"] < document["pull_request"]["pr_calls_direct"]


def test_slices_benchmark_runs_every_family(tmp_path: Path) -> None:
    out = run_benchmark("slices.py", tmp_path, "--orders", "1", "--confirm-orders", "1", "--workers", "1")
    document = json.loads(out.read_text())
    assert set(document["families"]) == {"slices", "gap"} and document["families"]["gap"]["cells"] > 0
    assert {"worst_wrong_rate", "worst_cell", "within_alpha"} <= set(document["metrics"])


def test_impact_benchmark_runs_and_finds_no_stale_hit(tmp_path: Path) -> None:
    """A tiny history: the exactness check must hold at any size; the ratios come from bench/."""
    out = run_benchmark(
        "impact.py", tmp_path, "--commits", "3", "--cases", "12", "--rounds", "1",
        "--files", "100", "--overhead-cases", "40", "--stale-files", "4",
    )
    document = json.loads(out.read_text())
    assert document["metrics"]["stale_hits"] == 0 and document["stale"]["ineffective_mutations"] == 0
    assert document["stale"]["dependencies_changed"] == 4 and document["stale"]["dependent_suite_checks"] >= 4
    assert document["metrics"]["calls_recorded"] <= document["metrics"]["calls_always_full"]
    assert document["plan"]["plan_time_ratio"] > 0 and document["recording"]["run_seconds_recording"] > 0


def test_judge_benchmark_runs_and_reports_its_worst_cells(tmp_path: Path) -> None:
    out = run_benchmark("judge.py", tmp_path, "--orders", "2", "--models", "1", "--workers", "1")
    document = json.loads(out.read_text())
    assert {"worst_coverage", "worst_wrong_rate", "raw_worst_wrong_rate"} <= set(document["metrics"])
    assert len(document["cells"]) == 4 * 4 * 6
