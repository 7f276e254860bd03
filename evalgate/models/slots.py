"""Slots on the wire, handed out in the order calls asked for them.

An adapter's pool has more threads than ``concurrency`` so that calls waiting out a
backoff leave their slot to others. ``threading.Semaphore`` lets a thread that just
arrived take a freed slot before the thread it woke gets to run (barging), and the woken
one queues again at the back. The engine hands out jobs in sampling order and pytest's
thread waits for them in that order, so a barged-past early case stalls the whole run
behind it: at concurrency 8 the endpoint was busy only 83 % of the time (bench/wire.py).
Here a freed slot goes straight to the longest waiter.
"""

from __future__ import annotations

import threading
from collections import deque


class FairSlots:
    """At most ``size`` holders at once; waiters served first come, first served."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"slots need a size of at least 1, not {size}")
        self.size = size
        self._free = size
        self._lock = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()

    def __enter__(self) -> FairSlots:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return self
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()  # released by the holder that hands its slot over
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()  # the slot passes on; it is never free in between
            else:
                self._free += 1

    @property
    def waiting(self) -> int:
        """Calls queued for a slot (for progress lines and tests)."""
        with self._lock:
            return len(self._waiters)
