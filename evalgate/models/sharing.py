"""A model's ``concurrency`` under xdist: a total for the run, not per process.

Under ``-n N`` every worker builds its own adapters. For adapters whose calls leave the
process (:attr:`~evalgate.models.base.ModelAdapter.leaves_process`: an ``openai`` endpoint,
a ``command``, a ``custom`` adapter, which may well call a service) ``concurrency`` is what
the endpoint may see at once from the whole run, so each worker gets its share
(:func:`share_of`): the shares add up to the total. With fewer slots than workers each
worker gets one, and a lock file per slot (:class:`ProcessSlots`) keeps the total exact.
Models that run inside each process keep ``concurrency`` per process (it says how many
threads may call the function at once).
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Any


def current_worker(workerinput: dict[str, Any] | None) -> tuple[int, int] | None:
    """``(index, count)`` of this xdist worker from pytest-xdist's ``config.workerinput``
    (``gw3`` of 4 → ``(3, 4)``), or None in the controller or without xdist. Not from the
    environment: a pytest run started inside a worker inherits its variables."""
    if not workerinput:
        return None
    match = re.fullmatch(r"gw(\d+)", str(workerinput.get("workerid", "")))
    count = workerinput.get("workercount")
    if match is None or not isinstance(count, int) or count < 1:
        return None
    return int(match.group(1)), count


def share_of(total: int, index: int, count: int) -> int:
    """Worker ``index``'s part of ``total`` slots among ``count`` workers: the parts differ
    by at most one and add up to ``total``; at least 1 (see :class:`ProcessSlots`)."""
    return max(1, total // count + (1 if index < total % count else 0))


def per_process(config: Any, shared: bool, worker: tuple[int, int] | None) -> tuple[Any, ProcessSlots | None]:
    """A model config as this process should use it: in an xdist ``worker``, a ``shared``
    model's ``concurrency`` (its calls leave the process) becomes this worker's share; with
    fewer slots than workers, also the lock files that keep the run's total."""
    if worker is None or not shared:
        return config, None
    index, count = worker
    total = config.concurrency
    share = config.model_copy(update={"concurrency": share_of(total, index, count)})
    if total >= count:
        return share, None
    uid = re.sub(r"[^A-Za-z0-9]", "", os.environ.get("PYTEST_XDIST_TESTRUNUID", "")) or "run"
    label = re.sub(r"[^A-Za-z0-9_.-]", "_", config.label)[:60]
    folder = Path(tempfile.gettempdir()) / f"evalgate-slots-{uid}" / label
    return share, ProcessSlots(folder, total, preferred=index % total)


class ProcessSlots:
    """At most ``total`` holders across the processes of a run: one lock file per slot.

    A holder takes any free slot, else waits on its preferred one (``flock`` blocks in the
    kernel: no polling, released when a process dies). Used only with fewer slots than
    workers, where each worker also holds at most one call at a time.
    """

    def __init__(self, folder: Path, total: int, preferred: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.paths = [folder / f"slot-{index}.lock" for index in range(total)]
        self.preferred = preferred
        self.local = threading.local()

    def __enter__(self) -> ProcessSlots:
        import fcntl  # POSIX only, and needed only here

        order = self.paths[self.preferred :] + self.paths[: self.preferred]
        for path in order:
            handle = path.open("a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            self.local.handle = handle
            return self
        handle = order[0].open("a")
        fcntl.flock(handle, fcntl.LOCK_EX)
        self.local.handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        import fcntl

        handle = self.local.handle
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
