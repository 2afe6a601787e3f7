"""What a training run asks of the quantum processor: the `Workload` half of the cost model.

A workload is the ansatz (qubits, layers, entangler), the minibatch and shots, and how many
environment steps, updates and evaluation steps the run takes. `Workload.from_train_config`
reads the same TOML file as `qhil train`, through the same `TrainConfig` (same defaults, same
validation), and counts with the loop's own `Schedule`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qhil.errors import ConfigError
from qhil.quantum.ansatz import ENTANGLERS, HDQNNAnsatz

if TYPE_CHECKING:
    from qhil.rl.config import TrainConfig

ShiftControls = Literal["all", "angles"]


@dataclass(frozen=True)
class Workload:
    """A training run's demand on the QPU (all counts are totals over the run).

    Attributes:
        n_qubits, n_layers, entangler: the hDQNN ansatz.
        batch_size: minibatch N_b of each update.
        shots: shots S per circuit.
        env_steps: vector-environment steps that sample the PQC (one job each).
        num_envs: environments stepped together (circuits per exploration job).
        updates: learner updates (critic updates) over the run.
        policy_delay: one actor update every this many updates (TD3's d).
        eval_episodes: evaluation episodes over the whole run.
        eval_steps_per_episode: steps per evaluation episode (an upper bound: the step limit).
        eval_batch: evaluation episodes run side by side (circuits per evaluation job).
        circuit_depth: gate steps of the transpiled circuit, when known; scales the logical
            ansatz duration by circuit_depth / logical depth.
        shift_controls: parameter-shift over "all" controls (the paper's count: 220 for
            10 x 10 with the data entangler) or only the differentiable "angles" (200).
        learner_forward: also count the forward circuits a learner without a surrogate needs
            (N_b per update for the target actor, N_b per actor update); the paper does not.
        pqc: False for a classical T-block (fc, rbg, zeros): no circuit at all.
        explorers: explorer actors stepping side by side ([distributed] explorers), each
            sending its share of the exploration jobs to its own device or session.
    """

    n_qubits: int
    n_layers: int
    entangler: str = "data"
    batch_size: int = 256
    shots: int = 100
    env_steps: int = 0
    num_envs: int = 1
    updates: int = 0
    policy_delay: int = 1
    eval_episodes: int = 0
    eval_steps_per_episode: int = 0
    eval_batch: int = 1
    circuit_depth: int | None = None
    shift_controls: ShiftControls = "all"
    learner_forward: bool = False
    pqc: bool = True
    explorers: int = 1

    def __post_init__(self) -> None:
        for name in ("n_qubits", "n_layers", "batch_size", "shots", "num_envs", "policy_delay",
                     "eval_batch", "explorers"):
            _require(getattr(self, name) >= 1, f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("env_steps", "updates", "eval_episodes", "eval_steps_per_episode"):
            _require(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)}")
        _require(self.entangler in ENTANGLERS,
                 f"entangler must be one of {', '.join(ENTANGLERS)}, got {self.entangler!r}")
        _require(self.shift_controls in ("all", "angles"),
                 f"shift_controls must be 'all' or 'angles', got {self.shift_controls!r}")
        _require(self.circuit_depth is None or self.circuit_depth >= 1,
                 f"circuit_depth must be at least 1, got {self.circuit_depth}")

    @property
    def ansatz(self) -> HDQNNAnsatz:
        return HDQNNAnsatz(self.n_qubits, self.n_layers, self.entangler)

    @property
    def actor_updates(self) -> int:
        """Actor (policy) updates: one every `policy_delay` updates, rounded up."""
        return -(-self.updates // self.policy_delay)

    @property
    def shifted_controls(self) -> int:
        """Controls parameter-shift differentiates (two circuits each per sample)."""
        ansatz = self.ansatz
        return ansatz.control_dim if self.shift_controls == "all" else ansatz.angle_dim

    @property
    def eval_steps(self) -> int:
        """Episode steps of every evaluation episode (circuits evaluation needs)."""
        return self.eval_episodes * self.eval_steps_per_episode

    @property
    def eval_jobs(self) -> int:
        """Evaluation jobs: one per step of each group of `eval_batch` side-by-side episodes."""
        return -(-self.eval_episodes // self.eval_batch) * self.eval_steps_per_episode

    def with_overrides(self, **changes: Any) -> Workload:
        """A copy with the given fields replaced; None values are ignored."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_train_config(cls, path: str | Path) -> Workload:
        """The workload of a `qhil train` config file (validated as `qhil train` does)."""
        from qhil.rl.config import load_train_config

        return cls.from_train(load_train_config(path))

    @classmethod
    def from_train(cls, config: TrainConfig) -> Workload:
        """As `qhil train` runs it (`Schedule`): one job per vector step (random actions before
        learning_starts still sample the PQC: their pairs feed the qtDNN; N explorers share
        the same vector steps), the loop's updates,
        evaluation episodes side by side (one job per step) every `every_steps` and at the end.
        As `--gradient parameter-shift|spsa` runs: only the angles have a shift rule (the CZ
        indices are discrete), and without a surrogate the learner's target and actor values
        are circuits too."""
        from qhil.rl.schedule import Schedule

        schedule, q = Schedule.of(config), config.quantum
        return cls(
            n_qubits=q.qubits, n_layers=q.layers, entangler=q.entangler,
            batch_size=config.td3.batch_size, policy_delay=config.td3.policy_delay,
            shots=q.shots, env_steps=schedule.vector_steps, num_envs=config.num_envs,
            updates=schedule.updates, eval_episodes=config.eval.episodes * schedule.evaluations,
            eval_batch=max(1, config.eval.episodes),
            eval_steps_per_episode=episode_steps(config.env), pqc=config.block == "pqc",
            shift_controls="angles", learner_forward=True,
            explorers=config.distributed.explorers)


def episode_steps(env_id: str) -> int:
    """An environment's step limit per episode (gymnasium's registry), 1000 when unknown."""
    try:
        import gymnasium

        limit = gymnasium.spec(env_id).max_episode_steps
    except Exception:  # unknown id, or gymnasium absent: a conservative default
        return 1000
    return int(limit or 1000)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)
