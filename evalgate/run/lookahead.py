"""Which items this process runs next, so the engine can start their model calls early.

Without xdist the process runs ``session.items`` in order. An xdist worker runs the items
the controller sends it; they wait in the worker's queue, which pytest-xdist keeps on its
``WorkerInteractor`` plugin (``torun``, guarded by its own lock). That is not public API:
if it ever moves, look-ahead quietly degrades to none and runs stay correct, only slower.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest


class LookAhead:
    """The items after a given one, as far as a window reaches."""

    def __init__(self, config: pytest.Config, is_worker: bool) -> None:
        self.config = config
        self.is_worker = is_worker
        self.items: list[pytest.Item] = []
        self.cursor = 0
        """Where the last item asked about sat: pytest runs the list in order, so the next
        one is usually right after it (no index of 100,000 node ids needed)."""
        self.reached = 0
        """Items before this index were handed out already: each is offered once, so a
        window of 128 costs one new item per item, not 128."""
        self._interactor: Any = None
        self._searched = False

    def index(self, items: Sequence[pytest.Item]) -> None:
        """Remember the collected items (the same list on every xdist worker)."""
        self.items = list(items)
        self.cursor = self.reached = 0

    def after(self, item: pytest.Item, window: int) -> list[pytest.Item]:
        """Items this process will run within ``window`` after ``item``. Without xdist,
        only those not offered before."""
        interactor = self._worker_queue()
        if interactor is None:
            start = self._position(item) + 1
            begin, self.reached = max(start, self.reached), max(self.reached, start + window)
            return self.items[begin : start + window]
        try:
            with interactor.torun.lock() as queued:
                indices = [i for i in list(queued)[: window + 1] if isinstance(i, int)]
            upcoming = interactor.nextitem_index
        except AttributeError:  # xdist internals moved: no look-ahead
            return []
        if isinstance(upcoming, int):
            indices.insert(0, upcoming)
        return [self.items[i] for i in indices[:window] if i < len(self.items)]

    def _position(self, item: pytest.Item) -> int:
        """The index of ``item`` in the session's items, -1 when it is not there."""
        for index in (self.cursor, self.cursor + 1):
            if index < len(self.items) and self.items[index] is item:
                self.cursor = index
                return index
        for index, candidate in enumerate(self.items):  # reordered or skipped ahead: search
            if candidate is item:
                self.cursor = index
                return index
        return -1

    def _worker_queue(self) -> Any:
        if not self.is_worker:
            return None
        if not self._searched:
            self._searched = True
            self._interactor = next(
                (p for p in self.config.pluginmanager.get_plugins() if type(p).__name__ == "WorkerInteractor"), None
            )
        return self._interactor
