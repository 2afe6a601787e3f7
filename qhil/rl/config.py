"""The training run's configuration: one TOML file, CLI flags on top, written to the run folder.

    env, provider, block, steps, num_envs, seed
    [quantum]  qubits, layers, entangler, shots
    [td3]      batch_size, learning_starts, updates_per_step, policy_delay, gamma, tau,
               actor_lr, critic_lr, exploration_noise, target_noise, target_noise_clip
    [qtdnn]    prior, hidden, activation, n_tiny_batches, tiny_batch_size, weight_decay, ...
               (None: the prior's choice, BY_PRIOR; `TrainConfig.qtdnn_settings()` resolves it)
    [network]  pre_hidden, post_hidden, critic_hidden, clinks
    [eval]     episodes, every_steps, final
    [loop]     mode, learner_pace, max_policy_lag, max_updates_per_transition, cpus, ...
    [distributed] explorers, providers, max_policy_lag   (qhil.distributed: explorer actors on Ray)

`load_train_config(path)` validates a file; `TrainConfig.with_overrides(...)` applies flags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from qhil.config import StrictModel, load_toml, validation_message
from qhil.errors import ConfigError
from qhil.files import toml_text
from qhil.names import GRADIENTS

BLOCKS = ("pqc", "fc", "rbg", "zeros")
PRIORS = ("mean-field", "none")


class QuantumSettings(StrictModel):
    """The PQC of the T-block (used by block = "pqc"; its width sets every block's width)."""

    qubits: int = Field(4, ge=1, le=20, description="Qubits n: the T-block outputs n values.")
    layers: int = Field(2, ge=1, description="PQC layers L.")
    entangler: Literal["data", "ring", "chain"] = Field(
        "data", description="data: CZ indices from PreDNN (the paper); ring/chain: fixed CZ pattern.")
    shots: int = Field(100, ge=1, description="Shots S per circuit; marginals are S-shot means.")
    gradient: Literal[GRADIENTS] = Field(  # type: ignore[valid-type]
        "qtdnn", description="How the actor's gradient crosses the PQC: qtdnn (the surrogate, no "
        "circuit; the paper's), parameter-shift (2 x angles shifted circuits per sample per actor "
        "update, sent to the provider), spsa (2 perturbed circuits per sample), exact (autograd "
        "through the embedded simulator; simulator providers only). The forward value is always "
        "the provider's sampled marginals.")
    spsa_step: float = Field(
        0.2, gt=0, le=3.2, description="SPSA perturbation c (radians) on every angle.")


class TD3Settings(StrictModel):
    """TD3 hyper-parameters (defaults: the TD3 paper's, as in CleanRL)."""

    batch_size: int = Field(256, ge=1, description="Minibatch size of each update.")
    learning_starts: int = Field(1000, ge=0, description="Env steps of random actions before updates.")
    updates_per_step: float = Field(
        1.0, gt=0, description="Learner updates per vector step (one sampling job carrying num_envs "
        "transitions), as in CleanRL; the update-to-data ratio of the sync loop.")
    policy_delay: int = Field(2, ge=1, description="Critic updates per actor update.")
    gamma: float = Field(0.99, gt=0, le=1, description="Discount factor.")
    tau: float = Field(0.005, gt=0, le=1, description="Polyak factor of the target networks.")
    actor_lr: float = Field(3e-4, gt=0, description="Adam learning rate of the actor.")
    critic_lr: float = Field(3e-4, gt=0, description="Adam learning rate of the critics.")
    exploration_noise: float = Field(0.1, ge=0, description="Gaussian action noise (x action scale).")
    target_noise: float = Field(0.2, ge=0, description="Target-policy smoothing noise std.")
    target_noise_clip: float = Field(0.5, ge=0, description="Clip of the target-policy noise.")
    buffer_size: int = Field(1_000_000, ge=1, description="Replay buffer capacity (transitions).")


class QtDNNSettings(StrictModel):
    """The qtDNN surrogate: an MLP fitted on the fly to the PQC's (q_i, q_o) pairs."""

    hidden: list[int] | None = Field(
        None, description="Hidden widths; None: by `prior` (BY_PRIOR): [128, 128] for the "
        "mean-field residual, [2**(qubits+1)] (the paper's) for the black-box MLP.")
    activation: Literal["leaky_relu", "silu", "gelu", "tanh"] | None = Field(
        None, description="Hidden activation; None: by `prior`: gelu for the mean-field "
        "residual, leaky_relu (the paper's) for the black-box MLP.")
    features: Literal["raw", "trig"] = Field(
        "raw", description="Input encoding: raw controls (the paper's), or trig = (cos, sin) of each "
        "angle and one-hot CZ indices, which matches the PQC's Jacobian far better.")
    prior: Literal["none", "mean-field"] = Field(
        "mean-field", description="mean-field: a mean-field (product-state) simulation of the "
        "circuit, O(L n) per sample at any qubit count, plus an MLP residual on trig features that "
        "learns what it misses (correlations, device noise); the surrogate that measured best "
        "(PreDNN-gradient cosine 0.88 on Pendulum 4 x 2, 0.99 at 10 x 10, against 0.05 and 0.67 "
        "for the paper's qtDNN; benchmarks/results/bench_gradients.md, probe_surrogate_10x10.md). "
        "none: the black-box MLP of `hidden`/`activation`/`features` (with the defaults, the "
        "paper's qtDNN: prior = \"none\" is all it takes; configs/*-paper.toml).")
    n_tiny_batches: int | None = Field(
        None, ge=1, description="Tiny batches N_qt per refit (before each actor update); None: by "
        "`prior`: 4 for the mean-field residual, 32 (the paper's) for the black-box MLP.")
    tiny_batch_size: int | None = Field(
        None, ge=1, description="Pairs per tiny batch, drawn from the minibatch; None: by `prior`: "
        "64 for the mean-field residual, 32 (the paper's) for the black-box MLP.")
    lr: float = Field(1e-3, gt=0, description="AdamW learning rate of the qtDNN.")
    weight_decay: float | None = Field(
        None, ge=0, description="AdamW decoupled weight decay of the qtDNN (0 = Adam, the "
        "paper's); keeps the surrogate's Jacobian smooth over long runs; None: by `prior`: 0.05 "
        "for the mean-field residual, 0 for the black-box MLP.")
    buffer_size: int = Field(100_000, ge=1, description="qtDNN buffer: most recent (q_i, q_o) pairs kept.")
    recent_fraction: float = Field(
        0.5, ge=0, le=1, description="Share of each refit's pairs drawn from the qtDNN buffer of "
        "recent pairs (the rest from the minibatch).")
    control_noise: float = Field(
        0.2, ge=0, description="Std (radians) of Gaussian jitter on the exploration circuits' angles, "
        "so the (q_i, q_o) pairs fill a ball around the policy's controls and the surrogate's "
        "Jacobian is identifiable in every direction (Theorem 1's ball); 0 turns it off.")
    fidelity_every: int = Field(
        100, ge=0, description="Measure the gradient fidelity (actor-gradient and Jacobian cosine "
        "and relative error against the exact simulator) every K actor updates; 0 turns it off.")
    warn_below: float = Field(
        0.5, ge=-1, le=1, description="Warn when the actor-gradient cosine stays below this over "
        "the last `warn_checks` fidelity checks.")
    warn_checks: int = Field(5, ge=1, description="Fidelity checks the warning looks back over.")
    refit_every_update: bool = Field(
        False, description="Refit before every critic step (Algorithm 1 as written); false refits "
        "only before actor updates (half the qtDNN work at policy_delay 2).")
    index_gradient: bool = Field(
        False, description="Train the CZ-index neurons of the PreDNN through the surrogate "
        "(straight-through rounding; the paper's qtDNN sees all controls); false detaches them.")

    def resolved(self, qubits: int) -> QtDNNSettings:
        """These settings with every None replaced by the `prior`'s choice (BY_PRIOR)."""
        chosen = dict(BY_PRIOR[self.prior])
        chosen.setdefault("hidden", [2 ** (qubits + 1)])  # the paper's [2**(n+1)]
        return self.model_copy(update={k: v for k, v in chosen.items() if getattr(self, k) is None})


# What a None in [qtdnn] means, by prior: for mean-field the residual of the measured
# configs/pendulum-pqc-meanfield.toml (PreDNN-gradient cosine 0.84-0.89 at 20,000 steps; with the
# paper's fitting instead, [32] Leaky ReLU, no decay, 32 tiny batches of 32, a 6,000-step default
# run measured 0.799 over its second half, 0.917 with these); for none the paper's qtDNN.
BY_PRIOR: dict[str, dict[str, Any]] = {
    "mean-field": {"hidden": [128, 128], "activation": "gelu", "weight_decay": 0.05,
                   "n_tiny_batches": 4, "tiny_batch_size": 64},
    "none": {"activation": "leaky_relu", "weight_decay": 0.0, "n_tiny_batches": 32,
             "tiny_batch_size": 32},
}


class NetworkSettings(StrictModel):
    """Actor = PreDNN -> T-block -> PostDNN plus c-links; twin critics."""

    pre_hidden: list[int] = Field([64], description="PreDNN hidden widths (Leaky ReLU).")
    post_hidden: list[int] = Field([64], description="PostDNN hidden widths (Leaky ReLU).")
    critic_hidden: list[int] = Field([256, 256], description="Critic hidden widths.")
    critic_activation: Literal["relu", "leaky_relu"] = Field(
        "relu", description="Critic hidden activation: relu (CleanRL's) or leaky_relu (the paper's).")
    clinks: int = Field(4, ge=0, description="Classical links from PreDNN straight to PostDNN.")
    critic_action_layer: int = Field(
        0, ge=0, description="Critic layer where the action joins: 0 = input (CleanRL); 1 = after "
        "the first hidden layer (the paper's Table 2: [[376, 256], [273, 256, 1]]).")


class EvalSettings(StrictModel):
    """Evaluation: deterministic policy, real quantum layer on the provider."""

    episodes: int = Field(10, description="Episodes of the final (and periodic) evaluation; >= 1.")
    every_steps: int = Field(0, ge=0, description="Evaluate every N env steps during training; 0 = only at the end.")
    final: bool = Field(True, description="Evaluate once at the end (false: no final evaluation, "
                        "no evaluation return in the summary).")

    @field_validator("episodes")
    @classmethod
    def _some_episodes(cls, episodes: int) -> int:
        if episodes < 1:
            raise ValueError(f"{episodes} episodes cannot evaluate the policy; give 1 or more "
                             f"(to skip the final evaluation, set final = false instead)")
        return episodes


class LoopSettings(StrictModel):
    """How exploration and learning share the wall clock."""

    mode: Literal["async", "sync"] = Field(
        "async", description="async: explorer thread + learner concurrently; sync: act, wait, step, update.")
    max_policy_lag: int = Field(
        50, ge=1, description="Explorer refreshes its actor copy at least every N learner updates.")
    learner_pace: Literal["ratio", "free"] = Field(
        "ratio", description="ratio: the async learner holds td3.updates_per_step, waiting for "
        "data when it is ahead; when it falls behind, the explorer waits only past "
        "max_policy_lag and the summary says how far it fell. free: the learner updates as fast "
        "as it can, up to max_updates_per_transition (results then depend on the machine's speed "
        "and load). The sync loop always holds the ratio.")
    max_updates_per_transition: float = Field(
        4.0, gt=0, description="Cap: learner updates never exceed this x transitions collected "
        "(binds the free-running learner).")
    job_timeout_s: float = Field(3600.0, gt=0, description="Give up on one sampling job after this long.")
    checkpoint_every_steps: int = Field(
        5000, ge=1, description="Checkpoint every N env steps (or checkpoint_every_s, if sooner).")
    checkpoint_every_s: float = Field(
        300.0, gt=0, description="Checkpoint at least every this many seconds of wall time.")
    log_every_steps: int = Field(200, ge=1, description="metrics.jsonl row every N env steps.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Torch device of the networks.")
    cpus: int = Field(
        0, ge=0, description="Cores this run may use, as a sweep or a user sharing the machine "
        "gives them; 0 = $QHIL_CPUS, else $OMP_NUM_THREADS, else every core. Affinity (taskset) "
        "and a cgroup CPU quota cap it either way.")
    learner_threads: int = Field(
        0, ge=0, description="CPU threads of the learner's torch ops; 0 = the cores (`cpus`) less "
        "one for the async explorer thread, one for periodic evaluations and, in a qtdnn pqc run "
        "on 2 cores or more, one for the qtDNN refit (which runs beside the critic step), at "
        "least 1. The explorer, evaluation and refit threads (and the explorer's local simulator "
        "jobs) run one thread each.")


class DistributedSettings(StrictModel):
    """Several explorers feeding one learner (qhil.distributed, on Ray; needs qhil[ray])."""

    explorers: int = Field(
        1, ge=1, description="Explorer actors, each with its own environments, provider and "
        "ledger; 1 = the single-process loop.")
    providers: list[str] = Field(
        [], description="Provider per explorer (N names), or one shared; empty = `provider`.")
    max_policy_lag: int | None = Field(
        None, ge=1, description="Bound on the policy lag (learner updates between the weights a "
        "step acted with and the learner taking it): every call carries the newest weights and "
        "the learner waits rather than run further ahead of the oldest weights still acting; "
        "none = unbounded (the actor is sent every loop.max_policy_lag updates).")

    @model_validator(mode="after")
    def _one_or_each(self) -> DistributedSettings:
        n, given = self.explorers, len(self.providers)
        if given not in (0, 1, n):
            raise ValueError(f"{given} providers for {n} explorers: name one per explorer, or one shared")
        return self


class TrainConfig(StrictModel):
    """Everything that defines a training run (written as config.toml to the run folder)."""

    env: str = Field("Pendulum-v1", description="gymnasium environment id.")
    provider: str = Field("local", description="Provider profile name or .toml path.")
    block: Literal["pqc", "fc", "rbg", "zeros"] = Field("pqc", description="T-block: pqc, fc, rbg or zeros.")
    steps: int = Field(20_000, ge=1, description="Total environment steps (summed over envs).")
    num_envs: int = Field(1, ge=1, description="Vector environments; one sampling job per step carries all.")
    seed: int = Field(0, ge=0, description="Seed of networks, environments, noise and shots.")
    quantum: QuantumSettings = Field(default_factory=QuantumSettings, description="PQC settings.")
    td3: TD3Settings = Field(default_factory=TD3Settings, description="TD3 settings.")
    qtdnn: QtDNNSettings = Field(default_factory=QtDNNSettings, description="qtDNN settings.")
    network: NetworkSettings = Field(default_factory=NetworkSettings, description="Network sizes.")
    eval: EvalSettings = Field(default_factory=EvalSettings, description="Evaluation settings.")
    loop: LoopSettings = Field(default_factory=LoopSettings, description="Loop settings.")
    distributed: DistributedSettings = Field(
        default_factory=DistributedSettings, description="Explorer actors (qhil.distributed).")

    def with_overrides(self, **flat: Any) -> TrainConfig:
        """A copy with dotted keys replaced ("td3.batch_size": 64); None values are ignored."""
        data = self.model_dump()
        for key, value in flat.items():
            if value is None:
                continue
            *parents, leaf = key.split(".")
            node = data
            for part in parents:
                node = node[part]
            node[leaf] = value
        return parse_train_config(data, Path("<flags>"))

    def qtdnn_settings(self) -> QtDNNSettings:
        """[qtdnn] with the prior's choice wherever the config leaves None."""
        return self.qtdnn.resolved(self.quantum.qubits)

    def qtdnn_hidden(self) -> list[int]:
        return self.qtdnn_settings().hidden


def parse_train_config(data: dict[str, Any], source: Path) -> TrainConfig:
    try:
        return TrainConfig(**data)
    except ValidationError as exc:
        raise ConfigError(validation_message(source, exc)) from None


def load_train_config(path: str | Path) -> TrainConfig:
    """Load and validate a training config; a bad field is a ConfigError naming file and field."""
    path = Path(path)
    return parse_train_config(load_toml(path), path)


def dump_toml(config: TrainConfig) -> str:
    """The config as TOML (None values left out, so the file loads back to the same config)."""
    return toml_text(config.model_dump())
