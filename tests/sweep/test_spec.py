"""The sweep's options, plan, budget split and statistics, without Ray."""

from __future__ import annotations

import argparse
from decimal import Decimal

import pytest

from qhil.errors import ConfigError
from qhil.execution.budget import BudgetState
from qhil.execution.spend import Spend
from qhil.rl.config import TrainConfig
from qhil.sweep.plan import Cell, SweepPlan, SweepSpec, trial_name
from qhil.sweep.results import interval
from qhil.sweep.setup import make_plan
from qhil.sweep.spec import grid_axis, param, seed_list
from qhil.sweep.spending import SweepEstimate, TrialEstimate, with_allowances


def test_seeds_ranges_lists_and_refusals():
    assert seed_list("0-4") == [0, 1, 2, 3, 4]
    assert seed_list("0,2,7") == [0, 2, 7]
    assert seed_list("3") == [3]
    for bad in ("5-2", "a", "1,1", "-1", "0-"):
        with pytest.raises(argparse.ArgumentTypeError):
            seed_list(bad)


def test_grid_values_are_typed_and_keys_checked():
    axis = grid_axis("qtdnn.lr=1e-3,2e-3")
    assert axis.key == "qtdnn.lr" and axis.values == [0.001, 0.002]
    assert grid_axis("block=pqc,fc").values == ["pqc", "fc"]
    for bad in ("nosuchkey=1,2", "quantum=1", "seed=1,2", "block", "block="):
        with pytest.raises(argparse.ArgumentTypeError):
            grid_axis(bad)


def test_params_parse_and_refuse_bad_ranges():
    p = param("qtdnn.lr=loguniform(1e-4,1e-2)")
    assert (p.kind, p.args, p.priciest()) == ("loguniform", [1e-4, 1e-2], 1e-2)
    assert param("quantum.shots=randint(10,50)").bounds() == [10, 49]
    for bad in ("qtdnn.lr=normal(0,1)", "qtdnn.lr=uniform(2,1)", "qtdnn.lr=loguniform(0,1)",
                "quantum.shots=randint(1.5,3)", "nokey=uniform(0,1)"):
        with pytest.raises(argparse.ArgumentTypeError):
            param(bad)


def spec(**kw) -> SweepSpec:
    return SweepSpec(base=TrainConfig(steps=300), **{"seeds": [0, 1], **kw})


def test_grid_cells_are_every_combination_and_trials_named_by_them():
    plan = make_plan(spec(grid=[grid_axis("block=pqc,fc"), grid_axis("quantum.shots=10,20")]))
    assert len(plan.cells) == 4 and plan.trial_count() == 8
    config = plan.trial_config(3, 1)
    assert (config.block, config.quantum.shots, config.seed) == ("fc", 20, 1)
    assert trial_name(plan.spec.swept_keys(), config) == "block=fc_quantum.shots=20_seed=1"


def test_random_points_are_shared_by_every_seed_of_a_cell():
    plan = make_plan(spec(search="random", samples=3, params=[param("qtdnn.lr=loguniform(1e-4,1e-2)")]))
    lrs = [c.overrides["qtdnn.lr"] for c in plan.cells]
    assert len(lrs) == 3 and all(1e-4 <= lr <= 1e-2 for lr in lrs)
    assert plan.trial_count() == 6 and plan.trial_config(0, 0).qtdnn.lr == plan.trial_config(0, 1).qtdnn.lr


def test_contradictions_are_refused_before_anything():
    with pytest.raises(ConfigError, match="--search random or optuna"):
        make_plan(spec(params=[param("qtdnn.lr=uniform(0.1,0.2)")]))
    with pytest.raises(ConfigError, match="needs at least one --param"):
        make_plan(spec(search="random"))
    with pytest.raises(ConfigError, match="swept twice"):
        make_plan(spec(search="random", grid=[grid_axis("qtdnn.lr=0.1")],
                       params=[param("qtdnn.lr=uniform(0.1,0.2)")]))
    with pytest.raises(ConfigError):  # a value the config refuses
        make_plan(spec(grid=[grid_axis("block=pqc,nope")]))
    with pytest.raises(ConfigError, match="simulator"):  # exact on a real device
        make_plan(SweepSpec(base=TrainConfig(provider="ibm-torino"), seeds=[0],
                            grid=[grid_axis("quantum.gradient=qtdnn,exact")]))


def estimate_of(costs: list[tuple[int, str, int]], plan: SweepPlan) -> SweepEstimate:
    cells = [TrialEstimate(Spend("t", ("d",), True, jobs, shots, Decimal(usd)), 0.0)
             for shots, usd, jobs in costs]
    trials = [cells[c] for c, _ in plan.planned()]
    return SweepEstimate(trials, cells, sum((t.spend for t in trials), cells[0].spend))


@pytest.mark.parametrize("limit", [BudgetState(1000, Decimal("7.00"), 13),
                                   BudgetState(999, Decimal("0.01"), 1)])
def test_budget_shares_follow_the_estimate_and_never_add_up_to_more(limit):
    plan = SweepPlan(spec=spec(seeds=[0, 1, 2]), cells=[Cell(overrides={}), Cell(overrides={})])
    estimate = estimate_of([(300, "2", 4), (0, "0", 0)], plan)  # a pqc cell and a free one
    shares = [c.allowance for c in with_allowances(plan, estimate, limit).cells]
    assert shares[1] == BudgetState(0, Decimal(0), 0)  # the free cell is reserved nothing
    assert 3 * shares[0].shots <= limit.shots and 3 * shares[0].jobs <= limit.jobs
    assert 3 * shares[0].cost_usd <= limit.cost_usd
    assert shares[0].shots == limit.shots // 3


def test_interval_is_students_t():
    assert interval([1.0]).low is None and interval([1.0]).n == 1
    s = interval([1.0, 2.0, 3.0])  # mean 2, sd 1, t(0.975, 2) = 4.303
    assert s.mean == 2.0 and s.n == 3
    assert s.high - s.mean == pytest.approx(4.302653 / 3 ** 0.5, rel=1e-5)
