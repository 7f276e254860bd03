"""Conformance: is every verdict evalgate gives right as often as it claims? Cell by cell.

Real per-item correctness of real models (bench/data: GSM8K × 4 GPT-3 variants, ChemBench
× 22 LLMs). For each *cell* — a model, a kind of run and a setting — many random orders
are drawn and the decision code is replayed on each: the same ``SuiteMonitor`` the live
early stop and the final verdict use, then the verdict rules of ``verdict.gate`` (checked
against ``decide()`` itself on a sample of runs). The truth is the whole population's
answer, computed exactly. A verdict is *wrong* when it is settled (PASS, FAIL, ERROR) and
disagrees with the truth; UNDECIDED is never wrong, and is counted apart.

Families of cells (α = 0.05 everywhere):

- ``full``: the full tier with early stopping; the threshold τ at distance
  d ∈ {−0.10, −0.05, −0.01, −0.005, 0, +0.005, +0.01, +0.05, +0.10} from the true rate
  (d = 0: τ is the true rate exactly, so the truth is PASS; d > 0: FAIL);
- ``capped``: a smoke-style sample of 20, 50 or 100 cases of the suite;
- ``stratified``: the sampling order stratified by topic block (8 contiguous blocks of
  the file, sizes from 40 % down to 1 %), full and capped to 50;
- ``selected``: the population is a selection (a block of 400 cases, as ``-k`` makes);
- ``paired``: candidate vs baseline on the same items with the margin δ chosen so that
  Δ + δ lies within 2 points of 0 (the hardest cases), in a suite with two gates;
  also on capped samples, and against an *incomplete* baseline (an early-stopped base run
  that has only the first 100 or 400 cases of the order);
- ``errors``: persistent errors on a random 4 % of the items against budgets below, at and
  above their count, and with the default (no budget: errors count against the pass rate);
- ``short``: truly failing by one pass (τ = (passes + 1) / N): the hardest FAIL there is;
- ``distribution``: suites of 300 items drawn from the model's whole pool (a fresh draw per
  order); the verdict is about the distribution (the pool), truth = the pool's rate against τ;
- ``paired_distribution``: candidate vs baseline on suites of 300 drawn from the pool, the
  comparison about the distribution (non-inferiority, margin δ); truth = the pool's Δ vs −δ;
- ``familywise``: a run of 10 or 20 suites, every one at its boundary (truly passing), with
  the default ``run_alpha``: a run is wrong when *any* suite blocks;
- ``control``: the pass-rate gate with a complete baseline as control variate — a related
  model, and an unrelated one (its outcomes shuffled);
- ``paired_early``: against a real early-stopped baseline: the base run's own early stop
  decides how many of the cases it has;
- ``smoke_selection``: a selection (``-k``) inside a capped sample: about the selection,
  read as a sample of it (never exact); truth = the selection's rate.

Reported: per cell the wrong rate, UNDECIDED rate, calls used; the **worst cell** (not the
mean) with its binomial standard error; the false-block rate on capped tiers; the paired
false-alarm rate on capped tiers; calls used at |d| = 0.05 and 0.10.

Two stages, because the largest of ~2,000 noisy estimates is biased upward (a cell whose
true error is 3 % reads 8 % now and then in 200 orders): every cell is *screened* with 200
orders, and each cell that screens at or above α (wrong verdicts, or blocks of a passing
suite) is *confirmed* with 2,000 fresh orders. The worst cell is the worst confirmed
estimate; the screening maximum is reported beside it.

    python bench/conformance.py                        # writes bench/results/conformance.json
    python bench/conformance.py --orders 3 --models 2 --out /tmp/c.json   # tiny
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from verdicts import load_models  # noqa: E402  (the same real data as the verdicts benchmark)

from evalgate.config import GateConfig  # noqa: E402
from evalgate.results import CaseError, CaseResult  # noqa: E402
from evalgate.verdict.exact import error_budget, required_paired_sum, required_passes  # noqa: E402
from evalgate.verdict.gate import decide  # noqa: E402
from evalgate.verdict.monitor import Baseline, SuiteMonitor, SuiteSpec  # noqa: E402

ALPHA = 0.05
DISTANCES = (-0.10, -0.05, -0.01, -0.005, 0.0, 0.005, 0.01, 0.05, 0.10)
CAPS = (20, 50, 100)
BLOCK_SHARES = (0.40, 0.20, 0.15, 0.10, 0.08, 0.04, 0.02, 0.01)
SELECTION = 400
PAIR_OFFSETS = (-0.015, -0.005, 0.0, 0.005, 0.015)
ERROR_SHARE = 0.04
CHECK_EVERY = 97
"""Every this many runs, the replayed verdict is checked against ``decide()`` itself."""


@dataclass(frozen=True)
class Cell:
    """One setting, replayed over many orders."""

    family: str
    dataset: str
    model: str
    setting: str
    outcomes: tuple[str, ...]
    """Per item of the population: pass, fail or error (in file order)."""
    gate: dict[str, Any]
    population: int
    planned: int | None = None
    """Cases the run plans (a capped sample); None: the whole population."""
    strata: tuple[int, ...] = ()
    """Per item: its topic block, for stratified orders."""
    baseline: tuple[str, ...] = ()
    """Per item: the baseline's outcome (paired cells)."""
    baseline_cases: int | None = None
    """The baseline has only the first this-many cases of the order (incomplete); None: all."""
    selected: bool = False
    kind: str = "suite"
    """What the pass-rate verdict is about (``distribution``: the pool the suite is drawn from)."""
    regression_kind: str = "suite"
    pool_draw: int | None = None
    """Distribution cells: each order draws this many items of the pool as the suite."""
    members: tuple[tuple[str, ...], ...] = ()
    """Family-wise cells: the suites of one run (each at its own boundary)."""
    member_gates: tuple[dict[str, Any], ...] = ()
    control: bool = False
    """Give the pass-rate test the baseline's exact total (a control variate)."""
    early_baseline: bool = False
    """The baseline is a run that stopped early: it has the cases its own early stop read."""
    truth_rate: float | None = None
    """Distribution cells: the pool's rate (or Δ) the verdict is about."""


