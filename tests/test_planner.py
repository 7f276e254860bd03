"""Planning: rules, classes, tiers per suite, overrides — and `auto` end to end in pytest and the CLI."""

from __future__ import annotations

import json

import pytest
from conftest import add_suite, write_project
from gitrepo import GitRepo

from evalgate.changes.bases import EventInfo
from evalgate.changes.git import ChangeSet, FileChange
from evalgate.changes.plan import Override, SuiteInfo, UsageMaps, find_override, plan_change
from evalgate.changes.rules import DEFAULT_ORIGIN, build_rules, classify
from evalgate.cli import main
from evalgate.config import ChangesConfig, RuleConfig

SUITES = [SuiteInfo("safety", ("safety",)), SuiteInfo("qa", ())]
RULES = build_rules(
    [RuleConfig(paths=["prompts/safety/**"], change="targeted", concern="safety")],
    ["evalgate.toml", "evals/*.toml"],
    use_defaults=True,
)


def changed(*paths: str, lines: int = 1) -> ChangeSet:
    return ChangeSet("b" * 40, "h" * 40, tuple(FileChange(path=p, status="M", added=lines) for p in paths))


def plan(*paths: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return plan_change(changed(*paths, **kwargs), RULES, SUITES, ChangesConfig(max_lines=100, max_files=5))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "klass"),
    [
        ("README.md", "ignore"),
        ("docs/guide/index.html", "ignore"),
        ("sub/dir/notes.rst", "ignore"),
        ("poetry.lock", "major"),
        ("services/api/requirements-dev.txt", "major"),
        ("pyproject.toml", "major"),
        ("evals/qa.toml", "major"),
        ("evals/nested/qa.toml", "minor"),
        ("prompts/safety/system.md", "targeted"),
        ("src/app.py", "minor"),
        ("app/__pycache__/retrieval.cpython-311.pyc", "ignore"),  # a cache of its source
        ("__pycache__/conftest.cpython-312-pytest-9.0.pyc", "ignore"),
        (".pytest_cache/v/cache/lastfailed", "ignore"),
        ("app/legacy.pyc", "minor"),  # sourceless byte-code can be the code itself
    ],
)
def test_classify_first_matching_rule(path: str, klass: str) -> None:
    assert classify(path, RULES)[0] == klass


@pytest.mark.parametrize(
    ("patterns", "path", "matched"),
    [
        (["prompts/[ab]*.txt"], "prompts/a1.txt", "prompts/[ab]*.txt"),
        (["prompts/[ab]*.txt"], "prompts/c1.txt", None),
        (["prompts/**", "!prompts/drafts/**"], "prompts/safety/system.md", "prompts/**"),
        (["prompts/**", "!prompts/drafts/**"], "prompts/drafts/new.md", None),
        (["/top.txt"], "top.txt", "/top.txt"),
        (["/top.txt"], "sub/top.txt", None),
        (["safety/"], "safety/deep/x.py", "safety/"),
        (["prompts/**"], "prompts/a\nb/system.md", "prompts/**"),  # a line break in a name is still a name
    ],
)
def test_rule_patterns_have_gitignore_semantics(patterns: list[str], path: str, matched: str | None) -> None:
    rules = build_rules([RuleConfig(paths=patterns, change="major")], [], use_defaults=False)
    assert rules[0].matches(path) == matched


def test_the_quick_screen_never_changes_a_class() -> None:
    """``classify`` screens paths with one expression before pathspec's exact check: over a
    grid of gitignore patterns (negations, anchors, ``**``, classes, directories, control
    characters) and paths, it answers exactly as the rules checked one by one do."""
    patterns = [["prompts/**", "!prompts/drafts/**"], ["/top.txt"], ["safety/"], ["src/[ab]*.py"], ["**/fixtures/*.json"],
                ["a/**/b"], ["*.lock"], ["evals/?.toml"], ["x\\*y"]]
    rules = build_rules(
        [RuleConfig(paths=globs, change="targeted" if i % 2 else "major", concern=f"c{i}") for i, globs in enumerate(patterns)],
        ["evalgate.toml", "evals/*.toml"], use_defaults=True,
    )
    names = ["prompts/a.txt", "prompts/drafts/b.md", "top.txt", "sub/top.txt", "safety/deep/x.py", "safety", "src/a1.py",
             "src/c1.py", "src/a/b.py", "t/fixtures/f.json", "fixtures/f.json", "a/b", "a/q/r/b", "a/bb", "uv.lock",
             "deep/poetry.lock", "evals/q.toml", "evals/qq.toml", "x*y", "xzy", "docs/guide/x.html", "README.md",
             "prompts/a\nb/system.md", "./prompts/a.txt", "app/web/ui.py", "LICENSE.txt", "reports/junit.xml"]
    for name in names:
        exact = next(((r.change, r.concern, r.origin) for r in rules if r.matches(name)), ("minor", None, DEFAULT_ORIGIN))
        assert classify(name, rules) == exact, name


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("prompts/{safety,qa}/**", "braces are not pattern syntax here"),
        ("!", "is not a gitignore pattern"),
    ],
)
def test_a_pattern_the_rules_cannot_match_is_a_config_error_naming_file_field_and_fix(
    tmp_path: pytest.TempPathFactory, pattern: str, message: str
) -> None:
    from evalgate.config import load_project_config
    from evalgate.errors import ConfigError

    root = write_project(tmp_path / "p")  # type: ignore[operator]
    config = root / "pyproject.toml"
    config.write_text(config.read_text() + f'\n[[tool.evalgate.rules]]\npaths = ["{pattern}"]\nchange = "major"\n')
    with pytest.raises(ConfigError) as caught:
        load_project_config(config)
    text = str(caught.value)
    assert "pyproject.toml" in text and "rules" in text and message in text


