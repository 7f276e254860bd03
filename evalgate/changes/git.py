"""What changed: resolve the base of a change and list its files, with GitPython.

The base is always the *merge base* of the base revision and HEAD, so a pull request is
judged by its own commits, not by whatever landed on the base branch since. Anything
that makes the answer uncertain (no base, a base that is not in the repository, shallow
history that cannot be deepened, an unreadable diff) is recorded as a *fallback reason*;
the planner then chooses the larger tier and prints the reason with its fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import git

from evalgate.changes.bases import ZERO_SHA, EventInfo, read_event
from evalgate.checkout import DEFAULT_BRANCHES
from evalgate.errors import GitError

DEEPEN_STEPS = (50, 500, 5000)
"""Commits fetched per attempt when shallow history lacks the merge base."""
SHALLOW_FIX = "set fetch-depth: 0 in actions/checkout (or run git fetch --unshallow)"


@dataclass(frozen=True)
class FileChange:
    """One changed file."""

    path: str
    """The path after the change (the old path for deletions)."""
    status: str
    """A added, M modified, D deleted, R renamed, C copied, T type changed."""
    old_path: str | None = None
    """The path before a rename or copy."""
    added: int = 0
    deleted: int = 0
    binary: bool = False
    submodule: bool = False
    mode_only: bool = False
    """Only the file mode changed (e.g. chmod +x)."""

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path the change touches: both sides of a rename count."""
        return (self.path,) if self.old_path is None else (self.old_path, self.path)


@dataclass(frozen=True)
class ChangeSet:
    """The files changed between a base and a head, and how sure we are of that."""

    base: str | None
    head: str | None
    files: tuple[FileChange, ...] = ()
    base_source: str = ""
    """How the base was found, for humans ("merge base of origin/main and HEAD")."""
    fallback_reasons: tuple[str, ...] = ()
    """Why the change set cannot be trusted; non-empty means: run the larger tier."""
    head_message: str = ""
    event: EventInfo | None = None
    notes: tuple[str, ...] = ()
    """Facts worth printing with the plan (e.g. that uncommitted files were included)."""
    worktree: bool = False
    """The change includes the working tree (uncommitted files): its files, not ``head``'s."""

    @property
    def lines_changed(self) -> int:
        return sum(change.added + change.deleted for change in self.files)