def as_decimal(value: float) -> float:
    """A threshold as a user would write it: six decimals, rounded down."""
    return math.floor(value * 1_000_000) / 1_000_000


def truth(cell: Cell) -> str:
    if cell.members:
        return "PASS"  # every suite of the run at its boundary: truly passing
    if cell.truth_rate is not None:  # about a distribution: its rate against the boundary
        boundary = -cell.gate["max_regression"] if cell.regression_kind == "distribution" and cell.baseline else cell.gate["min_pass_rate"]
        if abs(cell.truth_rate - boundary) < 1e-12:
            return "EITHER"  # exactly at the boundary: any settled verdict overclaims
        return "PASS" if cell.truth_rate > boundary else "FAIL"
    errors = cell.outcomes.count("error")
    budget = error_budget(cell.gate.get("max_errors"), None, cell.planned or cell.population)
    if cell.planned is None and budget is not None and errors > budget:
        return "ERROR"
    passes = cell.outcomes.count("pass")
    if budget is None and errors and passes < required_passes(cell.gate["min_pass_rate"], cell.population) <= passes + errors:
        return "ERROR"  # the errored cases decide it: no verdict about the model is right
    verdict = "PASS" if passes >= required_passes(cell.gate["min_pass_rate"], cell.population) else "FAIL"
    if cell.baseline and verdict == "PASS":
        paired = sum(int(c == "pass") - int(b == "pass") for c, b in zip(cell.outcomes, cell.baseline, strict=True))
        verdict = "PASS" if paired >= required_paired_sum(cell.gate["max_regression"], cell.population) else "FAIL"
    return verdict


def draw(cell: Cell, rng: random.Random) -> list[int]:
    """A random sampling order of the items (stratified when the cell has strata)."""
    items = list(range(len(cell.outcomes)))
    if not cell.strata:
        rng.shuffle(items)
        return items
    groups: dict[int, list[int]] = defaultdict(list)
    for item in items:
        groups[cell.strata[item]].append(item)
    position: dict[int, float] = {}
    for members in groups.values():
        rng.shuffle(members)
        offset = rng.random()
        for index, item in enumerate(members):
            position[item] = (index + offset) / len(members)
    return sorted(items, key=lambda item: (position[item], rng.random()))


