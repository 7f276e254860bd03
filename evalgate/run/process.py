"""Which process of a run this is: the controller, or an xdist worker with what the
controller handed it.

pytest-xdist tells a worker apart by ``config.workerinput`` (a dict the controller fills in
``pytest_configure_node``). This module is its only reader, so the run's code asks typed
questions (``is_worker``, ``shipped_plan``) instead of probing the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evalgate.models.sharing import current_worker

RUN_ID = "evalgate_run_id"
"""Key of the run id the controller hands its workers: one run in the results store."""
BOARD = "evalgate_board"
"""Key of the folder where the controller posts settled suites for xdist workers."""
PLAN = "evalgate_plan"
"""Key of the plan (tiers per suite, shard) the controller hands its workers."""


@dataclass(frozen=True)
class RunProcess:
    """This process's place in a run."""

    is_worker: bool
    """An xdist worker: the controller planned, decides and reports; this process runs cases."""
    shipped: dict[str, Any] = field(default_factory=dict)
    """What the controller handed this worker (empty on the controller)."""

    @classmethod
    def of(cls, config: Any) -> RunProcess:
        shipped = getattr(config, "workerinput", None)
        return cls(is_worker=shipped is not None, shipped=dict(shipped or {}))

    @property
    def worker(self) -> tuple[int, int] | None:
        """``(index, count)`` of this worker; None on the controller or a lone process."""
        return current_worker(self.shipped) if self.is_worker else None

    @property
    def part(self) -> str:
        """The worker's id (``gw0``), "" on the controller: its part of the run's records."""
        return str(self.shipped.get("workerid", ""))

    @property
    def plan(self) -> dict[str, Any] | None:
        """The controller's plan, on a worker."""
        return self.shipped.get(PLAN)

    @property
    def run_id(self) -> str | None:
        return self.shipped.get(RUN_ID)

    @property
    def board(self) -> str | None:
        return self.shipped.get(BOARD)


def ship(node: Any, plan: dict[str, Any], run_id: str, board: str | None) -> None:
    """Hand a starting xdist worker (``node``) what the controller decided."""
    node.workerinput[PLAN] = plan
    node.workerinput[RUN_ID] = run_id
    if board is not None:
        node.workerinput[BOARD] = board
