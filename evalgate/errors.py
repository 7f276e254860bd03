"""The exceptions evalgate raises.

The library raises these; the edges (the pytest plugin and the CLI) turn them into
one-line messages and exit codes. Every message names where the problem is (a file,
a file:line, a key) and how to fix it.

    EvalgateError
    ├── ConfigError        a project, tier or suite file is missing or invalid
    │   └── DatasetError   a dataset row is malformed (carries file:line)
    ├── GitError           the change analyzer cannot read the repository
    ├── ModelError         a model adapter could not produce an output for a case
    └── ScorerError        a scorer could not score an output (a bug or bad settings)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

__all__ = ["ConfigError", "DatasetError", "ErrorKind", "EvalgateError", "GitError", "ModelError", "ScorerError"]

ErrorKind = Literal["timeout", "http", "connection", "bad-response", "missing", "exception", "exit", "scorer"]
"""Why a case has no score: a model call that timed out, got an HTTP error, could not
connect, got an answer without output, found no recorded output, raised, or whose program
exited non-zero — or a scorer that failed."""


class EvalgateError(Exception):
    """Base of every error evalgate raises on purpose."""


class ConfigError(EvalgateError):
    """A configuration file is missing or invalid.

    ``path`` is the file at fault; the message already names it.
    """

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class DatasetError(ConfigError):
    """A dataset file or row is malformed; the message starts with ``file:line``
    (or ``file`` when the problem is the whole file)."""

    def __init__(self, message: str, *, path: Path, line: int | None = None) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}", path=path)
        self.line = line


class GitError(EvalgateError):
    """The repository cannot be read (not a repository, unreadable event payload)."""


class ModelError(EvalgateError):
    """A model adapter failed for one case.

    ``kind`` is a short machine-readable reason (an :data:`ErrorKind`); ``status`` the HTTP status when there was one;
    ``attempts`` how many calls were made. It is reported per case and counted against
    the suite's error budget, never as a pass.
    """

    def __init__(
        self, message: str, *, kind: ErrorKind = "exception", status: int | None = None, attempts: int = 1
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.attempts = attempts


class ScorerError(EvalgateError):
    """A scorer raised or returned something that is not a score."""
