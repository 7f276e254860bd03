"""Wilson intervals and the stable sample (verdicts: test_gate.py)."""

from __future__ import annotations

import pytest
from conftest import make_case

from evalgate.cases import Case
from evalgate.config import TierConfig
from evalgate.run.sampling import cases_for_tier, sampling_order
from evalgate.verdict.stats import wilson_interval


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Reference values: the roots of (x/n - p)^2 = z^2 p (1 - p) / n, solved independently.
        (5, 10, 0.236593, 0.763407),
        (0, 10, 0.0, 0.277533),
        (10, 10, 0.722467, 1.0),
        (81, 263, 0.255289, 0.366210),
    ],
)
def test_wilson_known_values(successes: int, n: int, low: float, high: float) -> None:
    assert wilson_interval(successes, n) == pytest.approx((low, high), abs=1e-6)


def test_wilson_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def cases(n: int) -> list[Case]:
    return [make_case(f"c{i}") for i in range(n)]


def test_sampling_is_seeded_stable_and_capped() -> None:
    order = [case.id for case in sampling_order(cases(50), seed=0)]
    assert order == [case.id for case in sampling_order(list(reversed(cases(50))), seed=0)]
    assert order != [case.id for case in sampling_order(cases(50), seed=1)]
    assert order != sorted(order)
    sample = [c.id for c in cases_for_tier(cases(50), TierConfig(sample=10), seed=0)]
    assert sample == order[:10]
    assert len(cases_for_tier(cases(50), TierConfig(fraction=0.11), seed=0)) == 6
    assert len(cases_for_tier(cases(5), TierConfig(sample=10), seed=0)) == 5
    # Adding a case displaces at most one case of the sample.
    grown = {c.id for c in cases_for_tier(cases(51), TierConfig(sample=10), seed=0)}
    assert len(grown & set(sample)) >= 9
