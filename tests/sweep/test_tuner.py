"""The Tune experiment a plan becomes: param space, search algorithm, seeds of optuna trials."""

from __future__ import annotations

import pytest

from qhil.rl.config import TrainConfig
from qhil.sweep.plan import SweepSpec
from qhil.sweep.setup import make_plan
from qhil.sweep.spec import grid_axis, param
from qhil.sweep.trial import TRIAL_INDEX, searched, seed_of

pytest.importorskip("ray.tune")


def plan_of(**kw):
    base = TrainConfig(steps=300, eval={"episodes": 1})
    return make_plan(SweepSpec(base=base, **{"seeds": [3, 5], **kw}))


def test_a_grid_is_cells_by_seeds():
    from qhil.sweep.tuner import param_space, tune_config

    plan = plan_of(grid=[grid_axis("block=pqc,fc,zeros")])
    space = param_space(plan)
    assert space == {"cell": {"grid_search": [0, 1, 2]}, "seed": {"grid_search": [3, 5]}}
    assert tune_config(plan).search_alg is None and plan.trial_count() == 6


def test_optuna_repeats_each_suggestion_once_per_seed():
    from ray.tune.search import Repeater

    from qhil.sweep.tuner import param_space, tune_config

    plan = plan_of(search="optuna", samples=4, params=[param("qtdnn.lr=loguniform(1e-4,1e-2)")],
                   grid=[grid_axis("block=pqc,fc")], max_concurrent=2)
    config = tune_config(plan)
    assert isinstance(config.search_alg, Repeater) and config.search_alg.repeat == 2
    assert config.num_samples == 8 and config.metric == "eval_return_mean" and config.mode == "max"
    assert set(param_space(plan)) == {"cell", "qtdnn.lr"}
    trial = {"cell": 1, "qtdnn.lr": 0.003, TRIAL_INDEX: 1}
    assert seed_of(plan, trial) == 5 and searched(plan, trial) == {"qtdnn.lr": 0.003}
    assert plan.trial_config(1, 5, searched(plan, trial)).qtdnn.lr == 0.003


def test_random_points_are_drawn_reproducibly_within_the_range():
    from qhil.sweep.tuner import draw_points

    params = [param("qtdnn.lr=loguniform(1e-4,1e-2)"), param("quantum.shots=randint(10,20)"),
              param("qtdnn.activation=choice(gelu,tanh)")]
    points = draw_points(params, 5, seed=0)
    assert points == draw_points(params, 5, seed=0) != draw_points(params, 5, seed=1)
    assert all(1e-4 <= p["qtdnn.lr"] <= 1e-2 and 10 <= p["quantum.shots"] < 20 for p in points)
    assert all(p["qtdnn.activation"] in ("gelu", "tanh") for p in points)
    assert all(type(p["quantum.shots"]) is int for p in points)
