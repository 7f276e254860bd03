"""The garbage collector and a run's long-lived objects: every ``gc.freeze`` of a run.

A run keeps pytest's start-up objects, its collected items and every report until the end
(~100k objects for 1,000 cases). CPython's full collections walk all of them, several times
per run; ``gc.freeze`` moves objects that will live to the end out of the collector's reach.
Frozen at three points — after pytest's start-up, after collection, before the end-of-run
collections — and unfrozen by a config cleanup, so an in-process run (pytester) leaks
nothing. Only ``gc`` and ``atexit``: the plugin imports this before anything else.
"""

from __future__ import annotations

import atexit
import functools
import gc
from typing import Any

_UNFREEZE = "_evalgate_unfreezes"


def freeze_start_up(config: Any | None = None) -> None:
    """pytest's own start-up is done: its ~30k objects leave the collector's reach, so the
    full passes that evalgate's imports and the run trigger walk only what they create (a
    pass over everything cost 25–45 ms, and a run made three). Given pytest's config (from
    ``pytest_configure``), registers once the cleanup that unfreezes everything; it runs
    after pytest's own cleanups."""
    gc.freeze()
    if config is not None and not getattr(config, _UNFREEZE, False):
        setattr(config, _UNFREEZE, True)
        config.add_cleanup(gc.unfreeze)


def freeze_collected() -> None:
    """The collected items join start-up's objects."""
    gc.freeze()


def freeze_the_run() -> None:
    """Collect the run's garbage now — finalizers' unraisable exceptions reach pytest's hook
    as ever — then freeze what is still alive (reports, items, results), so pytest's five
    end-of-run collections (``unraisableexception``) walk only what the end of the run
    creates: a tenth of a 2-second run."""
    gc.collect()
    gc.collect()
    gc.freeze()


@functools.cache  # once per process, however many runs it holds
def skip_the_final_sweep() -> None:
    """At exit, spare the interpreter its last collection over everything the run kept
    (0.1 s, a tenth of a cached run): the process frees its memory as it ends all the same.
    Registered at start, so it runs after every handler registered later (LIFO) and after
    pytest's own end-of-run collections, which report unraisable exceptions as before."""
    atexit.register(gc.freeze)
