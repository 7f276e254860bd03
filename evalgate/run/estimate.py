"""What a plan will cost before it runs: case runs, tokens and money per suite.

The tier says how many case runs a suite plans (cases × repeats × variants); what one call costs
comes from the suite's recorded calls in the result store (their tokens, priced with the model's
and the judge's ``price``). The totals are upper bounds: the cache answers unchanged cases and
early stopping skips the rest once a verdict is settled, so a run spends less — the report says
how much less afterwards. A suite with no recorded call with usage says so instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from statistics import fmean

from evalgate.report.cost import Prices, call_spend
from evalgate.run.session import EvalSession
from evalgate.store.sqlite import ResultStore


@dataclass(frozen=True)
class SuiteEstimate:
    suite: str
    tier: str
    case_runs: int
    """Planned case runs: the most calls the suite can make (with its judge's, twice as many requests)."""
    recorded_calls: int
    """Recorded calls with usage the per-call figures come from (0: nothing to estimate from)."""
    tokens_per_call: float | None = None
    money_per_call: float | None = None
    currency: str | None = None

    @property
    def tokens(self) -> float | None:
        return None if self.tokens_per_call is None else self.tokens_per_call * self.case_runs

    @property
    def money(self) -> float | None:
        return None if self.money_per_call is None else self.money_per_call * self.case_runs

    def line(self) -> str:
        head = f"{self.suite}: {self.tier}, up to {self.case_runs:,} case run(s)"
        if not self.recorded_calls:
            return f"{head}; no recorded call with token usage to estimate from yet"
        money = "" if self.money is None else f", ≈ {self.money:.4g} {self.currency or ''}".rstrip()
        return (f"{head}; ≈ {self.tokens or 0:,.0f} tokens{money} at most "
                f"(≈ {self.tokens_per_call or 0:,.0f} tokens per call, from {self.recorded_calls} recorded call(s))")

    def to_json(self) -> dict[str, object]:
        return {"suite": self.suite, "tier": self.tier, "case_runs": self.case_runs, "recorded_calls": self.recorded_calls,
                "tokens_per_call": self.tokens_per_call, "money_per_call": self.money_per_call, "currency": self.currency,
                "tokens": self.tokens, "money": self.money}


def estimates(session: EvalSession, store: ResultStore | None) -> list[SuiteEstimate]:
    """The cost of each suite the session plans, from its recorded calls."""
    found = []
    for planned in session.planned.values():
        suite = planned.suite
        runs = len(planned.cases) * planned.repeats * (1 + len(planned.variants))
        prices = Prices(suite.model.price, suite.judge_price)
        spends = [call_spend(replace(result, cached=False), prices) for result in
                  (store.cache.recent_results(suite.name) if store is not None and store.enabled else [])]
        counted = [(used, money) for used, money in spends if used is not None]
        if not counted:
            found.append(SuiteEstimate(suite.name, planned.tier, runs, 0))
            continue
        priced = [money for _, money in counted if money is not None]
        currency = suite.model.price.currency if suite.model.price is not None else None
        found.append(SuiteEstimate(suite.name, planned.tier, runs, len(counted), fmean(used for used, _ in counted),
                                   fmean(priced) if len(priced) == len(counted) else None, currency))
    return found
