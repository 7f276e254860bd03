"""``-n auto`` for an eval run: how many xdist workers pay off.

When every suite of the run waits on a model outside the process
(:attr:`~evalgate.models.base.ModelAdapter.waits_elsewhere`), one process's engine already
keeps each endpoint at its ``concurrency`` (a total for the run either way, see
:mod:`evalgate.models.sharing`), and extra processes only add start-up and collection
(measured in ``bench/wire.py``), so the run uses none. Suites that compute in the process
(``python`` models, custom scorers) leave the count to pytest-xdist (the CPUs).
"""

from __future__ import annotations

from evalgate.project import Suite


def auto_workers(suites: list[Suite]) -> tuple[int | None, str]:
    """How many workers ``-n auto`` should start for these suites, and why; None: let
    pytest-xdist count the CPUs."""
    if suites and all(suite.adapter.waits_elsewhere and not suite.scorer.code for suite in suites):
        listed = ", ".join(sorted({suite.adapter.kind for suite in suites}))
        return 0, (
            f"-n auto → one process: every suite waits on its model ({listed}), and one process keeps each "
            "endpoint at its concurrency; more processes would only add start-up (pass -n 2 to force workers)"
        )
    return None, ""
