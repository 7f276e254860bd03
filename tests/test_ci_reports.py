"""What CI tools read: JUnit that validates against the Jenkins xunit schema, shards that
are partial (never a failing gate), and counts that junitparser — the parser
EnricoMi/publish-unit-test-result-action uses — reads as evalgate reports them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import junitparser
import pytest
import xmlschema
from conftest import add_suite, write_project

from evalgate.cli import main

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).parent / "data" / "junit-10.xsd"))
"""Jenkins xunit's junit-10.xsd (MIT, Gregory Boissinot), the strictest JUnit reader."""


def problems(path: Path) -> list[str]:
    return [f"{error.path}: {error.reason}" for error in SCHEMA.iter_errors(str(path))]


def counts(path: Path) -> tuple[int, int, int, int]:
    """(tests, failures, errors, skipped) as junitparser reads them."""
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = [xml] if isinstance(xml, junitparser.TestSuite) else list(xml)
    cases = [case for suite in suites for case in suite]
    kinds = [type(result).__name__ for case in cases for result in case.result]
    return len(cases), kinds.count("Failure"), kinds.count("Error"), kinds.count("Skipped")


def test_gate_and_pytest_junit_validate_against_the_jenkins_schema(pytester: pytest.Pytester) -> None:
    write_project(pytester.path, cases=10, correct=6, errors=(7,), max_errors=1, min_pass_rate=0.8)
    add_suite(pytester.path, "easy", cases=5, min_pass_rate=0.5)
    result = pytester.runpytest("--eval-tier=full", "--eval-no-cache", "--eval-report=reports", "--junitxml=pytest.xml")
    assert result.ret == 1
    gates, own = pytester.path / "reports" / "junit.xml", pytester.path / "pytest.xml"
    assert problems(gates) == [] and problems(own) == []
    text = gates.read_text()
    assert re.search(r'<testsuite [^>]*file="evals/qa.toml"', text) and 'disabled="' not in text
    assert all(re.fullmatch(r"\d+\.\d{3}", time) for time in re.findall(r'time="([^"]*)"', text))
    assert counts(gates) == (2, 1, 0, 0)  # qa fails its gate, easy passes
    document = json.loads((pytester.path / "reports" / "results.json").read_text())
    assert sum(suite["blocks_merge"] for suite in document["suites"]) == 1
    assert {suite["suite"]: suite["file"] for suite in document["suites"]} == {"qa": "evals/qa.toml", "easy": "evals/easy.toml"}


def test_case_properties_need_a_junit_family_that_has_a_place_for_them(pytester: pytest.Pytester) -> None:
    """xunit2 (pytest's default, the schema above) has no <properties> in a test case; with
    junit_family = xunit1 each case carries its score, as pytest's record_property does."""
    write_project(pytester.path, cases=4, correct=3, min_pass_rate=0.5, ini={"junit_family": "xunit1"})
    pytester.runpytest("--eval-tier=full", "--eval-no-cache", "--junitxml=pytest.xml")
    text = (pytester.path / "pytest.xml").read_text()
    assert '<property name="case_passed" value="False"' in text and 'file="evals/qa.toml"' in text


def test_shards_are_partial_and_the_merge_gates(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(pytester.path, cases=20, correct=8, min_pass_rate=0.8)
    for shard in (1, 2):
        part = pytester.runpytest("--eval-tier=full", "--eval-no-cache", f"--eval-shard={shard}/2", f"--eval-report=s{shard}")
        assert part.ret == 0
        junit = pytester.path / f"s{shard}" / "junit.xml"
        assert problems(junit) == [] and counts(junit)[1:3] == (0, 0)  # no failing gate from a partial verdict
        assert "partial — decided by the merge" in junit.read_text() and counts(junit)[3] == 1  # skipped, not "passed"
    assert main(["report", "merge", str(pytester.path / "s1"), str(pytester.path / "s2"), "--out", str(pytester.path / "merged")]) == 1
    merged = pytester.path / "merged"
    assert problems(merged / "junit.xml") == [] and counts(merged / "junit.xml") == (1, 1, 0, 0)
    capsys.readouterr()
    for name, expected in (("s2", "partial"), ("merged", "fail")):
        outputs = pytester.path / f"{name}.outputs"
        monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.path / f"{name}.summary"))
        assert main(["report", "github", str(pytester.path / name)]) == 0
        printed = capsys.readouterr().out
        assert f"verdict={expected}\n" in outputs.read_text()
        if name == "s2":
            assert "::error" not in printed and "artifact-suffix=-shard-2-of-2\n" in outputs.read_text()
        else:  # placed on the suite's file, at its gate, so the pull request's diff shows it
            assert re.search(r"^::error file=evals/qa.toml,line=\d+,title=evalgate gate qa::FAIL", printed, re.M), printed