def test_a_rule_of_negations_only_is_refused() -> None:
    with pytest.raises(ValueError, match="every pattern is a negation"):
        RuleConfig(paths=["!docs/**"], change="major")


def test_recorded_dependencies_narrow_which_suites_run_not_how_deep() -> None:
    """A file only qa was recorded using runs qa at ``full`` (what the rules alone would have
    run everywhere) and smoke elsewhere; a touched concern still brings its deep dive."""
    maps = UsageMaps({"qa": {"app/qa.py": None}, "safety": {"prompts/safety/system.txt": None}}, "recorded")
    limits = ChangesConfig(max_lines=100, max_files=5)
    narrowed = plan_change(changed("app/qa.py"), RULES, SUITES, limits, maps=maps)
    assert (narrowed.change, narrowed.tier, narrowed.suites) == ("targeted", "full", {"safety": "smoke", "qa": "full"})
    assert narrowed.reasons[-1] == (
        "change is targeted (files some suites use): full tier for qa "
        "(recorded dependencies choose which suites run, not how deep); smoke for the rest"
    )
    both = plan_change(changed("app/qa.py", "prompts/safety/system.txt"), RULES, SUITES, limits, maps=maps)
    assert (both.tier, both.suites) == ("deep-dive", {"safety": "deep-dive", "qa": "full"})
    assert both.reasons[-1].startswith("change is targeted (safety): deep-dive for safety; full tier for qa")


def test_every_file_line_names_the_rule_that_classed_it() -> None:
    lines = plan("README.md", "docs/guide.rst").files
    assert lines and all(line.rstrip().split(" by ", 1)[1].startswith("built-in rule") for line in lines), lines


def test_each_change_class_and_its_tiers() -> None:
    none = plan("README.md", "docs/a.md")
    assert (none.change, none.tier, none.suites) == ("none", None, {"safety": None, "qa": None})
    assert "no relevant change" in none.reasons[0]
    minor = plan("src/app.py", "README.md")
    assert (minor.change, minor.suites) == ("minor", {"safety": "smoke", "qa": "smoke"})
    assert minor.reasons[0] == "src/app.py (M) +1 -0: minor by no rule matched (default minor)"
    targeted = plan("prompts/safety/system.txt", "src/app.py")
    assert (targeted.change, targeted.tier, targeted.suites) == ("targeted", "deep-dive", {"safety": "deep-dive", "qa": "smoke"})
    assert "targeted (safety) by rule 'prompts/safety/**'" in targeted.reasons[0]
    major = plan("prompts/safety/system.txt", "uv.lock")
    assert (major.change, major.suites) == ("major", {"safety": "full", "qa": "full"})
    assert "built-in rule 'uv.lock'" in major.reasons[0]


def test_a_rename_counts_both_paths() -> None:
    moved = ChangeSet("b", "h", (FileChange(path="notes/x.md", old_path="prompts/safety/x.md", status="R"),))
    result = plan_change(moved, RULES, SUITES, ChangesConfig())
    assert result.change == "targeted"


def test_size_and_doubt_escalate_to_major() -> None:
    assert "more than max_files = 5" in plan(*(f"src/{i}.py" for i in range(6))).reasons[0]
    assert plan("src/a.py", lines=101).change == "major"
    unsure = plan_change(ChangeSet(None, "h", fallback_reasons=("no base",)), RULES, SUITES, ChangesConfig())
    assert (unsure.change, unsure.fallback, unsure.tier) == ("major", True, "full")
    assert unsure.reasons[0] == "unsure, so the full tier: no base"