def replay(cell: Cell, order: list[int]) -> tuple[str, int, SuiteSpec]:
    """The verdict of one run on ``order``: ``(verdict, cases read, spec)``."""
    if cell.pool_draw is not None:
        order = order[: cell.pool_draw]  # this run's suite: a fresh draw from the pool
    planned = order[: cell.planned] if cell.planned else order
    population = len(order) if cell.pool_draw is not None else cell.population
    ids = tuple(f"i{item}" for item in planned)
    baseline = None
    if cell.baseline:
        known_count = early_stop_of(cell, order) if cell.early_baseline else cell.baseline_cases
        known = order[:known_count] if known_count else order
        outcomes = {f"i{item}": cell.baseline[item] for item in known}
        complete = known_count is None or known_count >= len(order)
        baseline = Baseline(outcomes, complete=complete, random=True, source="bench")  # type: ignore[arg-type]
    control = sum(cell.baseline[item] == "pass" for item in order) if cell.control and baseline is not None and baseline.complete else None
    spec = SuiteSpec("bench", GateConfig(**cell.gate), ids, population, population, cell.selected, baseline=baseline,
                     control=control, kind=cell.kind, regression_kind=cell.regression_kind)  # type: ignore[arg-type]
    monitor = SuiteMonitor(spec)
    limit = len(outcomes) if baseline is not None and not baseline.complete else None
    for case_id, item in zip(ids, planned, strict=True):
        if monitor.add(case_id, cell.outcomes[item]) is not None:  # type: ignore[arg-type]
            break
        if limit is not None and monitor.seen >= limit:
            break  # no later case has a baseline: nothing more can move the paired test
    if monitor.decision is not None:
        return monitor.decision, monitor.seen, spec
    # Not settled early: the rules of verdict.gate for a run that read every planned case.
    if limit is not None or monitor.seen < spec.population or cell.kind == "distribution":
        return "UNDECIDED", monitor.seen, spec  # an incomplete baseline's pairs, a capped sample, a distribution
    errors, passes = monitor.counts["error"], monitor.counts["pass"]
    if monitor.budget is not None and errors > monitor.budget:
        return "ERROR", monitor.seen, spec
    if monitor.budget is None and passes < monitor.required <= passes + errors:
        return "ERROR", monitor.seen, spec
    verdict = "PASS" if passes >= monitor.required else "FAIL"
    if baseline is not None and verdict == "PASS":
        if cell.regression_kind == "distribution":
            return "UNDECIDED", monitor.seen, spec  # the comparison is about the distribution: never exact
        paired = sum(int(cell.outcomes[i] == "pass") - int(cell.baseline[i] == "pass") for i in planned)
        verdict = "PASS" if paired >= monitor.paired_required else "FAIL"
    return verdict, monitor.seen, spec


def early_stop_of(cell: Cell, order: list[int]) -> int:
    """How many cases of ``order`` the baseline's own run read before its early stop settled
    (the baseline gated at its own rate minus five points, as main's run would be)."""
    rate = sum(outcome == "pass" for outcome in cell.baseline) / len(cell.baseline)
    gate = GateConfig(min_pass_rate=as_decimal(max(0.01, rate - 0.05)), alpha=ALPHA)
    spec = SuiteSpec("base", gate, tuple(f"i{item}" for item in order), len(order), len(order))
    monitor = SuiteMonitor(spec)
    for item in order:
        if monitor.add(f"i{item}", cell.baseline[item]) is not None:  # type: ignore[arg-type]
            break
    return monitor.seen


def run_familywise(cell: Cell, orders: int, rng: random.Random) -> tuple[int, float]:
    """A family-wise cell: ``(runs with any suite blocking, mean share of cases read)``."""
    blocked, fractions = 0, []
    cap = ALPHA / len(cell.members)
    for _ in range(orders):
        any_block, read = False, 0
        for outcomes, gate in zip(cell.members, cell.member_gates, strict=True):
            items = list(range(len(outcomes)))
            rng.shuffle(items)
            spec = SuiteSpec("m", GateConfig(**gate), tuple(f"i{i}" for i in items), len(items), len(items), alpha_fail_cap=cap)
            monitor = SuiteMonitor(spec)
            for item in items:
                if monitor.add(f"i{item}", outcomes[item]) is not None:  # type: ignore[arg-type]
                    break
            read += monitor.seen
            any_block |= monitor.decision in ("FAIL", "ERROR")
        blocked += any_block
        fractions.append(read / sum(len(outcomes) for outcomes in cell.members))
    return blocked, statistics.mean(fractions)


