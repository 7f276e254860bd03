"""Tokens and money: what a suite's model calls cost, and what the run did not spend.

Adapters report usage where the backend does (the OpenAI-compatible ``usage`` object:
``prompt_tokens`` / ``completion_tokens``; llama.cpp's server sends the same). A cached
result keeps the usage it had when it was produced, so the cache's saving is counted from
what those calls really cost. Calls that sampling and early stopping left out never ran:
their saving is an estimate, the mean cost of the suite's calls with usage times the calls
saved, and is reported as one. A backend that reports no usage gives "not reported", never 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evalgate.config import PriceConfig
from evalgate.document import CostReport
from evalgate.results import CaseResult
from evalgate.verdict.gate import SuiteVerdict


@dataclass(frozen=True)
class Prices:
    """What a suite's tokens cost: its model's, and its judge's (a ``judge`` scorer's model)."""

    model: PriceConfig | None = None
    judge: PriceConfig | None = None


INPUT_KEYS = ("prompt_tokens", "input_tokens")
OUTPUT_KEYS = ("completion_tokens", "output_tokens")


def tokens(usage: Mapping[str, int] | None) -> tuple[int, int] | None:
    """``(input, output)`` tokens of one call, or None when the backend reported none."""
    if not usage:
        return None
    found_in = [usage[key] for key in INPUT_KEYS if key in usage]
    found_out = [usage[key] for key in OUTPUT_KEYS if key in usage]
    if not found_in and not found_out:
        return None
    return (found_in[0] if found_in else 0), (found_out[0] if found_out else 0)


def call_spend(result: CaseResult, prices: Prices) -> tuple[int | None, float | None]:
    """``(tokens, money)`` one result's calls cost — model and judge, nothing for a cached
    answer; None where the backend reported no usage or no price is set."""
    if result.cached:
        return 0, 0.0
    model, judge = tokens(result.usage), tokens(result.judge_usage)
    counted = [t for t in (model, judge) if t is not None]
    used = sum(sum(t) for t in counted) if counted else None
    money = 0.0
    for part, price in ((model, prices.model), (judge, prices.judge)):
        if part is None:
            continue
        if price is None:
            return used, None
        money += _money(part, price)
    return used, money if counted else None


def suite_costs(
    verdicts: Sequence[SuiteVerdict], results: Sequence[CaseResult], prices: Mapping[str, Prices] | None
) -> dict[str, CostReport]:
    """:func:`suite_cost` of every suite, keyed by suite name."""
    by_suite: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        by_suite[result.suite].append(result)
    prices = prices or {}
    return {v.suite: suite_cost(v, by_suite[v.suite], prices.get(v.suite, Prices())) for v in verdicts}


def suite_cost(verdict: SuiteVerdict, results: Sequence[CaseResult], prices: Prices) -> CostReport:
    """The suite's tokens and cost in this run (``results`` are the suite's); the judge's
    tokens are counted, and priced, apart from the model's."""
    price = prices.model
    called = [t for r in results if not r.cached and (t := tokens(r.usage)) is not None]
    cached = [t for r in results if r.cached and (t := tokens(r.usage)) is not None]
    spent_in, spent_out = sum(t[0] for t in called), sum(t[1] for t in called)
    cached_in, cached_out = sum(t[0] for t in cached), sum(t[1] for t in cached)
    judged = [t for r in results if not r.cached and (t := tokens(r.judge_usage)) is not None]
    report = CostReport(
        judge_input_tokens=sum(t[0] for t in judged) if judged else None,
        judge_output_tokens=sum(t[1] for t in judged) if judged else None,
        calls=sum(1 for r in results if not r.cached),
        calls_with_usage=len(called),
        input_tokens=spent_in if called else None,
        output_tokens=spent_out if called else None,
        cached_input_tokens=cached_in if cached else None,
        cached_output_tokens=cached_out if cached else None,
        price=price,
        judge_price=prices.judge,
    )
    if prices.judge is not None and judged:
        report = report.model_copy(update={"judge_spent": round(sum(_money(t, prices.judge) for t in judged), 6)})
    if price is None or not (called or cached):
        return report
    every = called + cached
    mean = sum(_money(t, price) for t in every) / len(every)
    return report.model_copy(update={
        "spent": round(sum(_money(t, price) for t in called), 6),
        "saved_by_cache": round(sum(_money(t, price) for t in cached), 6),
        "saved_estimate": round(mean * (verdict.saved_by_sampling + verdict.saved_by_early_stop), 6),
    })


def _money(counts: tuple[int, int], price: PriceConfig) -> float:
    return (counts[0] * price.input + counts[1] * price.output) / 1_000_000


def cost_line(cost: CostReport) -> str:
    """One line for humans: tokens, money spent, money saved (estimates marked)."""
    if cost.input_tokens is None and cost.cached_input_tokens is None:
        judge = f"; {judge_part(cost)}" if cost.judge_input_tokens is not None else ""
        return ("tokens not reported by the backend" if cost.calls or cost.price else "no model calls") + judge
    parts = []
    if cost.input_tokens is not None:
        parts.append(f"{cost.input_tokens:,} in / {cost.output_tokens or 0:,} out tokens in {cost.calls_with_usage} call(s)")
    else:
        parts.append("no call this run")
    if cost.spent is not None and cost.price is not None:
        currency = cost.price.currency
        parts.append(f"{amount(cost.spent, currency)} spent")
        saved = [f"{amount(cost.saved_by_cache or 0.0, currency)} by the cache"]
        if cost.saved_estimate:
            saved.append(f"≈ {amount(cost.saved_estimate, currency)} by sampling and early stopping (estimate)")
        parts.append("saved " + ", ".join(saved))
    elif cost.price is None:
        parts.append("no price configured")
    if cost.judge_input_tokens is not None:
        parts.append(judge_part(cost))
    return "; ".join(parts)


def judge_part(cost: CostReport) -> str:
    """The judge's tokens, and their money when the judge's model has a price."""
    text = f"judge: {cost.judge_input_tokens or 0:,} in / {cost.judge_output_tokens or 0:,} out tokens"
    if cost.judge_spent is not None and cost.judge_price is not None:
        text += f", {amount(cost.judge_spent, cost.judge_price.currency)} spent"
    return text


def total_line(costs: Mapping[str, CostReport]) -> str | None:
    """Money spent (the judges' included) and saved over all suites, when every priced amount
    shares a currency."""
    priced = [c for c in costs.values() if c.spent is not None and c.price is not None]
    judged = [c for c in costs.values() if c.judge_spent is not None and c.judge_price is not None]
    currencies = {c.price.currency for c in priced if c.price is not None}
    currencies |= {c.judge_price.currency for c in judged if c.judge_price is not None}
    if not priced or len(currencies) != 1:
        return None
    currency = currencies.pop()
    spent = sum(c.spent or 0.0 for c in priced) + sum(c.judge_spent or 0.0 for c in judged)
    saved = sum((c.saved_by_cache or 0.0) + (c.saved_estimate or 0.0) for c in priced)
    return f"Cost: {amount(spent, currency)} spent, ≈ {amount(saved, currency)} saved (cache, sampling, early stopping)"


def amount(value: float, currency: str) -> str:
    """Money as the reports print it: four decimals below one unit, two above."""
    return f"{value:,.4f} {currency}" if value < 1 else f"{value:,.2f} {currency}"
