"""The pqc T-block as the learner sees it, one strategy per gradient method.

    target(q_in)  value of the T-block for the critic's target action (no gradient)
    actor(q_in)   value of the T-block in the actor update, differentiable w.r.t. q_in
    jacobian()    the Jacobian (B, n, angle_dim) the last actor update used

`SurrogateBlock` (qtdnn) is the paper's: the qtDNN gives both value and Jacobian and no circuit
is sent. `CircuitBlock` (parameter-shift, spsa, exact) has no surrogate: values are the
provider's sampled marginals (jobs through the run's Dispatcher, on the learner's own sampler),
and the Jacobian comes from shifted circuits, SPSA pairs, or autograd through the embedded
simulator's exact marginals. The learner waits for those jobs: that is their cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from qhil.layers import gradients as grads
from qhil.layers.hdqnn import exact_jacobian, exact_marginals, straight_through, surrogate_jacobian
from qhil.quantum.simulator import BatchedSimulator
from qhil.rl.hardware import HardwareSampler
from qhil.rl.networks import Actor


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """Graphs built inside do not reach the module's parameters (requires_grad off, then back)."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


class SurrogateBlock:
    """qtdnn: the live actor's qtDNN stands in for the PQC (A_qt), values and gradients."""

    method = "qtdnn"

    def __init__(self, actor: Actor):
        self.live = actor
        self.last_controls: torch.Tensor | None = None

    def target(self, q_in: torch.Tensor) -> torch.Tensor:
        return self.live.quantum(q_in, None)

    def actor(self, q_in: torch.Tensor) -> torch.Tensor:
        """The qtDNN on the actor's controls, differentiable in q_in only: its own weights are
        the refit's business, so the actor's backward skips their (batch-sized) gradients."""
        self.last_controls = q_in.detach()
        with frozen(self.live.quantum):
            return self.live.quantum(q_in, None)

    def jacobian(self) -> torch.Tensor:
        cols = self.live.control_map.angle_columns()
        return surrogate_jacobian(self.live.quantum.qtdnn, self.last_controls, cols)


class CircuitBlock:
    """parameter-shift, spsa or exact: the provider's marginals forward, the method's Jacobian."""

    def __init__(self, method: str, actor: Actor, sampler: HardwareSampler, sim: BatchedSimulator,
                 generator: torch.Generator, spsa_step: float):
        self.method, self.live, self.sampler, self.sim = method, actor, sampler, sim
        self.generator, self.spsa_step = generator, spsa_step
        self.last_controls: torch.Tensor | None = None
        self._jacobian: torch.Tensor | None = None

    def _sample(self, controls: torch.Tensor, purpose: str) -> torch.Tensor:
        flat = controls.detach().reshape(-1, controls.shape[-1]).cpu().numpy()
        marginals = torch.from_numpy(self.sampler.sample(flat, purpose)).to(controls)
        return marginals.reshape(*controls.shape[:-1], -1)

    def target(self, q_in: torch.Tensor) -> torch.Tensor:
        return self._sample(q_in, "learner-target")

    def actor(self, q_in: torch.Tensor) -> torch.Tensor:
        cols = self.live.control_map.angle_columns().to(q_in.device)
        if self.method == "exact":
            y_hw = self._sample(q_in, "learner-actor")
            self.last_controls, self._jacobian = q_in.detach(), None
            return straight_through(y_hw, exact_marginals(self.sim, self.live.ansatz, q_in))
        centre, jac = self._estimate(q_in, cols)
        self.last_controls, self._jacobian = q_in.detach(), jac
        return grads.with_jacobian(q_in, centre, jac, cols)

    def _estimate(self, q_in: torch.Tensor, cols: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.method == "parameter-shift":
            marginals = self._sample(grads.shifted_controls(q_in, cols), "learner-gradient")
            return grads.shift_jacobian(marginals, len(cols))
        directions = grads.spsa_directions(len(q_in), len(cols), self.generator).to(q_in.device)
        controls = grads.spsa_controls(q_in, cols, directions, self.spsa_step)
        return grads.spsa_jacobian(self._sample(controls, "learner-gradient"), directions,
                                   self.spsa_step)

    def jacobian(self) -> torch.Tensor:
        if self._jacobian is not None:
            return self._jacobian
        cols = self.live.control_map.angle_columns()
        q_in = self.last_controls
        return exact_jacobian(self.sim, self.live.ansatz, q_in, cols).to(q_in)
