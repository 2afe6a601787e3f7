"""The Python API for training runs and trained policies.

    import qhil

    run = qhil.train("configs/pendulum.toml", out="runs/api", steps=2000)
    print(run.eval_return_mean, run.summary.hw.jobs)    # run.summary["hw"]["jobs"] reads too
    with qhil.load_policy(run.path, forward="exact") as policy:
        action = policy.predict(obs)            # obs (obs_dim,) or (B, obs_dim)

`train` does what `qhil train` does (validation first, the run folder, the ledger, the summary,
plots, TensorBoard events, metrics.csv); `load_policy` loads a run folder's checkpointed actor.
Its PQC forward value is chosen by the caller: `forward="exact"` (the embedded simulator's
exact marginals: free, no provider, deterministic) or `forward="hardware"` (one sampling job per
`predict` call on `provider`, default the run's, through a Dispatcher with the policy's own ledger,
`ledger=`, default DIR/policy/ledger.sqlite, apart from the training run's as `qhil evaluate` keeps
DIR/evaluations/ledger.sqlite; on a device that bills a budget and consent, `yes=True` or `ask`,
are needed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qhil.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from qhil.execution.budget import Budget
    from qhil.rl.config import TrainConfig
    from qhil.rl.summary import RunSummary

FORWARDS = ("exact", "hardware")
POLICY_LEDGER = Path("policy") / "ledger.sqlite"  # in the run folder: the policy's jobs, not the run's


def _empty_summary() -> RunSummary:
    from qhil.rl.summary import RunSummary

    return RunSummary()


@dataclass
class Run:
    """A finished training run: its folder, resolved config and summary (summary.json's typed
    model, `qhil.rl.summary.RunSummary`; read by attribute, or by key as the JSON spells it)."""

    path: Path
    config: TrainConfig
    summary: RunSummary = field(default_factory=_empty_summary)

    @property
    def eval_return_mean(self) -> float | None:
        return self.summary.eval_return_mean

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
          *, budget: Budget | None = None, yes: bool = False,
          ask: Callable[[str], str] | None = None, progress: bool = True,
          **overrides: Any) -> Run:
    """Train as `qhil train` does and return the Run. `out` defaults to runs/<env>-<time>.

    On a device that bills, a `budget` that pays for the whole run (the estimate by the run's
    own gradient method) and consent are required: `yes=True` (the estimate is printed first)
    or `ask(question)` answering y; otherwise a UserError is raised before anything is written
    or sent."""
    from qhil.config import find_profile
    from qhil.cost import train_spend
    from qhil.execution.consent import agree
    from qhil.execution.registry import provider_for
    from qhil.progress import is_quiet, set_quiet
    from qhil.rl.progress import ProgressPrinter
    from qhil.rl.run import check_gradient
    from qhil.rl.run import run_training as train_run
    from qhil.rl.rundir import RunFolder

    _check_budget_type(budget)
    cfg = resolve_config(config, overrides)
    folder = RunFolder(out or Path("runs") / f"{cfg.env}-{time.strftime('%Y%m%d-%H%M%S')}")
    profile = find_profile(cfg.provider)
    check_gradient(cfg, profile)
    agreement = agree(profile, train_spend(cfg, profile), budget, yes=yes, ask=ask)
    was_quiet = is_quiet()
    set_quiet(was_quiet or not progress)  # progress=False silences every bar of the run
    printer = ProgressPrinter()
    try:
        with provider_for(profile) as provider:
            summary = train_run(cfg, folder, provider, progress=printer, budget=budget,
                                agreement=agreement)
    finally:
        printer.close()
        set_quiet(was_quiet)
    return Run(folder.path, cfg, summary)


class Policy:
    """A trained actor, deterministic (no exploration noise): `predict(obs) -> action`."""

    def __init__(self, actor, forward: str, sampler=None, sim=None, on_close=None):
        self.actor, self.forward = actor, forward
        self.sampler, self.sim, self._on_close = sampler, sim, on_close

    def predict(self, obs: np.ndarray) -> np.ndarray:
        """Action(s) for one observation (obs_dim,) or a batch (B, obs_dim); with
        forward="hardware" one sampling job carries the batch's circuits."""
        import torch

        x = self._observations(obs)
        single = x.ndim == 1
        x = x.reshape(1, -1) if single else x
        with torch.no_grad():
            q_in, clinks = self.actor.controls(x)
            action = self.actor.finish(self._block(q_in), clinks).numpy()
        return action[0] if single else action

    def _observations(self, obs):
        """obs as a float32 tensor of (obs_dim,) or (B, obs_dim); another shape is refused."""
        import numpy as np
        import torch

        try:
            array = np.asarray(obs, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"predict takes numbers; got {type(obs).__name__} ({exc})") from None
        width = self.actor.pre[0].in_features
        if array.ndim not in (1, 2) or array.shape[-1] != width:
            raise ConfigError(f"predict takes one observation of shape ({width},) or a batch of "
                              f"shape (B, {width}); got shape {array.shape}")
        return torch.from_numpy(array)

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
                provider: str | None = None, budget: Budget | None = None, yes: bool = False,
                ask: Callable[[str], str] | None = None, seed: int = 0,
                ledger: str | Path | None = None) -> Policy:
    """The run folder's checkpointed actor. forward="exact": the PQC's exact marginals from the
    embedded simulator; forward="hardware": sampled marginals on `provider` (default the run's),
    which on a device that bills needs a `budget` and consent (`yes=True` or `ask`). The hardware
    jobs are recorded in `ledger` (a file, created as needed; default DIR/policy/ledger.sqlite),
    never in the run's own ledger.sqlite, which keeps accounting for the training run alone."""
    from qhil.rl.learner import build_td3
    from qhil.rl.run import env_dims, pick_device
    from qhil.rl.rundir import RunFolder

    if forward not in FORWARDS:
        raise ConfigError(f"forward must be one of {', '.join(FORWARDS)}, got {forward!r}")
    _check_budget_type(budget)
    folder = RunFolder(run_dir)
    config = folder.load_config().with_overrides(provider=provider)
    hardware = forward == "hardware" and config.block == "pqc"
    book = _policy_ledger(folder.path, ledger) if hardware else None
    agreement = _agree_to_forwards(config, budget, yes, ask) if hardware else None  # first
    obs_dim, act_dim, low, high = env_dims(config.env)
    td3 = build_td3(config, obs_dim, act_dim, low, high, pick_device("cpu"))
    td3.load_state_dict(folder.load_checkpoint_state())
    actor = td3.actor.eval()
    if config.block != "pqc":
        return Policy(actor, forward)
    if forward == "exact":
        from qhil.quantum.simulator import Simulator

        return Policy(actor, forward, sim=Simulator(config.quantum.qubits))
    return _hardware_policy(actor, config, book, agreement, seed)