def checked(cell: Cell, order: list[int], verdict: str, read_count: int, spec: SuiteSpec) -> None:
    """The replayed verdict must be the one ``decide()`` gives on the results the run had:
    the cases read until it settled (all planned ones when it did not)."""
    if cell.pool_draw is not None:
        order = order[: cell.pool_draw]
    planned = order[: cell.planned] if cell.planned else order
    upto = len(planned) if verdict == "UNDECIDED" else read_count
    read = {f"i{item}": cell.outcomes[item] for item in planned[:upto]}
    results = [
        CaseResult(suite="bench", case_id=case_id, error=CaseError(kind="exception", message="x"))
        if outcome == "error"
        else CaseResult(suite="bench", case_id=case_id, passed=outcome == "pass", score=float(outcome == "pass"))
        for case_id, outcome in read.items()
    ]
    official = str(decide(spec, results).verdict)
    if official != verdict:
        raise AssertionError(f"replay says {verdict}, decide() says {official} in {cell.family} {cell.model} {cell.setting}")


def run_cell(job: tuple[Cell, int, int]) -> dict[str, Any]:
    cell, orders, seed = job
    rng = random.Random(seed)
    right = truth(cell)
    if cell.members:
        blocked, fraction = run_familywise(cell, orders, rng)
        return {"family": cell.family, "dataset": cell.dataset, "model": cell.model, "setting": cell.setting,
                "truth": right, "runs": orders, "wrong_rate": blocked / orders, "undecided_rate": 0.0,
                "block_rate": blocked / orders, "calls_fraction": fraction}
    wrong = undecided = blocked = 0
    fractions = []
    for index in range(orders):
        order = draw(cell, rng)
        verdict, read, spec = replay(cell, order)
        if index % CHECK_EVERY == 0 and cell.population <= 3000:
            checked(cell, order, verdict, read, spec)
        settled = verdict in ("PASS", "FAIL", "ERROR")
        wrong += settled and (right == "EITHER" or verdict != right)
        undecided += verdict == "UNDECIDED"
        blocked += verdict in ("FAIL", "ERROR")
        fractions.append(read / (cell.pool_draw or cell.population))
    return {
        "family": cell.family,
        "dataset": cell.dataset,
        "model": cell.model,
        "setting": cell.setting,
        "truth": right,
        "runs": orders,
        "wrong_rate": wrong / orders,
        "undecided_rate": undecided / orders,
        "block_rate": blocked / orders,
        "calls_fraction": statistics.mean(fractions),
    }