def test_overrides_in_priority_order() -> None:
    event = EventInfo("pull_request", labels=("bug", "eval-tier:deep-dive"))
    trailer = "Fix prompt\n\nEval-Tier: full\n"
    assert find_override("smoke", {"EVALGATE_TIER": "full"}, event, trailer) == Override("smoke", "--eval-tier smoke", "cli")
    assert find_override("auto", {"EVALGATE_TIER": "full"}, event, trailer) == Override("full", "EVALGATE_TIER=full", "env")
    assert find_override("auto", {}, event, trailer) == Override("deep-dive", "pull request label 'eval-tier:deep-dive'", "label")
    assert find_override(None, {}, None, trailer) == Override("full", "commit trailer 'Eval-Tier: full'", "trailer")
    assert find_override("auto", {"EVALGATE_TIER": "auto"}, None, "no trailer") is None


# --- auto, end to end -------------------------------------------------------------------


@pytest.fixture
def gitproject(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """A project in a git repo: suites `qa` and `safety` (concern safety), a safety prompt rule.

    The environment is pinned: committed changes only (as on CI), and no event payload or
    tier override leaking in from the CI that runs these tests."""
    for name in ("GITHUB_EVENT_PATH", "GITHUB_EVENT_NAME", "EVALGATE_TIER", "GITHUB_OUTPUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CI", "true")
    write_project(
        pytester.path,
        cases=30,
        correct=30,
        project_options={"rules": [{"paths": ["prompts/safety/**"], "change": "targeted", "concern": "safety"}]},
    )
    add_suite(pytester.path, "safety", cases=30, concerns=("safety",))
    repo = GitRepo(pytester.path)
    repo.write("prompts/safety/system.txt", "Refuse harmful requests.\n")
    repo.write("src/app.py", "x = 1\n")
    repo.write(".gitignore", ".pytest_cache/\n__pycache__/\n")
    repo.commit("initial")
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def test_auto_targeted_runs_deep_dive_for_safety_and_smoke_elsewhere(pytester: pytest.Pytester, gitproject: GitRepo) -> None:
    gitproject.write("prompts/safety/system.txt", "Refuse harmful requests politely.\n")
    gitproject.commit()
    result = pytester.runpytest("--eval-tier=auto")
    result.stdout.fnmatch_lines(["evalgate plan: change=targeted tier=deep-dive*", "*targeted (safety) by rule 'prompts/safety/[*][*]'*"])
    result.assert_outcomes(passed=30 + 20)  # deep-dive: all 30 cases, once (a deterministic model); smoke samples 20
    assert result.ret == 0


def test_auto_with_no_relevant_change_skips_and_passes(pytester: pytest.Pytester, gitproject: GitRepo) -> None:
    gitproject.write("docs/guide.md", "# guide\n")
    gitproject.commit()
    result = pytester.runpytest("--eval-tier=auto")
    result.stdout.fnmatch_lines(["evalgate plan: change=none tier=none*", "qa: SKIPPED — skipped: no relevant change"])
    assert result.ret == 0


def test_auto_plan_is_computed_once_and_shipped_to_xdist_workers(pytester: pytest.Pytester, gitproject: GitRepo) -> None:
    gitproject.write("src/app.py", "x = 2\n")
    gitproject.commit()
    result = pytester.runpytest_subprocess("--eval-tier=auto", "-n", "2")
    result.stdout.fnmatch_lines(["evalgate plan: change=minor tier=smoke*"])
    result.assert_outcomes(passed=40)
    assert result.ret == 0


def test_cli_plan_json_matches_what_pytest_runs(pytester: pytest.Pytester, gitproject: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    gitproject.write("pyproject.toml", (pytester.path / "pyproject.toml").read_text() + "\n# touched\n")
    gitproject.commit()
    assert main(["plan", str(pytester.path), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["change"] == "major" and document["tier"] == "full" and document["fallback"] is False
    assert document["suites"] == {"qa": "full", "safety": "full"}
    assert document["base"] == gitproject.git("rev-parse", "main") and document["head"] == gitproject.git("rev-parse", "HEAD")
    result = pytester.runpytest("--eval-tier=auto")
    result.assert_outcomes(passed=60)


def test_cli_plan_github_output_and_overrides(pytester: pytest.Pytester, gitproject: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    gitproject.write("src/app.py", "x = 3\n")
    gitproject.commit("tweak\n\nEval-Tier: full")
    output = pytester.path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    assert main(["plan", str(pytester.path), "--format", "github"]) == 0
    assert output.read_text() == "tier=full\nchange=minor\n"
    monkeypatch.delenv("GITHUB_OUTPUT")
    assert main(["plan", str(pytester.path), "--format", "github"]) == 2


def test_plan_outside_a_repository_is_one_line(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(pytester.path)
    assert main(["plan", str(pytester.path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not inside a git repository" in err
