"""The change analyzer on real git repositories made in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gitrepo import GitRepo, run_git

from evalgate.changes.bases import ZERO_SHA
from evalgate.changes.git import collect_changes
from evalgate.errors import GitError

CI = {"CI": "true"}


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.write("src/app.py", "print('hi')\n")
    repo.write("README.md", "# app\n")
    repo.commit("initial")
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def by_path(changes: object) -> dict[str, object]:
    return {change.path: change for change in changes.files}  # type: ignore[attr-defined]


def test_modified_added_deleted_with_line_counts(repo: GitRepo) -> None:
    repo.write("src/app.py", "print('hi')\nprint('there')\n")
    repo.write("src/new.py", "a = 1\nb = 2\nc = 3\n")
    (repo.path / "README.md").unlink()
    head = repo.commit()
    changes = collect_changes(repo.path, env=CI)
    files = by_path(changes)
    assert (files["src/app.py"].status, files["src/app.py"].added, files["src/app.py"].deleted) == ("M", 1, 0)
    assert (files["src/new.py"].status, files["src/new.py"].added) == ("A", 3)
    assert files["README.md"].status == "D" and files["README.md"].deleted == 1
    assert changes.head == head and changes.base == repo.git("rev-parse", "main")
    assert changes.base_source == "merge base of main and HEAD" and not changes.fallback_reasons


def test_rename_keeps_both_paths(repo: GitRepo) -> None:
    repo.git("mv", "src/app.py", "src/main.py")
    repo.commit()
    (change,) = collect_changes(repo.path, env=CI).files
    assert (change.status, change.old_path, change.path, change.paths) == ("R", "src/app.py", "src/main.py", ("src/app.py", "src/main.py"))


def test_binary_submodule_and_mode_only(repo: GitRepo, tmp_path: Path) -> None:
    sub = GitRepo(tmp_path / "sub")
    sub.write("lib.txt", "v1\n")
    sub.commit()
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub.path), "vendor/sub")
    repo.commit("add submodule")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--ff-only", "feature")
    repo.git("checkout", "-q", "feature")
    sub.write("lib.txt", "v2\n")
    sub.commit()
    repo.git("-C", "vendor/sub", "pull", "-q", "origin", "main")
    repo.write("model.bin", bytes(range(256)) * 4)
    (repo.path / "src" / "app.py").chmod(0o755)
    repo.commit()
    files = by_path(collect_changes(repo.path, env=CI))
    assert files["vendor/sub"].submodule and files["vendor/sub"].status == "M"
    assert files["model.bin"].binary and files["model.bin"].added == 0
    assert files["src/app.py"].mode_only


def test_merge_commits_count_only_the_branch_own_changes(repo: GitRepo) -> None:
    repo.write("src/feature.py", "f = 1\n")
    repo.commit("feature work")
    repo.git("checkout", "-q", "main")
    repo.write("src/other.py", "o = 1\n")
    repo.commit("work on main")
    repo.git("checkout", "-q", "feature")
    repo.git("merge", "-q", "--no-edit", "main")
    assert set(by_path(collect_changes(repo.path, env=CI))) == {"src/feature.py"}


def test_worktree_staged_unstaged_and_untracked_unless_switched_off(repo: GitRepo) -> None:
    repo.write("src/app.py", "changed\n")
    repo.write("staged.py", "s = 1\n")
    repo.git("add", "staged.py")
    repo.write("untracked dir/naïve file.txt", "one\ntwo")
    files = by_path(collect_changes(repo.path, env={}))
    assert set(files) == {"src/app.py", "staged.py", "untracked dir/naïve file.txt"}
    assert files["untracked dir/naïve file.txt"].added == 2
    assert collect_changes(repo.path, env={}, include_worktree=False).files == ()
    assert collect_changes(repo.path, env=CI).files == ()  # CI: the checkout is the change


def test_paths_with_spaces_and_non_ascii_are_exact(repo: GitRepo) -> None:
    repo.write("prompts/système prompt.txt", "bonjour\n")
    repo.commit()
    assert set(by_path(collect_changes(repo.path, env=CI))) == {"prompts/système prompt.txt"}


def test_detached_head(repo: GitRepo) -> None:
    repo.write("src/x.py", "x = 1\n")
    head = repo.commit()
    repo.git("checkout", "-q", "--detach", head)
    changes = collect_changes(repo.path, env=CI)
    assert changes.head == head and set(by_path(changes)) == {"src/x.py"}


def test_explicit_base_uses_the_merge_base(repo: GitRepo) -> None:
    repo.write("src/a.py", "a\n")
    repo.commit()
    repo.write("src/b.py", "b\n")
    repo.commit()
    assert set(by_path(collect_changes(repo.path, base="HEAD~1", env=CI))) == {"src/b.py"}


def test_shallow_clone_is_deepened_from_its_remote(repo: GitRepo, tmp_path: Path) -> None:
    for index in range(5):
        repo.write(f"src/f{index}.py", f"{index}\n")
        repo.commit(f"c{index}")
    clone = tmp_path / "clone"
    run_git(tmp_path, "clone", "-q", "--depth", "1", "--no-single-branch", f"file://{repo.path}", str(clone))
    changes = collect_changes(clone, base="origin/main", env=CI)
    assert not changes.fallback_reasons, changes.fallback_reasons
    assert len(changes.files) == 5


def test_shallow_clone_without_remote_falls_back_with_the_fix(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("src/f.py", "1\n")
    repo.commit()
    clone = tmp_path / "clone"
    run_git(tmp_path, "clone", "-q", "--depth", "1", "--no-single-branch", f"file://{repo.path}", str(clone))
    run_git(clone, "remote", "remove", "origin")
    main_sha = repo.git("rev-parse", "main")
    changes = collect_changes(clone, base=main_sha, env=CI)
    assert changes.base is None
    (reason,) = changes.fallback_reasons
    assert "fetch-depth: 0" in reason


def test_not_a_repository_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(GitError) as info:
        collect_changes(tmp_path, env=CI)
    assert "is not inside a git repository" in str(info.value) and "\n" not in str(info.value)


def test_no_default_branch_falls_back(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("a.py")
    repo.commit()
    changes = collect_changes(repo.path, env=CI)
    assert changes.fallback_reasons and "pass --base REV" in changes.fallback_reasons[0]


def payload(tmp_path: Path, data: dict[str, object], name: str) -> dict[str, str]:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    return {"CI": "true", "GITHUB_EVENT_PATH": str(path), "GITHUB_EVENT_NAME": name}


def test_pull_request_payload_base_and_labels(repo: GitRepo, tmp_path: Path) -> None:
    base = repo.git("rev-parse", "main")
    repo.write("src/pr.py", "p\n")
    head = repo.commit()
    env = payload(tmp_path, {"pull_request": {"base": {"sha": base}, "head": {"sha": head}, "labels": [{"name": "eval-tier:full"}]}}, "pull_request")
    changes = collect_changes(repo.path, env=env)
    assert changes.base == base and set(by_path(changes)) == {"src/pr.py"}
    assert changes.event is not None and changes.event.labels == ("eval-tier:full",)


def test_merge_group_and_push_payloads(repo: GitRepo, tmp_path: Path) -> None:
    base = repo.git("rev-parse", "main")
    repo.write("src/q.py", "q\n")
    head = repo.commit()
    group = collect_changes(repo.path, env=payload(tmp_path, {"merge_group": {"base_sha": base, "head_sha": head}}, "merge_group"))
    assert group.base == base and set(by_path(group)) == {"src/q.py"}
    push = collect_changes(repo.path, env=payload(tmp_path, {"before": base, "after": head}, "push"))
    assert push.base == base and set(by_path(push)) == {"src/q.py"}
    new_branch = collect_changes(repo.path, env=payload(tmp_path, {"before": ZERO_SHA, "after": head}, "push"))
    assert new_branch.base is None and "all-zero 'before'" in new_branch.fallback_reasons[0]


def test_force_pushed_base_that_is_not_in_the_repository(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("src/z.py", "z\n")
    head = repo.commit()
    gone = "1234567890abcdef1234567890abcdef12345678"
    changes = collect_changes(repo.path, env=payload(tmp_path, {"before": gone, "after": head}, "push"))
    assert changes.base is None and "is not in this repository" in changes.fallback_reasons[0]