def open_repo(directory: Path) -> git.Repo:
    """The repository containing ``directory``, or a one-line GitError."""
    try:
        return git.Repo(directory, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitError(
            f"{directory} is not inside a git repository; run in a git checkout, or choose a tier "
            f"with --eval-tier NAME instead of auto"
        ) from None


def collect_changes(
    directory: Path,
    base: str | None = None,
    env: Mapping[str, str] | None = None,
    include_worktree: bool | None = None,
) -> ChangeSet:
    """The change set of the repository at ``directory``.

    ``base``: an explicit base revision. Otherwise the GitHub event payload, otherwise
    the default branch. ``include_worktree``: add staged, unstaged and untracked files;
    default: yes, except on CI (``CI`` set), where the checkout is the change.
    """
    env = os.environ if env is None else env
    repo = open_repo(directory)
    if include_worktree is None:
        include_worktree = not env.get("CI")
    event = read_event(env)
    try:
        head = repo.head.commit.hexsha
    except ValueError:
        return ChangeSet(None, None, fallback_reasons=("the repository has no commits yet",), event=event)
    head_message = repo.head.commit.message if isinstance(repo.head.commit.message, str) else ""

    base_rev, source, reasons = _choose_base(repo, base, event)
    if base_rev is None:
        return ChangeSet(None, head, base_source=source, fallback_reasons=reasons, head_message=head_message, event=event)
    merge_base, reasons = _merge_base(repo, base_rev, head)
    if merge_base is None:
        return ChangeSet(None, head, base_source=source, fallback_reasons=reasons, head_message=head_message, event=event)
    try:
        files = diff_files(repo, merge_base, None if include_worktree else head)
        if include_worktree:
            files += untracked_files(repo)
    except git.GitCommandError as err:
        reason = f"cannot read the diff {merge_base[:12]}..{head[:12]}: {_git_message(err)}"
        return ChangeSet(merge_base, head, base_source=source, fallback_reasons=(reason,), head_message=head_message, event=event)
    return ChangeSet(
        merge_base,
        head,
        tuple(files),
        base_source=f"merge base of {source} and HEAD",
        head_message=head_message,
        event=event,
        notes=("includes uncommitted and untracked files",) if include_worktree and repo.is_dirty(untracked_files=True) else (),
        worktree=include_worktree,
    )


def diff_files(repo: git.Repo, base: str, head: str | None) -> list[FileChange]:
    """Changed files from ``base`` to ``head`` (None: the working tree, staged or not)."""
    target = [base] if head is None else [base, head]
    # One git process for both views: --raw records first, then --numstat records.
    output = repo.git.diff("--raw", "--numstat", "-z", "-M", "--no-color", "--no-ext-diff", *target)
    entries, rest = _parse_raw(output)
    counts = _parse_numstat(rest)
    changes = []
    for old_mode, new_mode, old_sha, new_sha, status, path, old_path in entries:
        added, deleted, binary = counts.get(path, (0, 0, False))
        submodule = "160000" in (old_mode, new_mode)
        changes.append(
            FileChange(
                path=path,
                status=status,
                old_path=old_path,
                added=added,
                deleted=deleted,
                binary=binary,
                submodule=submodule,
                mode_only=status == "M" and old_mode != new_mode and added == deleted == 0 and not binary
                and (old_sha == new_sha or new_sha == ZERO_SHA),
            )
        )
    return changes


def untracked_files(repo: git.Repo) -> list[FileChange]:
    """Untracked, not ignored files, as additions."""
    listing = repo.git.ls_files("--others", "--exclude-standard", "-z")
    changes = []
    for path in filter(None, listing.split("\0")):
        full = Path(repo.working_tree_dir or ".") / path
        if full.is_symlink() or not full.is_file():
            changes.append(FileChange(path=path, status="A", added=1))  # git diffs a link as one line
            continue
        data = full.read_bytes()
        binary = b"\0" in data[:8000]  # git's own heuristic
        added = 0 if binary else data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
        changes.append(FileChange(path=path, status="A", added=added, binary=binary))
    return changes


def _choose_base(
    repo: git.Repo, explicit: str | None, event: EventInfo | None
) -> tuple[str | None, str, tuple[str, ...]]:
    if explicit:
        return explicit, explicit, ()
    if event is not None and event.base is not None:
        if event.base == ZERO_SHA:
            return None, f"{event.name} event", (
                f"the {event.name} event has an all-zero 'before' (a new branch or a force-push with no "
                "previous commit): no base to compare with; pass --base REV to choose one",
            )
        return event.base, event.source or f"{event.name} base {event.base[:12]}", ()
    if event is not None and event.base_branch:
        ref = _branch_ref(repo, event.base_branch)
        if ref is None:
            return None, event.source, (
                f"the base branch {event.base_branch} ({event.source}) is not in this clone and cannot be "
                "fetched; fetch it (git fetch origin BRANCH) or pass --base REV",
            )
        return ref, event.source, ()
    for candidate in DEFAULT_BRANCHES:
        try:
            repo.git.rev_parse("--verify", "--quiet", f"{candidate}^{{commit}}")
        except git.GitCommandError:
            continue
        return candidate, candidate, ()
    return None, "", (
        f"no base: none of {', '.join(DEFAULT_BRANCHES)} exists and no --base REV or GitHub event "
        f"payload was given; pass --base REV",
    )


def _branch_ref(repo: git.Repo, branch: str) -> str | None:
    """A revision for the base branch: the remote-tracking branch (fetched when the clone
    lacks it — CI clones often hold only the change's own ref) or a local one."""
    remote = repo.remotes[0].name if repo.remotes else None
    candidates = [f"{remote}/{branch}", branch] if remote else [branch]
    for candidate in candidates:
        if not _is_missing_commit(repo, candidate):
            return candidate
    if remote is None:
        return None
    shallow = repo.git.rev_parse("--is-shallow-repository").strip() == "true"
    try:
        depth = ["--depth", str(DEEPEN_STEPS[0])] if shallow else []
        repo.git.fetch(*depth, remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}")
    except git.GitCommandError:
        return None
    return f"{remote}/{branch}"


def _merge_base(repo: git.Repo, base: str, head: str) -> tuple[str | None, tuple[str, ...]]:
    shallow = repo.git.rev_parse("--is-shallow-repository").strip() == "true"
    attempts = iter(DEEPEN_STEPS if shallow and repo.remotes else ())
    while True:
        try:
            return repo.git.merge_base(base, head).strip(), ()
        except git.GitCommandError as err:
            missing = _is_missing_commit(repo, base)
            step = next(attempts, None)
            if step is None:
                if shallow:
                    return None, (
                        f"shallow clone: the merge base of {base} and HEAD is not in the fetched "
                        f"history; {SHALLOW_FIX}",
                    )
                if missing:
                    return None, (
                        f"base {base} is not in this repository (force-pushed or not fetched); "
                        f"fetch it or pass --base REV",
                    )
                return None, (f"no merge base of {base} and HEAD ({_git_message(err)}); pass --base REV",)
            try:
                repo.git.fetch("--deepen", str(step), repo.remotes[0].name)
                if missing:
                    repo.git.fetch(repo.remotes[0].name, base)
            except git.GitCommandError:
                continue


def _is_missing_commit(repo: git.Repo, rev: str) -> bool:
    try:
        repo.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}")
        return False
    except git.GitCommandError:
        return True


def _parse_raw(output: str) -> tuple[list[tuple[str, str, str, str, str, str, str | None]], str]:
    """Parse the ``--raw -z`` records (``:old new osha nsha STATUS\\0path\\0[path2\\0]``) at
    the start of ``output``; the records and the unparsed rest."""
    fields = output.split("\0")
    entries: list[tuple[str, str, str, str, str, str, str | None]] = []
    index = 0
    while index < len(fields) and fields[index].startswith(":"):
        old_mode, new_mode, old_sha, new_sha, status = fields[index][1:].split(" ")
        letter = status[0]
        if letter in "RC":
            old_path, path = fields[index + 1], fields[index + 2]
            entries.append((old_mode, new_mode, old_sha, new_sha, letter, path, old_path))
            index += 3
        else:
            entries.append((old_mode, new_mode, old_sha, new_sha, letter, fields[index + 1], None))
            index += 2
    rest = "\0".join(fields[index:]).lstrip("\n")
    return entries, rest


def _parse_numstat(numstat: str) -> dict[str, tuple[int, int, bool]]:
    """Parse ``git diff --numstat -z`` into path → (added, deleted, binary)."""
    fields = numstat.split("\0")
    counts: dict[str, tuple[int, int, bool]] = {}
    index = 0
    while index < len(fields) and fields[index]:
        added, deleted, path = fields[index].split("\t", 2)
        if path == "":  # a rename: the old and new paths follow
            path = fields[index + 2]
            index += 3
        else:
            index += 1
        binary = added == "-"
        counts[path] = (0 if binary else int(added), 0 if binary else int(deleted), binary)
    return counts


def _git_message(err: git.GitCommandError) -> str:
    text = (err.stderr or "").strip().removeprefix("stderr:").strip().strip("'").strip()
    return text.splitlines()[0] if text else f"git exited with {err.status}"
