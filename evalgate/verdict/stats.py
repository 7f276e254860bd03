"""Interval estimates for pass rates.

The Wilson score interval (Wilson, 1927) is used for a fixed sample looked at once:
unlike the normal ("Wald") interval it stays inside [0, 1] and keeps close to its
nominal coverage for small n and rates near 0 or 1 (Brown, Cai & DasGupta, 2001,
"Interval Estimation for a Binomial Proportion", Statistical Science 16(2)).

It is *not* valid when re-checked after every case (optional stopping inflates its
error); sequential decisions need an anytime-valid method. No gate uses it: it is the
fixed-sample interval ``bench/verdicts.py`` shows failing under optional stopping.
"""

from __future__ import annotations

import math
from statistics import NormalDist


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Wilson score interval for ``successes`` out of ``n``.

    With no observations nothing is known: the interval is [0, 1].
    """
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # Clamp away floating-point spill (e.g. 1.0000000000000002) at the edges.
    return max(0.0, centre - half), min(1.0, centre + half)


def binomial_tail(k: int, n: int, p: float = 0.5) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p). Summed in log space (log-sum-exp), so thousands of
    trials neither overflow ``math.comb`` into a float nor underflow the terms."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0 or p >= 1.0:
        return 1.0 if p >= 1.0 else 0.0
    logs = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p) + (n - i) * math.log1p(-p)
        for i in range(k, n + 1)
    ]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(value - top) for value in logs))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b and c discordant pairs (McNemar, 1947; the
    exact form is the binomial test of b against Binomial(b + c, ½))."""
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, 2 * binomial_tail(max(b, c), n))
