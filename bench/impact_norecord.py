"""A pytest plugin for bench/impact.py only: switches dependency recording off, so the
benchmark can time a run with and without it. Never use it for real runs: without
recording, cached results are validated against an empty map."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from evalgate.run import runner
from evalgate.run.recording import Usage


@contextmanager
def _not_recording() -> Iterator[Usage]:
    yield Usage()


runner.recording = _not_recording  # type: ignore[assignment]
