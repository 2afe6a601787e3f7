"""The learner: builds the agent and runs TD3 updates from the replay buffer.

It calls a provider only through a gradient method that needs one (parameter-shift, spsa,
exact: their circuits go through the run's Dispatcher on the learner's own sampler); qtdnn, the
paper's method, sends nothing. A learner that sends jobs keeps a record in the run's journal
(`attach_journal`): each update's minibatch rows before its jobs, its request hashes after.
Restored from a checkpoint, it replays the updates recorded since from the same rows, so it asks
the same questions and the ledger answers them: nothing is bought twice after a kill. Every
`fidelity_every` actor updates it measures the gradient that reaches the PreDNN against the exact
simulator's (qhil.rl.fidelity), for every method but exact.
"""

from __future__ import annotations

import numpy as np
import torch

from qhil.layers.hdqnn import QtDNNTrainer
from qhil.quantum.simulator import Simulator
from qhil.rl.buffers import PairBuffer, ReplayBuffer, ReplaySamples, samples_of
from qhil.rl.config import TrainConfig
from qhil.rl.fidelity import FidelityLog, GradientCheck
from qhil.rl.journal import Journal
from qhil.rl.networks import Actor, Critic
from qhil.rl.qblock import block_for
from qhil.rl.sampler import HardwareSampler
from qhil.rl.td3 import TD3

# the exact reference (or, off an ideal simulator, its shadow) simulates the minibatch's circuits
# with autograd: past this width it would cost more than the update it checks
SHADOW_MAX_QUBITS = 14


def build_td3(config: TrainConfig, obs_dim: int, act_dim: int, low: np.ndarray,
              high: np.ndarray, device: torch.device,
              learner_sampler: HardwareSampler | None = None) -> TD3:
    """Actor, twin critics, targets, optimisers and the pqc block's gradient method (seeded)."""
    torch.manual_seed(config.seed)
    actor = Actor(config, obs_dim, act_dim, torch.as_tensor(low, dtype=torch.float32),
                  torch.as_tensor(high, dtype=torch.float32)).to(device)
    net = config.network
    qf1, qf2 = (Critic(obs_dim, act_dim, net.critic_hidden, net.critic_action_layer,
                       net.critic_activation).to(device) for _ in range(2))
    q, method = config.qtdnn_settings(), config.quantum.gradient
    surrogate = config.block == "pqc" and method == "qtdnn"
    trainer = (QtDNNTrainer(actor.quantum.qtdnn, q.lr, q.n_tiny_batches, q.tiny_batch_size,
                            q.weight_decay, q.refit_every_update) if surrogate else None)
    return TD3(actor, qf1, qf2, config.td3, trainer, learner_block(config, actor, learner_sampler))


def learner_block(config: TrainConfig, actor: Actor, sampler: HardwareSampler | None):
    """The learner's pqc T-block for the config's gradient method (None for classical blocks).
    Without a sampler (networks only: `qhil evaluate`, `load_policy`, `--resume`'s size check)
    the qtdnn block stands in: nothing trains, so no method's jobs are needed."""
    method = config.quantum.gradient
    if config.block != "pqc":
        return None
    if method == "qtdnn" or sampler is None:
        return block_for(actor)
    device = next(actor.parameters()).device
    sim = Simulator(config.quantum.qubits, device=device)
    generator = torch.Generator(device=device).manual_seed(config.seed + 3)
    return block_for(actor, method, sampler, sim, generator, config.quantum.spsa_step)


