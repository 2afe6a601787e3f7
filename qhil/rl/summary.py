"""summary.json of a training run as a typed model: written by rl/ (and qhil.distributed), read
by report/, cost/, sweep/ and commands/ (one spelling of every key; the JSON keys are the
contract of `qhil train --json` and of scripts that read summary.json).

    summary = qhil.rl.run.run_training(...)               a RunSummary (qhil.train(...).summary too)
    summary = RunSummary.read(run_dir / "summary.json")   ConfigError when missing or invalid
    summary.hw.cost_usd, summary.steps, summary.eval_return_mean ...
    summary["hw"]["jobs"]                            the JSON's spelling reads too (`Record`)

Every key is declared (`extra="forbid"`): a writer cannot add a key without declaring it here.
Old run folders still load: see `RunSummary` for how their missing and unknown keys are read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, model_validator

from qhil.config import validation_message
from qhil.errors import ConfigError
from qhil.files import clean

SUMMARY_VERSION = 2  # 1: summary.json written before every key was declared (no summary_version)


class Record(BaseModel):
    """A frozen typed record with every field declared, read by attribute or, as its JSON reads,
    by key: `record["hw"]["jobs"]`, `record.get("mode")`, `"mode" in record`, `record.keys()`
    (the dict-style reads `run.summary[...]` had when summaries were dicts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _json_safe(cls, data: Any) -> Any:
        """NaN and inf figures are null (as the JSON holds them), numpy scalars plain numbers."""
        return clean(data) if isinstance(data, dict) else data

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in type(self).model_fields else default

    def __contains__(self, key: object) -> bool:
        return key in type(self).model_fields

    def keys(self):
        return type(self).model_fields.keys()

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class HardwareSummary(Record):
    """A run's hardware use (exploration, evaluation and learner), as its ledger counts it.
    `hw_learner` is the learner's share (its own requests: the ledger does not record which
    part of a run sent a job); its `cost_usd` is None, the ledger's dollars are `hw.cost_usd`."""

    jobs: int = 0
    circuits: int = 0
    shots: int = 0
    cost_usd: float | None = 0.0
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None


class ExplorerSummary(Record):
    """One explorer actor of a distributed run (qhil.distributed): its ledger's figures."""

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
    policy_lag_max: float | None = None


class ThreadSummary(Record):
    """The run's thread plan (qhil.threads.ThreadPlan) and the OpenMP wait policy."""

    cpus: int | None = None
    learner: int | None = None
    explorer: int | None = None
    evaluation: int | None = None
    refit: int | None = None
    omp_wait_policy: str | None = None


class ClockSummary(Record):
    """The loop's clock (qhil.rl.loop.LoopClock.state()): seconds, over every resumed session."""

    wall_s: float = 0.0
    learn_wall_s: float = 0.0
    learner_wait_s: float = 0.0
    learner_busy_s: float = 0.0
    env_wait_s: float = 0.0
    catch_up_updates: float = 0.0  # updates run after the explorer's last step


class LearnerReplayed(Record):
    """This session's replay of the learner updates recorded since its checkpoint (a resume):
    how many were replayed, and how many asked something other than what was recorded."""

    updates: int = 0
    mismatched: int = 0


class FidelitySummary(Record):
    """A run's gradient fidelity (qhil.rl.fidelity.FidelityLog): checks, reference, and per
    figure the median over the second half of the checks and the last value."""

    fidelity_checks: int = 0
    fidelity_reference: str | None = None
    surrogate_grad_cosine: float | None = None
    surrogate_grad_cosine_last: float | None = None
    surrogate_grad_rel_error: float | None = None
    surrogate_grad_rel_error_last: float | None = None
    surrogate_jacobian_cosine: float | None = None
    surrogate_jacobian_cosine_last: float | None = None
    surrogate_jacobian_rel_error: float | None = None
    surrogate_jacobian_rel_error_last: float | None = None
    surrogate_pqc_grad_cosine: float | None = None
    surrogate_pqc_grad_cosine_last: float | None = None


class RunSummary(Record):
    """Everything `qhil train` reports at the end of a run (None: not reported, e.g. a run
    stopped early, a classical block, or a summary written by hand).

    Old files (`read`): every field has a default, so a key an older qhil did not write reads
    as its default (None, 0 or []); a key this version does not declare (e.g. the
    `surrogate_actor_grad_cosine` of early runs, or a newer qhil's) is dropped on reading and
    named in `dropped_keys`, never an error; `summary_version` says which writer wrote the file
    (1: before every key was declared). Writing a summary never drops: an undeclared key is a
    validation error (`extra="forbid"`)."""

    summary_version: int = 1
    env: str | None = None
    provider: str | None = None
    block: str | None = None
    seed: int | None = None
    gradient: str | None = None
    mode: Literal["sync", "async"] | None = None
    reproducible: bool | None = None  # the same config and seed give this run again exactly
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
    threads: ThreadSummary = ThreadSummary()
    learner_wait_fraction: float | None = None
    env_wait_fraction: float | None = None
    qpu_idle_fraction: float | None = None
    # gradient fidelity (qhil.rl.fidelity): median over the second half of the checks, and last
    fidelity_checks: int = 0
    fidelity_reference: str | None = None
    surrogate_grad_cosine: float | None = None
    surrogate_grad_cosine_last: float | None = None
    surrogate_grad_rel_error: float | None = None
    surrogate_grad_rel_error_last: float | None = None
    surrogate_jacobian_cosine: float | None = None
    surrogate_jacobian_cosine_last: float | None = None
    surrogate_jacobian_rel_error: float | None = None
    surrogate_jacobian_rel_error_last: float | None = None
    surrogate_pqc_grad_cosine: float | None = None
    surrogate_pqc_grad_cosine_last: float | None = None
    surrogate_loss: float | None = None
    learner_replayed: LearnerReplayed = LearnerReplayed()
    warnings: list[str] = []
    clock: ClockSummary | None = None  # None: a summary written before the clock was kept
    explorers: list[ExplorerSummary] = []  # a distributed run's explorer actors; [] otherwise
    policy_lag_p50: float | None = None
    policy_lag_p95: float | None = None
    policy_lag_max: float | None = None
    policy_lag_bound: int | None = None  # [distributed] max_policy_lag; None = unbounded
    learner_device: str | None = None  # a distributed run's learner: "cuda" or "cpu"
    learner_gpu_ids: list[str] = []  # the GPUs Ray gave its learner actor ([]: in the driver)

    _dropped: tuple[str, ...] = PrivateAttr(default=())

    @property
    def dropped_keys(self) -> tuple[str, ...]:
        """Keys of the file `read` that this version does not declare (dropped)."""
        return self._dropped

    @classmethod
    def read(cls, path: str | Path) -> RunSummary:
        path = Path(path)
        try:
            return cls.from_json(json.loads(path.read_text()))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file; pass a run folder written by qhil train") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc})") from None
        except ValidationError as exc:
            raise ConfigError(validation_message(path, exc)) from None

    @classmethod
    def from_json(cls, data: Any) -> RunSummary:
        """A summary from its JSON, of any version: unknown keys (top level, `hw`, `threads`,
        explorer rows) are dropped and named in `dropped_keys`."""
        if not isinstance(data, dict):
            return cls.model_validate(data)  # the validation error names the type
        known, dropped = _known(cls, data, "")
        summary = cls.model_validate(known)
        summary._dropped = tuple(dropped)
        return summary


NESTED: dict[str, type[Record]] = {"hw": HardwareSummary, "hw_learner": HardwareSummary,
                                   "threads": ThreadSummary, "clock": ClockSummary}


def _known(model: type[Record], data: dict, prefix: str) -> tuple[dict, list[str]]:
    """`data` less the keys `model` does not declare (one level of nested records)."""
    fields = model.model_fields
    known = {k: v for k, v in data.items() if k in fields}
    dropped = [prefix + k for k in data if k not in fields]
    if model is not RunSummary:
        return known, dropped
    for key, inner in NESTED.items():
        if isinstance(known.get(key), dict):
            known[key], more = _known(inner, known[key], f"{key}.")
            dropped += more
    if isinstance(known.get("explorers"), list):
        rows = [_known(ExplorerSummary, r, "explorers.") if isinstance(r, dict) else (r, [])
                for r in known["explorers"]]
        known["explorers"] = [r for r, _ in rows]
        dropped += sorted({k for _, more in rows for k in more})
    return known, dropped
