"""Thresholds in exact arithmetic: how many passes a gate needs, as an integer.

``min_pass_rate = 0.55`` on 100 cases needs 55 passes — but ``0.55 * 100`` is
55.00000000000001 in floating point, and a comparison with it fails a suite sitting
exactly at the threshold. Every comparison of a count with a threshold goes through the
integers computed here, once, from τ *as written in the config* (``Fraction(str(τ))``:
the decimal the user typed, not its binary approximation).
"""

from __future__ import annotations

import math

from evalgate.config import as_written


def required_passes(threshold: float, population: int) -> int:
    """k*: the smallest number of passes k with k / N ≥ τ."""
    return math.ceil(as_written(threshold) * population)


def required_paired_sum(max_regression: float, population: int) -> int:
    """j*: the smallest sum of paired differences S (each −1, 0 or +1) with S / N ≥ −δ,
    i.e. "the candidate's pass rate is at most δ below the baseline's"."""
    return math.ceil(-as_written(max_regression) * population)


def error_budget(max_errors: int | None, max_error_rate: float | None, cases: int) -> int | None:
    """The most errored cases a run of ``cases`` planned cases may have: ``max_errors``
    when set, else ``max_error_rate`` of them rounded down; None when neither is set (then
    errored cases only count against the pass rate, see :mod:`evalgate.verdict.monitor`)."""
    if max_errors is not None:
        return max_errors
    if max_error_rate is not None:
        return math.floor(as_written(max_error_rate) * cases)
    return None
