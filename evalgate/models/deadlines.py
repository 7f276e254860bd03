"""A deadline for a whole HTTP exchange: one watchdog thread that cuts the socket of any call past it.

urllib3's timeouts (like every socket timeout) bound each *operation*: connecting, one
``recv``. A server that sends its headers or its body a byte at a time never lets one
``recv`` wait long, so a call under ``timeout = 3`` could take minutes and still succeed.
:class:`Watchdog` enforces a total: a call registers its deadline, attaches its socket once
it has one, and when the deadline passes with the call still running, the watchdog shuts
the socket down — the blocked read returns at once and the call fails as a timeout.

One daemon thread for the process, woken only when an earlier deadline arrives; a call
costs a heap push under a lock. Finished calls stay in the heap until their deadline and
are then dropped without a look at their socket.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time


class Watch:
    """One call's deadline and, once it has one, its socket."""

    __slots__ = ("deadline", "sock", "expired", "finished", "_lock")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.sock: socket.socket | None = None
        self.expired = False
        """True once the deadline passed while the call was still running."""
        self.finished = False
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket | None) -> None:
        """The socket the call now reads from; cut at once when the deadline has passed."""
        with self._lock:
            self.sock = sock
            if time.monotonic() >= self.deadline:
                self._expire()

    def remaining(self) -> float:
        """Seconds left (0 when none)."""
        return max(0.0, self.deadline - time.monotonic())

    def finish(self) -> None:
        """The call is over: its socket is its own again (it may go back to a pool)."""
        with self._lock:
            self.finished = True
            self.sock = None

    def expire(self) -> None:
        with self._lock:
            if not self.finished:
                self._expire()

    def _expire(self) -> None:
        self.expired = True
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed: the read has failed on its own


class Watchdog:
    """Expires the watches whose deadline passed (see the module docstring)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, seconds: float) -> Watch:
        """A watch that expires ``seconds`` from now unless finished first."""
        watch = Watch(time.monotonic() + seconds)
        with self._wake:
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (watch.deadline, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="evalgate-deadlines", daemon=True)
                self._thread.start()
            elif earliest is None or watch.deadline < earliest:
                self._wake.notify()
        return watch

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap:
                    self._wake.wait()
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                _, _, watch = heapq.heappop(self._heap)
            if not watch.finished:
                watch.expire()


WATCHDOG = Watchdog()
"""The process's watchdog (its thread starts with the first watched call)."""
