"""The Python API for training runs and trained policies.

    import qhil

    run = qhil.train("configs/pendulum.toml", out="runs/api", steps=2000)
    print(run.eval_return_mean, run.summary["hw"]["jobs"])
    with qhil.load_policy(run.path, forward="exact") as policy:
        action = policy.predict(obs)            # obs (obs_dim,) or (B, obs_dim)

`train` does what `qhil train` does (validation first, the run folder, the ledger, the summary,
plots, TensorBoard events, metrics.csv); `load_policy` loads a run folder's checkpointed actor.
Its PQC forward value is chosen by the caller: `forward="exact"` (the embedded simulator's
exact marginals: free, no provider, deterministic) or `forward="hardware"` (one sampling job per
`predict` call on `provider`, default the run's, through a Dispatcher with the run's ledger and an
optional budget, as `qhil evaluate` does).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qhil.errors import ConfigError, UserError

if TYPE_CHECKING:
    import numpy as np

    from qhil.execution.budget import Budget
    from qhil.rl.config import TrainConfig

FORWARDS = ("exact", "hardware")


@dataclass
class Run:
    """A finished training run: its folder, resolved config and summary."""

    path: Path
    config: TrainConfig
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def eval_return_mean(self) -> float | None:
        return self.summary.get("eval_return_mean")

    def metrics(self) -> list[dict[str, Any]]:
        """The rows of metrics.jsonl."""
        from qhil.rl.rundir import RunFolder

        return RunFolder(self.path).read_metrics()

    def policy(self, forward: Literal["exact", "hardware"] = "exact", **kwargs: Any) -> Policy:
        return load_policy(self.path, forward=forward, **kwargs)


def resolve_config(config: TrainConfig | str | Path | dict | None,
                   overrides: dict[str, Any]) -> TrainConfig:
    """A TrainConfig from a config object, a .toml path, a dict or None (the defaults), with
    `overrides` on top: top-level names (steps=2000), sections as dicts (td3={"batch_size": 64})
    or dotted keys ("td3.batch_size")."""
    from qhil.rl.config import TrainConfig, load_train_config, parse_train_config

    if config is None:
        base = TrainConfig()
    elif isinstance(config, TrainConfig):
        base = config
    elif isinstance(config, dict):
        base = parse_train_config(config, Path("<dict>"))
    else:
        base = load_train_config(config)
    flat: dict[str, Any] = {}
    for key, value in overrides.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    try:
        return base.with_overrides(**flat)
    except KeyError as exc:
        raise ConfigError(f"unknown config section {exc} in the overrides") from None


def train(config: TrainConfig | str | Path | dict | None = None, out: str | Path | None = None,
          *, budget: Budget | None = None, yes: bool = False, progress: bool = True,
          **overrides: Any) -> Run:
    """Train as `qhil train` does and return the Run. `out` defaults to runs/<env>-<time>.

    On a device that bills, `yes=True` is required (the estimate is printed first), as the
    command's --yes; `budget` caps the spending as --budget-* do."""
    from qhil.commands.train import confirm_cost
    from qhil.config import find_profile
    from qhil.execution.registry import get_provider
    from qhil.progress import is_quiet, set_quiet
    from qhil.rl.progress import ProgressPrinter
    from qhil.rl.run import check_gradient
    from qhil.rl.run import train as train_run
    from qhil.rl.rundir import RunFolder

    cfg = resolve_config(config, overrides)
    folder = RunFolder(out or Path("runs") / f"{cfg.env}-{time.strftime('%Y%m%d-%H%M%S')}")
    check_gradient(cfg, find_profile(cfg.provider))
    confirm_cost(cfg, _budget_args(budget, yes))
    was_quiet = is_quiet()
    set_quiet(was_quiet or not progress)  # progress=False silences every bar of the run
    printer = ProgressPrinter()
    try:
        with get_provider(cfg.provider) as provider:
            summary = train_run(cfg, folder, provider, progress=printer, budget=budget)
    finally:
        printer.close()
        set_quiet(was_quiet)
    return Run(folder.path, cfg, summary)


