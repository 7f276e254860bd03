"""``-n auto`` for an eval run: how many xdist workers pay off.

When every suite of the run waits on a model outside the process, one process's engine
already keeps each endpoint at its ``concurrency`` (a total for the run either way, see
:mod:`evalgate.models.sharing`), and extra processes only add start-up and collection
(measured in ``bench/wire.py``), so the run uses none. Suites that compute in the process
(``python`` models, custom scorers) leave the count to pytest-xdist (the CPUs).
"""

from __future__ import annotations

WAITING_KINDS = frozenset({"openai", "command"})
"""Model kinds whose calls wait on another process: worker processes add nothing."""


def auto_workers(kinds: list[str]) -> tuple[int | None, str]:
    """How many workers ``-n auto`` should start for suites on models of these ``kinds``,
    and why; None: let pytest-xdist count the CPUs."""
    if kinds and all(kind in WAITING_KINDS for kind in kinds):
        listed = ", ".join(sorted(set(kinds)))
        return 0, (
            f"-n auto → one process: every suite waits on its model ({listed}), and one process keeps each "
            "endpoint at its concurrency; more processes would only add start-up (pass -n 2 to force workers)"
        )
    return None, ""
