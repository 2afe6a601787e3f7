"""The sweep's spec, its plan and its folder (no Ray here).

    sweeps/NAME/sweep.json       the SweepPlan: the spec, its cells and their budget shares
    sweeps/NAME/runs/<trial>/    one ordinary run folder per trial (config.toml, ledger, ...),
                                 named by its swept values and seed: block=pqc_seed=0
    sweeps/NAME/tune/            Ray Tune's experiment state (what --resume restores)
    sweeps/NAME/report.{md,html,json}, curves.png

A cell is one combination of the grid's values (for --search random: and one drawn point of the
searched parameters); each seed of a cell is a trial. A trial's config is the base config with
its cell, its searched values and its seed on top, written as its run folder's config.toml, the
one record of what it ran.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from qhil.config import validation_message
from qhil.errors import ConfigError
from qhil.execution.budget import BudgetState
from qhil.files import write_text_atomic
from qhil.rl.config import TrainConfig
from qhil.sweep.spec import OBJECTIVE, SEARCHES, GridAxis, Param


class SweepSpec(BaseModel):
    """The sweep as asked: written to sweep.json, read back by --resume and by every trial."""

    model_config = ConfigDict(frozen=True)
    base: TrainConfig
    seeds: list[int]
    grid: list[GridAxis] = []
    params: list[Param] = []
    search: Literal[SEARCHES] = "grid"  # type: ignore[valid-type]
    samples: int = 1
    max_concurrent: int | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    budget: BudgetState | None = None

    def swept_keys(self) -> list[str]:
        return [a.key for a in self.grid] + [p.key for p in self.params]

    def grid_cells(self) -> list[dict[str, Any]]:
        """Every combination of the grid's values (one empty cell without --grid)."""
        axes = [[(a.key, v) for v in a.values] for a in self.grid]
        return [dict(combo) for combo in itertools.product(*axes)]


def check_spec(spec: SweepSpec) -> None:
    """The combinations of options that cannot make a sweep."""
    keys = spec.swept_keys()
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ConfigError(f"{', '.join(twice)} is swept twice; give each key once")
    if spec.search == "grid" and spec.params:
        raise ConfigError("--param is searched by --search random or optuna; add one, or use --grid")
    if spec.search == "grid" and spec.samples != 1:
        raise ConfigError("--samples counts the points of --search random or optuna; add one")
    if spec.search != "grid" and not spec.params:
        raise ConfigError(f"--search {spec.search} needs at least one --param to search")
    if spec.search == "optuna" and not spec.base.eval.episodes:
        raise ConfigError(f"--search optuna maximises the evaluation return ({OBJECTIVE}); "
                          f"set [eval] episodes above 0")


class Cell(BaseModel):
    """One combination of swept values; every seed of it gets the same budget share."""

    model_config = ConfigDict(frozen=True)
    overrides: dict[str, Any]
    allowance: BudgetState | None = None  # each trial's share of the sweep's budget


class SweepPlan(BaseModel):
    """sweep.json: what every trial reads to build its config and its budget."""

    model_config = ConfigDict(frozen=True)
    spec: SweepSpec
    cells: list[Cell]

    def trial_count(self) -> int:
        per_seed = self.spec.samples if self.spec.search == "optuna" else len(self.cells)
        return per_seed * len(self.spec.seeds)

    def trial_config(self, cell: int, seed: int, searched: dict[str, Any] | None = None) -> TrainConfig:
        """The base config with the cell's values, the searched values and the seed on top."""
        spec = self.spec
        threads = spec.base.loop.learner_threads or max(1, int(spec.cpus_per_trial))
        return spec.base.with_overrides(**self.cells[cell].overrides, **(searched or {}),
                                        seed=seed, **{"loop.learner_threads": threads})

    def planned(self) -> list[tuple[int, int]]:
        """(cell, seed) of every trial known before the search runs (optuna's are not)."""
        if self.spec.search == "optuna":
            return []
        return [(c, s) for c in range(len(self.cells)) for s in self.spec.seeds]


def value_at(config: TrainConfig, key: str) -> Any:
    node: Any = config.model_dump()
    for part in key.split("."):
        node = node[part]
    return node


def text_of(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "-".join(text_of(v) for v in value)
    return str(value).replace("/", "-").replace(" ", "")


def trial_name(keys: list[str], config: TrainConfig) -> str:
    """block=pqc_quantum.gradient=qtdnn_seed=0: the trial's swept values and its seed."""
    parts = [f"{key}={text_of(value_at(config, key))}" for key in keys]
    return "_".join([*parts, f"seed={config.seed}"])


class SweepFolder:
    """Paths of one sweep."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser().resolve()
        self.plan_path = self.path / "sweep.json"
        self.runs = self.path / "runs"
        self.tune = self.path / "tune"

    def run_folder(self, plan: SweepPlan, config: TrainConfig) -> Path:
        return self.runs / trial_name(plan.spec.swept_keys(), config)

    def finished(self, plan: SweepPlan) -> set[tuple[int, int]]:
        """(cell, seed) of the planned trials whose run folder holds its summary."""
        return {(c, s) for c, s in plan.planned()
                if (self.run_folder(plan, plan.trial_config(c, s)) / "summary.json").is_file()}

    def finished_count(self) -> int:
        return sum(1 for _ in self.runs.glob("*/summary.json"))

    def write_plan(self, plan: SweepPlan) -> None:
        self.runs.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.plan_path, json.dumps(plan.model_dump(mode="json"), indent=2) + "\n")

    def read_plan(self) -> SweepPlan:
        if not self.plan_path.is_file():
            raise ConfigError(f"{self.path} is not a sweep folder (no sweep.json); start one "
                              f"with 'qhil sweep --config FILE --out {self.path}'")
        try:
            return SweepPlan.model_validate_json(self.plan_path.read_text())
        except ValidationError as exc:
            raise ConfigError(validation_message(self.plan_path, exc)) from None