def cells(datasets: dict[str, dict[str, list[bool]]], seed: int) -> Iterator[Cell]:
    rng = random.Random(seed)
    for dataset, models in datasets.items():
        n = len(next(iter(models.values())))
        blocks, start = [], 0
        for index, share in enumerate(BLOCK_SHARES):  # contiguous blocks of the file: topics
            size = n - start if index == len(BLOCK_SHARES) - 1 else round(share * n)
            blocks += [index] * size
            start += size
        for model, flags in models.items():
            outcomes = tuple("pass" if flag else "fail" for flag in flags)
            rate = sum(flags) / n
            for d in DISTANCES:
                tau = as_decimal(rate + d)
                if not 0.02 < tau < 0.98:
                    continue
                gate = {"min_pass_rate": tau, "alpha": ALPHA, "max_errors": n}  # the budget is its own family
                setting = f"d={d:+.3f}"
                yield Cell("full", dataset, model, setting, outcomes, gate, n)
                for cap in CAPS:
                    yield Cell("capped", dataset, model, f"{setting} n={cap}", outcomes, gate, n, planned=cap)
                if d in (-0.05, -0.005, 0.0, 0.005, 0.05):
                    yield Cell("stratified", dataset, model, setting, outcomes, gate, n, strata=tuple(blocks))
                    yield Cell("stratified", dataset, model, f"{setting} n=50", outcomes, gate, n, planned=50, strata=tuple(blocks))
            # A selection: a block of 400 consecutive items (what -k on a topic selects).
            first = rng.randrange(0, n - SELECTION)
            chosen = outcomes[first : first + SELECTION]
            chosen_rate = chosen.count("pass") / SELECTION
            for d in (-0.05, -0.01, 0.0, 0.01, 0.05):
                tau = as_decimal(chosen_rate + d)
                if 0.02 < tau < 0.98:
                    gate = {"min_pass_rate": tau, "alpha": ALPHA, "max_errors": SELECTION}
                    yield Cell("selected", dataset, model, f"d={d:+.3f}", chosen, gate, SELECTION, selected=True)
            # Persistent errors on 4 % of the items; budgets around their count.
            errored = set(rng.sample(range(n), round(ERROR_SHARE * n)))
            with_errors = tuple("error" if i in errored else outcome for i, outcome in enumerate(outcomes))
            count = len(errored)
            for budget in (count // 2, count - 3, count, count + 3, 2 * count):
                gate = {"min_pass_rate": as_decimal(max(0.03, (rate - ERROR_SHARE) / 2)), "alpha": ALPHA, "max_errors": budget}
                yield Cell("errors", dataset, model, f"budget={budget} errors={count}", with_errors, gate, n)
            # The default: no budget, errors count against the pass rate (τ around the scored rate).
            scored_rate = with_errors.count("pass") / n
            for d in (-0.05, -0.01, 0.01, 0.05):
                tau = as_decimal(scored_rate + d)
                if 0.02 < tau < 0.98:
                    yield Cell("errors", dataset, model, f"budget=default errors={count} d={d:+.3f}", with_errors,
                               {"min_pass_rate": tau, "alpha": ALPHA}, n)
            # One pass short: τ = (passes + 1) / N exactly (as a decimal), truly FAIL.
            passes = sum(flags)
            short = math.floor((passes + 0.5) / n * 1_000_000 + 1) / 1_000_000
            if required_passes(short, n) == passes + 1:
                yield Cell("short", dataset, model, f"one pass short ({passes} of {passes + 1})", outcomes,
                           {"min_pass_rate": short, "alpha": ALPHA, "max_errors": n}, n)
            # About the distribution: suites of 300 drawn from the pool, truth = the pool's rate.
            for d in (-0.10, -0.05, -0.01, 0.01, 0.05, 0.10):
                tau = as_decimal(rate + d)
                if 0.02 < tau < 0.98:
                    yield Cell("distribution", dataset, model, f"d={d:+.3f} n=300 of {n}", outcomes,
                               {"min_pass_rate": tau, "alpha": ALPHA, "max_errors": n}, n, kind="distribution",
                               pool_draw=300, truth_rate=rate)
            # A selection inside a smoke sample of 60: the selected cases are a sample of the selection.
            drawn = max(1, round(60 * SELECTION / n))
            for d in (-0.10, 0.10):
                tau = as_decimal(chosen_rate + d)
                if 0.02 < tau < 0.98:
                    yield Cell("smoke_selection", dataset, model, f"d={d:+.3f} {drawn} of {SELECTION}", chosen,
                               {"min_pass_rate": tau, "alpha": ALPHA, "max_errors": SELECTION}, SELECTION, selected=True,
                               kind="distribution", pool_draw=drawn, truth_rate=chosen_rate)
            # A complete baseline as control variate: the same data shuffled (unrelated to the candidate).
            shuffled = list(outcomes)
            rng.shuffle(shuffled)
            for d in (-0.05, -0.01, 0.01, 0.05):
                tau = as_decimal(rate + d)
                if 0.02 < tau < 0.98:
                    gate = {"min_pass_rate": tau, "alpha": ALPHA, "max_errors": n, "max_regression": 0.99}
                    yield Cell("control", dataset, model, f"d={d:+.3f} unrelated", outcomes, gate, n,
                               baseline=tuple(shuffled), control=True)
        # Family-wise: runs of 10 and 20 suites (300 cases drawn from each model's pool), every
        # suite at its boundary; run_alpha splits α over them.
        names_cycle = list(models)
        for size in (10, 20):
            members, gates = [], []
            for index in range(size):
                flags = models[names_cycle[index % len(names_cycle)]]
                picked = random.Random(seed + index).sample(range(n), 300)
                member = tuple("pass" if flags[i] else "fail" for i in picked)
                members.append(member)
                gates.append({"min_pass_rate": as_decimal(member.count("pass") / 300), "alpha": ALPHA, "max_errors": 300})
            yield Cell("familywise", dataset, f"{size} suites", "every suite at its boundary", members[0], gates[0], 300,
                       members=tuple(members), member_gates=tuple(gates))
        names = list(models)
        pairs = [(a, b) for a in names for b in names if a != b]
        rng.shuffle(pairs)
        used = 0
        for candidate, base in pairs:
            c, b = models[candidate], models[base]
            delta = (sum(c) - sum(b)) / n
            if delta > 0 or used >= (6 if dataset == "gsm8k" else 14):
                continue  # the candidate is the weaker model: regressions are what gates look for
            used += 1
            cand = tuple("pass" if flag else "fail" for flag in c)
            baseline = tuple("pass" if flag else "fail" for flag in b)
            for offset in PAIR_OFFSETS:
                margin = as_decimal(max(0.0, -delta + offset))
                gate = {"min_pass_rate": 0.0, "alpha": ALPHA, "max_errors": n, "max_regression": margin}
                setting = f"Δ+δ={delta + margin:+.4f}"
                name = f"{candidate} vs {base}"
                yield Cell("paired", dataset, name, setting, cand, gate, n, baseline=baseline)
                for cap in (20, 50):
                    yield Cell("paired_capped", dataset, name, f"{setting} n={cap}", cand, gate, n, planned=cap, baseline=baseline)
                for known in (100, 400):
                    yield Cell("paired_incomplete", dataset, name, f"{setting} base={known}", cand, gate, n, baseline=baseline, baseline_cases=known)
                yield Cell("paired_early", dataset, name, f"{setting} base=its early stop", cand, gate, n, baseline=baseline,
                           early_baseline=True)
            # About the distribution: pairs drawn from the pool, non-inferiority with margin δ.
            for offset in (-0.03, -0.01, 0.01, 0.03):
                margin = as_decimal(max(0.0, -delta + offset))
                if abs(delta + margin) < 1e-9:
                    continue
                gate = {"min_pass_rate": 0.0, "alpha": ALPHA, "max_errors": n, "max_regression": margin}
                yield Cell("paired_distribution", dataset, f"{candidate} vs {base}", f"Δ+δ={delta + margin:+.4f} n=300", cand,
                           gate, n, baseline=baseline, regression_kind="distribution", pool_draw=300, truth_rate=delta)
            # A related complete baseline as control variate for the pass-rate gate.
            rate_c = sum(c) / n
            for d in (-0.05, 0.05):
                tau = as_decimal(rate_c + d)
                if 0.02 < tau < 0.98:
                    gate = {"min_pass_rate": tau, "alpha": ALPHA, "max_errors": n, "max_regression": 0.99}
                    yield Cell("control", dataset, f"{candidate} vs {base}", f"d={d:+.3f} related", cand, gate, n,
                               baseline=baseline, control=True)


def binomial_se(rate: float, runs: int) -> float:
    return math.sqrt(rate * (1 - rate) / runs)


def progress(stage: str, rows: Iterable[dict[str, Any]], total: int) -> Iterator[dict[str, Any]]:
    """Pass ``rows`` through, printing a line to stderr whenever a family's cells are done
    and about every 5 % (a full run takes over an hour on two cores): cells done, the worst
    wrong rate so far, elapsed time and a linear estimate of the rest."""
    started, worst, family = time.perf_counter(), 0.0, None
    step = max(1, total // 20)
    for done, row in enumerate(rows, 1):
        worst = max(worst, row["wrong_rate"])
        finished_family = family is not None and row["family"] != family
        if finished_family or done % step == 0 or done == total:
            elapsed = time.perf_counter() - started
            left = elapsed / done * (total - done)
            note = f" (family {family} done)" if finished_family else ""
            print(f"{stage}: {done:,}/{total:,} cells{note}, worst wrong rate so far {worst:.4f}, "
                  f"{elapsed / 60:.1f} min elapsed, ~{left / 60:.1f} min left", file=sys.stderr, flush=True)
        family = row["family"]
        yield row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200, help="random orders per cell (default 200)")
    parser.add_argument("--models", type=int, default=None, help="only the first N models of each dataset")
    parser.add_argument("--confirm-orders", type=int, default=2000, help="fresh orders for each cell screening at or above α")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "conformance.json")
    args = parser.parse_args()
    started = time.perf_counter()
    datasets = load_models(args.models)
    jobs = [(cell, args.orders, args.seed + index) for index, cell in enumerate(cells(datasets, args.seed))]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        rows = list(progress("screening", pool.map(run_cell, jobs, chunksize=4), len(jobs)))
        screening_max = max(row["wrong_rate"] for row in rows)
        suspects = [
            index for index, row in enumerate(rows)
            if row["wrong_rate"] >= ALPHA or (row["truth"] == "PASS" and row["block_rate"] >= ALPHA)
        ]
        confirm = [(jobs[index][0], args.confirm_orders, args.seed + 1_000_000 + index) for index in suspects]
        confirmed = progress(f"confirming ({args.confirm_orders} orders each)", pool.map(run_cell, confirm, chunksize=1), len(confirm))
        for index, row in zip(suspects, confirmed, strict=True):
            row["screening_wrong_rate"] = rows[index]["wrong_rate"]
            row["screening_block_rate"] = rows[index]["block_rate"]
            row["screening_runs"] = rows[index]["runs"]
            rows[index] = row
    for row in rows:
        row["bound"] = round(ALPHA + 2 * binomial_se(ALPHA, row["runs"]), 4)
    worst = max(rows, key=lambda row: row["wrong_rate"] - row["bound"])
    capped = [row for row in rows if row["family"] == "capped" and row["truth"] == "PASS"]
    paired_capped = [row for row in rows if row["family"] == "paired_capped" and row["truth"] == "PASS"]
    calls = {
        f"{distance:.2f}": round(statistics.mean(
            row["calls_fraction"] for row in rows
            if row["family"] == "full" and abs(abs(float(row["setting"].split("=")[1])) - distance) < 1e-9
        ), 4)
        for distance in (0.05, 0.10)
    }
    families: dict[str, dict[str, Any]] = {}
    for family in sorted({row["family"] for row in rows}):
        members = [row for row in rows if row["family"] == family]
        families[family] = {
            "cells": len(members),
            "worst_wrong_rate": max(row["wrong_rate"] for row in members),
            "mean_wrong_rate": round(statistics.mean(row["wrong_rate"] for row in members), 5),
            "mean_undecided_rate": round(statistics.mean(row["undecided_rate"] for row in members), 4),
            "mean_calls_fraction": round(statistics.mean(row["calls_fraction"] for row in members), 4),
        }
    result = {
        "benchmark": "conformance",
        "setup": {
            "alpha": ALPHA, "orders_per_cell": args.orders, "confirm_orders": args.confirm_orders,
            "distances": DISTANCES, "caps": CAPS,
            "models": {name: len(models) for name, models in datasets.items()}, "cells": len(rows),
            "seconds": round(time.perf_counter() - started, 1),
        },
        "metrics": {
            "worst_wrong_rate": worst["wrong_rate"],
            "worst_cell": {key: worst[key] for key in ("family", "dataset", "model", "setting", "truth", "runs")},
            "worst_cell_bound": worst["bound"],
            "worst_within_bound": all(row["wrong_rate"] <= row["bound"] for row in rows),
            "screening_max_wrong_rate": screening_max,
            "cells_confirmed": len(suspects),
            "wrong_block_rate_capped": max((row["block_rate"] for row in capped), default=0.0),
            "wrong_block_capped_within_alpha": all(row["block_rate"] <= row["bound"] for row in capped),
            "paired_false_alarm_capped": max((row["block_rate"] for row in paired_capped), default=0.0),
            "calls_fraction_at_5pts": calls["0.05"],
            "calls_fraction_at_10pts": calls["0.10"],
        },
        "families": families,
        "cells": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({"metrics": result["metrics"], "families": families, "setup": result["setup"]}, indent=2))


if __name__ == "__main__":
    main()
