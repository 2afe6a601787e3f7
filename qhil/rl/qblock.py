"""The pqc T-block as the learner sees it: one gradient strategy (qhil.layers.gradients) over
the actor's hDQNN circuit.

    target(q_in)  value of the T-block for the critic's target action (no gradient)
    actor(q_in)   value of the T-block in the actor update, differentiable w.r.t. q_in
    jacobian()    the Jacobian (B, n, angle_dim) the last actor update used (or its first rows)

qtdnn is the paper's: the live actor's qtDNN gives both value and Jacobian and no circuit is
sent. parameter-shift, spsa and exact have no surrogate: values are the provider's sampled
marginals (jobs through the run's Dispatcher, on the learner's own sampler), and the Jacobian
comes from shifted circuits, SPSA pairs, or autograd through the embedded simulator's exact
marginals. The learner waits for those jobs: that is their cost.
"""

from __future__ import annotations

import torch

from qhil.layers.gradients import Strategy, strategy
from qhil.layers.hdqnn import AnsatzCircuit
from qhil.quantum.simulator import Simulator
from qhil.rl.networks import Actor
from qhil.rl.sampler import HardwareSampler


class LearnerBlock:
    """A gradient strategy over the live actor's circuit (its angle columns differentiable)."""

    def __init__(self, actor: Actor, method: Strategy, circuit: AnsatzCircuit):
        self.live, self.strategy, self.circuit = actor, method, circuit
        self.method = method.name
        self.last_controls: torch.Tensor | None = None

    def target(self, q_in: torch.Tensor) -> torch.Tensor:
        return self.strategy.value(q_in, self.circuit)

    def actor(self, q_in: torch.Tensor) -> torch.Tensor:
        self.last_controls = q_in.detach()
        return self.strategy.apply(q_in, self.circuit)

    def jacobian(self, rows: int | None = None) -> torch.Tensor:
        """The Jacobian the last actor update used, of its first `rows` samples (None: all); a
        method that computes it per sample computes only those rows."""
        x = self.last_controls if rows is None else self.last_controls[:rows]
        jac = self.strategy.jacobian(x, self.circuit)
        return jac if rows is None else jac[:rows]

    @property
    def sends_jobs(self) -> bool:
        """Whether the method asks the provider (every one but qtdnn)."""
        return self.method != "qtdnn"

    def rng_state(self) -> torch.Tensor | None:
        """The state of the method's own random draws (SPSA's directions), for checkpoints."""
        generator = getattr(self.strategy, "generator", None)
        return None if generator is None else generator.get_state()

    def set_rng_state(self, state: torch.Tensor | None) -> None:
        generator = getattr(self.strategy, "generator", None)
        if generator is not None and state is not None:
            generator.set_state(state)


def block_for(actor: Actor, method: str = "qtdnn", sampler: HardwareSampler | None = None,
                  sim: Simulator | None = None, generator: torch.Generator | None = None,
                  spsa_step: float = 0.1) -> LearnerBlock:
    """The block of a gradient method; every method but qtdnn needs the learner's sampler."""
    if method != "qtdnn" and sampler is None:
        raise ValueError(f"gradient {method!r} needs the learner's sampler")
    cols = actor.control_map.angle_columns()
    circuit = AnsatzCircuit(actor.ansatz, cols, sampler.sample if sampler else None, sim)
    return LearnerBlock(actor, strategy(method, qtdnn=actor.quantum.qtdnn, generator=generator,
                                        spsa_step=spsa_step), circuit)