def _policy_ledger(run_dir: Path, ledger: str | Path | None) -> Path:
    """The policy's ledger file (default DIR/policy/ledger.sqlite), checked before consent; the
    run's own ledger is refused: its totals account for the training run alone."""
    from qhil.paths import check_ledger_file, check_out_dir

    path = Path(run_dir / POLICY_LEDGER if ledger is None else ledger).expanduser()
    if path.resolve() == (run_dir / "ledger.sqlite").resolve():
        raise ConfigError(f"ledger {path} is the training run's ledger; the policy's jobs go to a "
                          f"ledger of their own (default {run_dir / POLICY_LEDGER})")
    check_out_dir(path.parent, "the policy ledger's folder")
    if path.exists():
        check_ledger_file(path, "the policy ledger")
    return path


def _check_budget_type(budget: Any) -> None:
    """A bare number is ambiguous (dollars? shots?): the limits are named in a Budget."""
    from qhil.execution.budget import Budget

    if budget is not None and not isinstance(budget, Budget):
        raise ConfigError(f"budget must be a qhil.Budget, e.g. budget=qhil.Budget(usd={budget!r}) "
                          f"or Budget(shots=...); got {type(budget).__name__} {budget!r}")


def _agree_to_forwards(config: TrainConfig, budget: Budget | None, yes: bool, ask):
    """Consent to an open-ended number of forward jobs, bounded by the budget (the spending road)."""
    from qhil.execution.consent import agree

    return agree(config.provider, None, budget, yes=yes, ask=ask,
                 what="the policy's hardware forward passes")


def _hardware_policy(actor, config: TrainConfig, ledger: Path, agreement, seed: int) -> Policy:
    """A Dispatcher on the policy's ledger, by the spending road (the agreed budget)."""
    from qhil.execution.consent import open_dispatcher
    from qhil.execution.registry import provider_for
    from qhil.rl.sampler import HardwareSampler

    provider = provider_for(agreement.profiles[0])
    dispatcher = open_dispatcher(provider, ledger=ledger, agreement=agreement)
    dispatcher.resume()  # a killed session's paid jobs land in the policy's ledger and are reused
    sampler = HardwareSampler(dispatcher, actor.ansatz, config.quantum.shots, seed,
                              config.loop.job_timeout_s)

    def close() -> None:
        dispatcher.ledger.close()
        provider.close()

    return Policy(actor, "hardware", sampler=sampler, on_close=close)
