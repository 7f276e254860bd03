"""Spend caps: ``max_cost`` (money) and ``max_tokens``, for a whole run and per suite.

Every call a case makes is counted as it completes — the model's and the judge's tokens, priced
with their ``price`` (a cached answer costs nothing). Before a case's call starts, the caps that
cover its suite are checked: once one is reached no new call starts for those suites, their
remaining cases are skipped ("budget reached"), and a suite whose verdict was not settled by then
ends INCOMPLETE — never PASS. Calls already in flight finish and count: at most the engine's
window (about twice the model's ``concurrency``), and the report says what was spent.

Under xdist each process counts what it spends; each holds an equal share of every cap, so the
run as a whole never goes past it (:func:`share`). A cap on money needs a price for every model
that runs under it; a backend that reports no token usage cannot be counted, and the run says so
before it starts (:func:`budget_problems`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from evalgate.project import Suite
from evalgate.report.cost import Prices, call_spend
from evalgate.results import CaseResult


@dataclass(frozen=True)
class Cap:
    """A limit on money and/or tokens; None: no limit of that kind."""

    max_cost: float | None = None
    max_tokens: int | None = None

    def __bool__(self) -> bool:
        return self.max_cost is not None or self.max_tokens is not None

    def share(self, processes: int) -> Cap:
        """This process's part when ``processes`` split the cap evenly."""
        if processes <= 1:
            return self
        return Cap(None if self.max_cost is None else self.max_cost / processes,
                   None if self.max_tokens is None else max(1, self.max_tokens // processes))


@dataclass
class Spent:
    tokens: int = 0
    money: float = 0.0
    calls: int = 0

    def over(self, cap: Cap) -> str | None:
        """How the spending reached ``cap``; None while it has not."""
        if cap.max_cost is not None and self.money >= cap.max_cost:
            return f"spent {self.money:.4g} of max_cost {cap.max_cost:g}"
        if cap.max_tokens is not None and self.tokens >= cap.max_tokens:
            return f"used {self.tokens:,} of max_tokens {cap.max_tokens:,} tokens"
        return None


@dataclass
class Budget:
    """The caps of one process of a run, and what it has spent against them."""

    run: Cap
    suites: Mapping[str, Cap]
    prices: Mapping[str, Prices]
    spent: Spent = field(default_factory=Spent)
    by_suite: dict[str, Spent] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    """Case runs recorded per suite (for "budget reached after N cases")."""

    @property
    def active(self) -> bool:
        return bool(self.run) or any(self.suites.values())

    def add(self, result: CaseResult) -> None:
        """Count one case's calls."""
        self.cases[result.suite] = self.cases.get(result.suite, 0) + 1
        if result.cached:
            return
        tokens, money = call_spend(result, self.prices.get(result.suite, Prices()))
        suite = self.by_suite.setdefault(result.suite, Spent())
        for spent in (self.spent, suite):
            spent.calls += 1
            spent.tokens += tokens or 0
            spent.money += money or 0.0

    def reached(self, suite: str) -> str | None:
        """Why no new call may start for ``suite`` (a cap that covers it is reached), or None."""
        why = self.spent.over(self.run)
        if why is not None:
            return f"the run's budget is reached ({why}) after {self.cases.get(suite, 0)} case run(s) of {suite}"
        cap = self.suites.get(suite)
        if cap:
            why = self.by_suite.get(suite, Spent()).over(cap)
            if why is not None:
                return f"the suite's budget is reached ({why}) after {self.cases.get(suite, 0)} case run(s)"
        return None


def run_cap(config_cost: float | None, config_tokens: int | None, option_cost: float | None,
            option_tokens: int | None) -> Cap:
    """The run's cap: the command line's, else the project's."""
    return Cap(option_cost if option_cost is not None else config_cost,
               option_tokens if option_tokens is not None else config_tokens)


def share(cap: Cap, suites: Mapping[str, Cap], worker: tuple[int, int] | None) -> tuple[Cap, dict[str, Cap]]:
    """Each xdist worker's even share of every cap (the whole run stays within them)."""
    processes = worker[1] if worker else 1
    return cap.share(processes), {name: each.share(processes) for name, each in suites.items()}


def budget_problems(suites: Sequence[Suite], run: Cap) -> list[str]:
    """What keeps the caps from being counted, before any call: a money cap over a model or
    judge without a ``price``, a cap over a backend that reports no token usage."""
    problems = []
    for suite in suites:
        cap = Cap(suite.config.max_cost, suite.config.max_tokens)
        money = cap.max_cost is not None or run.max_cost is not None
        if not (cap or run):
            continue
        if money and suite.model.price is None:
            problems.append(f"{suite.name}: max_cost needs a price for its model (price = {{input = …, output = …}} "
                            "per million tokens), or remove max_cost")
        if money and suite.judge_price is None and any(part.name == "judge" for part in suite.parts):
            problems.append(f"{suite.name}: max_cost needs a price for its judge's model too")
        if not suite.adapter.reports_usage:
            problems.append(f"{suite.name}: its model ({suite.adapter.kind}) reports no token usage, so a spend cap "
                            "cannot count it; remove the cap for this suite, or use a backend that reports usage")
    return problems
