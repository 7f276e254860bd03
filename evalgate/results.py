"""The result of running one case: what a case item produces and every report reads.

A pydantic model because it crosses process boundaries (xdist workers → controller) and
ends up in results.json; ``model_dump(mode="json")`` is its wire format.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from evalgate.errors import ErrorKind, ModelError, ScorerError


class CaseError(BaseModel):
    """Why a case has no score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ErrorKind
    """``timeout``, ``http``, ``connection``, ``bad-response``, ``missing``, ``exception``,
    ``exit`` or ``scorer`` (see :data:`evalgate.errors.ErrorKind`)."""
    message: str
    status: int | None = None
    """HTTP status, when the error came from an HTTP response."""
    attempts: int = 1

    @classmethod
    def from_exception(cls, err: ModelError | ScorerError) -> CaseError:
        """The reportable form of an adapter's or scorer's error."""
        if isinstance(err, ModelError):
            return cls(kind=err.kind, message=str(err), status=err.status, attempts=err.attempts)
        return cls(kind="scorer", message=str(err))


class CaseResult(BaseModel):
    """One run of one case: scored (``passed`` is a bool) or errored (``error`` is set)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
    usage: dict[str, int] = {}
    """Token counts, when the model reports them."""
    cached: bool = False
    """True when this result came from the cache instead of a model call."""

    @property
    def errored(self) -> bool:
        """True when the case has no score because something failed."""
        return self.error is not None


def case_outcome(runs: Sequence[CaseResult]) -> bool | None:
    """A case's outcome over its runs: a strict majority of scored runs passed; None when
    every run errored."""
    outcomes = [run.passed for run in runs if not run.errored]
    if not outcomes:
        return None
    return 2 * sum(bool(outcome) for outcome in outcomes) > len(outcomes)
