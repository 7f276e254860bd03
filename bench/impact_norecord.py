"""A pytest plugin for bench/impact.py only: switches dependency recording off, so the
benchmark can time a run with and without it. Never use it for real runs: without
recording, cached results are validated against an empty map."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from evalgate.run import runner
from evalgate.tracing import Usage


@contextmanager
def _not_recording(trace: bool = True) -> Iterator[Usage]:
    yield Usage()


def _not_traced(active: bool = True) -> Any:
    return nullcontext()


runner.recording = _not_recording  # type: ignore[assignment]
runner.traced = _not_traced  # type: ignore[assignment]
