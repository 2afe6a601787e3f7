"""summary.json of a training run as a typed model: written by rl/, read by report/, cost/ and
commands/ (one spelling of every key; the JSON keys are the contract of `qhil train --json`).

    summary = RunSummary.read(run_dir / "summary.json")   ConfigError when missing or invalid
    summary.hw.cost_usd, summary.steps, summary.eval_return_mean ...
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from qhil.config import validation_message
from qhil.errors import ConfigError


class HardwareSummary(BaseModel):
    """A run's hardware use (exploration, evaluation and learner), as its ledger counts it."""

    model_config = ConfigDict(frozen=True)

    jobs: int = 0
    circuits: int = 0
    shots: int = 0
    cost_usd: float = 0.0
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None


class ExplorerSummary(BaseModel):
    """One explorer actor of a distributed run (qhil.distributed): its ledger's figures."""

    model_config = ConfigDict(frozen=True)

    explorer: int
    provider: str
    ledger: str
    steps: int
    jobs: int
    shots: int
    cost_usd: float
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    policy_lag_p50: float | None = None  # learner updates between the acting and the learning
    policy_lag_p95: float | None = None


class RunSummary(BaseModel):
    """Everything `qhil train` reports at the end of a run (None: not reported, e.g. a run
    stopped early, or a summary written by hand)."""

    # the fidelity figures (surrogate_<figure>, _last) and later additions travel as extras
    model_config = ConfigDict(extra="allow", frozen=True)

    env: str | None = None
    provider: str | None = None
    block: str | None = None
    seed: int | None = None
    gradient: str | None = None
    steps: int | None = None
    updates: int | None = None
    actor_updates: int | None = None
    wall_s: float | None = None
    steps_per_s: float | None = None
    updates_per_s: float | None = None
    learner_s_per_update: float | None = None
    eval_return_mean: float | None = None
    eval_return_std: float | None = None
    eval_returns: list[float] = []
    hw: HardwareSummary = HardwareSummary()
    hw_learner: HardwareSummary = HardwareSummary()
    utd_ratio: float | None = None  # updates per vector step after learning started, achieved
    utd_ratio_target: float | None = None  # td3.updates_per_step
    catch_up_updates: int | None = None  # updates run after exploration ended (learner behind)
    threads: dict[str, Any] = {}  # the run's thread plan (qhil.threads) and OpenMP wait policy
    learner_wait_fraction: float | None = None
    env_wait_fraction: float | None = None
    qpu_idle_fraction: float | None = None
    fidelity_checks: int = 0
    fidelity_reference: str | None = None
    surrogate_loss: float | None = None
    warnings: list[str] = []
    clock: dict[str, float] = {}
    explorers: list[ExplorerSummary] = []  # a distributed run's explorer actors; [] otherwise
    policy_lag_p50: float | None = None
    policy_lag_p95: float | None = None

    @classmethod
    def read(cls, path: str | Path) -> RunSummary:
        path = Path(path)
        try:
            return cls.model_validate(json.loads(path.read_text()))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file; pass a run folder written by qhil train") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc})") from None
        except ValidationError as exc:
            raise ConfigError(validation_message(path, exc)) from None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