def _budget_args(budget: Budget | None, yes: bool):
    from types import SimpleNamespace

    limit = budget.limit if budget is not None else None
    return SimpleNamespace(yes=yes, stop_at_budget=False, budget_shots=limit and limit.shots,
                           budget_usd=limit and limit.cost_usd, budget_jobs=limit and limit.jobs)


class Policy:
    """A trained actor, deterministic (no exploration noise): `predict(obs) -> action`."""

    def __init__(self, actor, forward: str, sampler=None, sim=None, on_close=None):
        self.actor, self.forward = actor, forward
        self.sampler, self.sim, self._on_close = sampler, sim, on_close

    def predict(self, obs: np.ndarray) -> np.ndarray:
        """Action(s) for one observation (obs_dim,) or a batch (B, obs_dim); with
        forward="hardware" one sampling job carries the batch's circuits."""
        import numpy as np
        import torch

        x = torch.as_tensor(np.asarray(obs, dtype=np.float32))
        single = x.ndim == 1
        x = x.reshape(1, -1) if single else x
        with torch.no_grad():
            q_in, clinks = self.actor.controls(x)
            action = self.actor.finish(self._block(q_in), clinks).numpy()
        return action[0] if single else action

    def _block(self, q_in):
        import torch

        from qhil.layers.hdqnn import exact_marginals

        if self.actor.block != "pqc":
            return self.actor.t_block(q_in, None, torch.Generator().manual_seed(0))
        if self.forward == "exact":
            return exact_marginals(self.sim, self.actor.ansatz, q_in).to(q_in)
        return torch.from_numpy(self.sampler.sample(q_in.numpy(), "evaluate")).to(q_in)

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    def __enter__(self) -> Policy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_policy(run_dir: str | Path, forward: Literal["exact", "hardware"] = "exact", *,
                provider: str | None = None, budget: Budget | None = None,
                seed: int = 0) -> Policy:
    """The run folder's checkpointed actor. forward="exact": the PQC's exact marginals from the
    embedded simulator; forward="hardware": sampled marginals on `provider` (default the run's)."""
    from qhil.rl.learner import build_td3
    from qhil.rl.run import env_dims, pick_device
    from qhil.rl.rundir import RunFolder

    if forward not in FORWARDS:
        raise ConfigError(f"forward must be one of {', '.join(FORWARDS)}, got {forward!r}")
    folder = RunFolder(run_dir)
    config = folder.load_config().with_overrides(provider=provider)
    obs_dim, act_dim, low, high = env_dims(config.env)
    td3 = build_td3(config, obs_dim, act_dim, low, high, pick_device("cpu"))
    td3.load_state_dict(folder.load_checkpoint_state())
    actor = td3.actor.eval()
    if config.block != "pqc":
        return Policy(actor, forward)
    if forward == "exact":
        from qhil.quantum.simulator import BatchedSimulator

        return Policy(actor, forward, sim=BatchedSimulator(config.quantum.qubits))
    return _hardware_policy(actor, config, folder, budget, seed)


def _hardware_policy(actor, config: TrainConfig, folder, budget: Budget | None,
                     seed: int) -> Policy:
    """A Dispatcher on the run's ledger; a device that bills needs a budget."""
    from qhil.config import find_profile
    from qhil.cost import DeviceModel
    from qhil.execution.registry import get_provider
    from qhil.rl.hardware import HardwareSampler
    from qhil.rl.run import open_dispatcher

    profile = find_profile(config.provider)
    if budget is None and DeviceModel.from_profile(profile).charges:
        raise UserError(f"{profile.name} bills per job or shot: pass budget=qhil.Budget(usd=...) "
                        f"to load_policy(..., forward='hardware')")
    provider = get_provider(config.provider)
    dispatcher = open_dispatcher(folder, provider, budget)
    sampler = HardwareSampler(dispatcher, actor.ansatz, config.quantum.shots, seed,
                              config.loop.job_timeout_s)

    def close() -> None:
        dispatcher.ledger.close()
        provider.close()

    return Policy(actor, "hardware", sampler=sampler, on_close=close)
