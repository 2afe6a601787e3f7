"""A new sweep's plan from its spec, every trial's config checked before anything starts:
a bad value for a key, a searched bound the config refuses, `exact` on a device that is not a
simulator, an unknown provider, a cloud device that does not answer: each a UserError (exit 2),
nothing written.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from qhil.config import find_profile
from qhil.rl.config import TrainConfig
from qhil.sweep.plan import Cell, SweepPlan, SweepSpec, check_spec


def make_plan(spec: SweepSpec) -> SweepPlan:
    """The cells (grid combinations; for --search random, times the drawn points), checked."""
    check_spec(spec)
    cells = spec.grid_cells()
    if spec.search == "random":
        from qhil.sweep.tuner import draw_points

        points = draw_points(spec.params, spec.samples, spec.seeds[0])
        cells = [{**cell, **point} for cell in cells for point in points]
    plan = SweepPlan(spec=spec, cells=[Cell(overrides=c) for c in cells])
    check_trials(plan)
    return plan


def check_trials(plan: SweepPlan) -> None:
    """Every cell's config, at every corner of the searched ranges, validates and can train;
    every cloud device a pqc trial uses answers (from this machine)."""
    from qhil.execution.reach import require_reachable
    from qhil.rl.run import check_gradient

    devices = set()
    for cell in range(len(plan.cells)):
        for searched in corners(plan.spec):
            config = plan.trial_config(cell, plan.spec.seeds[0], searched)
            check_gradient(config, find_profile(config.provider))
            devices |= {config.provider} if config.block == "pqc" else set()
    for name in sorted(devices):
        require_reachable(find_profile(name))


def corners(spec: SweepSpec) -> list[dict[str, Any]]:
    """The combinations of optuna's searched bounds (random's points are already in the cells)."""
    if spec.search != "optuna":
        return [{}]
    keys = [p.key for p in spec.params]
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(p.bounds() for p in spec.params))]


def with_absolute_provider(config: TrainConfig) -> TrainConfig:
    """A provider given as a path, made absolute (trials run in other folders and machines)."""
    name = config.provider
    if name.endswith(".toml") or "/" in name:
        return config.with_overrides(provider=str(Path(name).expanduser().resolve()))
    return config
