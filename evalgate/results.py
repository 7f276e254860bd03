"""The result of running one case: what a case item produces and every report reads.

Small frozen, slotted dataclasses: a run of 100,000 cases keeps 100,000 of them. They are
validated where they cross a boundary — xdist workers → controller, the result store,
results.json — through :data:`RESULT_ADAPTER` (pydantic), whose JSON form is the wire
format; code inside one process builds them directly.
"""

from __future__ import annotations

import dataclasses
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, TypeAdapter

from evalgate.errors import ErrorKind, ModelError, ScorerError
from evalgate.redact import SECRETS

_STRICT = ConfigDict(extra="forbid")
MESSAGE_LIMIT = 2000
"""Longest error message kept: a server's error body is quoted, never stored whole."""
_PACKAGE = str(Path(__file__).resolve().parent)


def user_traceback(err: BaseException) -> str | None:
    """The traceback of the user's exception behind ``err`` (its ``__cause__``), with
    evalgate's own frames left out; None when there is none."""
    cause = err.__cause__
    if cause is None or cause.__traceback__ is None:
        return None
    frames = [frame for frame in traceback.extract_tb(cause.__traceback__) if not frame.filename.startswith(_PACKAGE)]
    if not frames:
        return None
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames), *traceback.format_exception_only(cause)]
    return "".join(lines).rstrip()


@dataclass(frozen=True, slots=True)
class CaseError:
    """Why a case has no score."""

    __pydantic_config__ = _STRICT

    kind: ErrorKind
    """``timeout``, ``http``, ``connection``, ``bad-response``, ``missing``, ``exception``,
    ``exit`` or ``scorer`` (see :data:`evalgate.errors.ErrorKind`)."""
    message: str
    status: int | None = None
    """HTTP status, when the error came from an HTTP response."""
    attempts: int = 1
    traceback: str | None = None
    """The user's own frames, when the error came from their code (a python model, a custom
    scorer or adapter): shown with ``-v`` / ``--tb=long`` and in pytest's JUnit."""

    @classmethod
    def from_exception(cls, err: ModelError | ScorerError) -> CaseError:
        """The reportable form of an adapter's or scorer's error, secrets redacted."""
        trace = user_traceback(err)
        trace = SECRETS(trace) if trace else None
        message = SECRETS(str(err))[:MESSAGE_LIMIT]
        if isinstance(err, ModelError):
            return cls(kind=err.kind, message=message, status=err.status, attempts=err.attempts, traceback=trace)
        return cls(kind="scorer", message=message, traceback=trace)


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One run of one case: scored (``passed`` is a bool) or errored (``error`` is set)."""

    __pydantic_config__ = _STRICT

    suite: str
    case_id: str
    repeat: int = 0
    """0-based repeat index when a tier runs cases several times."""
    output: str | None = None
    score: float | None = None
    passed: bool | None = None
    explanation: str = ""
    error: CaseError | None = None
    latency: float = 0.0
    """Seconds spent in the model call."""
    usage: dict[str, int] | None = None
    """Token counts as the backend reported them; None when it reports none."""
    scores: dict[str, float] | None = None
    """Each scorer's score, when a suite has several (``exact``, ``judge``, …)."""
    judge_usage: dict[str, int] | None = None
    """Token counts of the judge's calls (a ``judge`` scorer), kept apart from the model's."""
    cached: bool = False
    """True when this result came from the cache instead of a model call."""
    variant: str | None = None
    """The robustness variant of the case that ran (``typo``, ...), None for the case itself."""

    @property
    def row_id(self) -> str:
        """What tells this run apart from the case's other runs in a store row or a merge:
        the case id, with the variant in brackets (``q1[typo]``) — brackets never occur in
        case ids. A label only: code reads ``case_id`` and ``variant``, never parses it."""
        return variant_label(self.case_id, self.variant)

    @property
    def errored(self) -> bool:
        """True when the case has no score because something failed."""
        return self.error is not None

    def replace(self, **changes: Any) -> CaseResult:
        """A copy with ``changes`` applied (e.g. a cache hit re-labelled for this case)."""
        return dataclasses.replace(self, **changes)


def variant_label(case_id: str, variant: str | None) -> str:
    """``q1`` for a case, ``q1[typo]`` for one of its variants (item names, store rows)."""
    return case_id if variant is None else f"{case_id}[{variant}]"


RESULT_ADAPTER: TypeAdapter[CaseResult] = TypeAdapter(CaseResult)
"""Validation and JSON for CaseResult wherever it crosses a boundary."""


def result_to_data(result: CaseResult) -> dict[str, Any]:
    """JSON-able data of a result (what travels on xdist reports)."""
    data: dict[str, Any] = RESULT_ADAPTER.dump_python(result, mode="json")
    return data


def result_from_data(data: Any) -> CaseResult:
    """A result from JSON-able data, validated (pydantic's ValidationError when invalid)."""
    return RESULT_ADAPTER.validate_python(data)


def result_to_json(result: CaseResult) -> str:
    """A result as compact JSON (how the store keeps it)."""
    return RESULT_ADAPTER.dump_json(result).decode()


def result_from_json(text: str | bytes) -> CaseResult:
    """A result from its JSON, validated."""
    return RESULT_ADAPTER.validate_json(text)