class Learner:
    """Samples minibatches, refits the surrogate, updates critics and actor, measures fidelity."""

    def __init__(self, config: TrainConfig, td3: TD3, replay: ReplayBuffer, pairs: PairBuffer,
                 device: torch.device):
        self.config, self.td3 = config, td3
        self.replay, self.pairs = replay, pairs
        self.device = device
        self.rng = np.random.default_rng(config.seed + 1)
        self.generator = torch.Generator(device=device).manual_seed(config.seed + 2)
        # The exact reference the method's gradient is scored against, in complex64: at 10 x 10
        # its figures measured within 7e-8 of complex128's (tests/rl/test_gradient_methods.py) at
        # about 1/3 the CPU time (one thread, batch 256: the VJP 0.08 s against 0.29 s, the
        # Jacobian of 64 samples 0.12 s against 0.31 s).
        measured = (config.block == "pqc" and config.quantum.gradient != "exact"
                    and config.quantum.qubits <= SHADOW_MAX_QUBITS)
        self.sim = (Simulator(config.quantum.qubits, device=device, precision="complex64")
                    if measured and config.qtdnn.fidelity_every else None)
        self.last: dict[str, float] = {}
        self.fidelity = GradientCheck(td3, self.sim) if self.sim is not None else None
        self.fidelity_log = FidelityLog(config.qtdnn.warn_below, config.qtdnn.warn_checks)
        self.journal: Journal | None = None
        self.sampler: HardwareSampler | None = None
        self.replay_until = 0  # updates up to this one are recorded: replayed, not drawn
        self.replayed = self.replay_mismatches = 0
        self.marks: list[tuple[int, int]] = []  # (step, updates) of the kept checkpoints

    def attach_journal(self, journal: Journal, sampler: HardwareSampler) -> None:
        """Record each update in `journal` (and replay those recorded beyond the checkpoint)."""
        self.journal, self.sampler = journal, sampler
        self.replay_until = journal.last_recorded_update()

    @property
    def updates(self) -> int:
        return self.td3.updates

    def update(self) -> dict[str, float]:
        """One TD3 update (surrogate refit, critic, actor) from a replay minibatch."""
        number = self.td3.updates + 1
        batch, recorded = self._minibatch(number)
        inspect = self.fidelity.inspect if self._fidelity_due() else None
        logs = self.td3.update(batch, self._refit_pairs(batch), self.generator, inspect)
        self._note_requests(number, recorded)
        if "surrogate/grad_cosine" in logs:
            self.fidelity_log.add(logs)
        self.last.update(logs)
        return logs

    def _minibatch(self, number: int) -> tuple[ReplaySamples, list[str] | None]:
        """Update `number`'s minibatch: the recorded one (and its requests) when it is replayed,
        else drawn from the replay, and recorded first when the learner keeps a journal."""
        size = self.config.td3.batch_size
        if self.journal is None:
            return self.replay.sample(size, self.rng, self.device), None
        if number <= self.replay_until:
            recorded = self.journal.recorded_update(number)
            if recorded is not None:
                return samples_of(self.journal.transitions_at(recorded[0]), self.device), recorded[1]
        rows, numbers = self.replay.sample_indexed(size, self.rng)
        self.journal.record_update(number, numbers)
        return samples_of(rows, self.device), None

    def _note_requests(self, number: int, recorded: list[str] | None) -> None:
        """The update's request hashes into the journal; a replayed update's are compared."""
        if self.journal is None:
            return
        sent, self.sampler.sent = self.sampler.sent, []
        if recorded is None:
            self.journal.update_requests(number, sent)
            return
        self.replayed += 1  # recorded as [] when the kill came before the update finished
        self.replay_mismatches += bool(recorded) and sent != recorded
        if sent != recorded:
            self.journal.update_requests(number, sent)

    def marks_with(self, step: int, keep: int) -> list[tuple[int, int]]:
        """The kept checkpoints' (step, updates) with one at `step` now, newest last."""
        marks = [m for m in self.marks if m[0] != step] + [(step, self.td3.updates)]
        return marks[-keep:]

    def forget_unreplayable(self) -> list[str]:
        """Drop the records of updates no kept checkpoint replays; their request hashes."""
        if self.journal is None or not self.marks:
            return []
        return self.journal.forget_updates(min(updates for _, updates in self.marks))

    def _fidelity_due(self) -> bool:
        """Is the coming update an actor update whose number is 1 modulo fidelity_every?"""
        every, delay = self.config.qtdnn.fidelity_every, self.config.td3.policy_delay
        coming = self.td3.updates + 1
        if self.fidelity is None or coming % delay != 0:
            return False
        return (coming // delay) % every == 1 % every

    def _refit_pairs(self, batch: ReplaySamples) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The minibatch's (q_i, q_o) plus recent pairs from the qtDNN buffer (recent_fraction)."""
        if self.td3.qtdnn is None:
            return None
        share = self.config.qtdnn.recent_fraction
        extra = round(len(batch.q_in) * share / max(1e-9, 1 - share)) if share < 1 else len(batch.q_in)
        if self.pairs.size == 0 or extra == 0:
            return batch.q_in, batch.q_out
        q_in, q_out = self.pairs.sample(extra, self.rng, self.device)
        return torch.cat([batch.q_in, q_in]), torch.cat([batch.q_out, q_out])
