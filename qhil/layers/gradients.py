"""Gradient methods of the quantum layer: how d(marginals)/d(angles) reaches the PreDNN.

    qtdnn            the surrogate's Jacobian (the paper's method; no circuit)
    parameter-shift  (f(x + pi/2 e_k) - f(x - pi/2 e_k)) / 2 for every angle k: 2 * angle_dim
                     circuits per sample, plus the centre circuit that gives the forward value
    spsa             one random +-1 direction D per sample: (f(x + cD) - f(x - cD)) / 2c x D,
                     2 circuits per sample plus the centre
    exact            autograd through the embedded simulator's exact marginals (the oracle)

Every method keeps the forward value of the layer: `with_jacobian(y, J, x)` returns y and, in the
backward pass, hands J^T dL/dy to the angle columns of x. Circuit counts per sample are the
`circuits_per_sample` of each method, the same numbers the cost model uses.
"""

from __future__ import annotations

import math

import torch

from qhil.names import GRADIENTS  # noqa: F401  (one home; re-exported for the layer's users)

SHIFT = math.pi / 2


def circuits_per_sample(method: str, angle_dim: int) -> int:
    """Circuits the learner sends per sample per actor update (the centre circuit included)."""
    return {"qtdnn": 0, "exact": 1, "parameter-shift": 2 * angle_dim + 1, "spsa": 3}[method]


def shifted_controls(controls: torch.Tensor, angle_cols: torch.Tensor) -> torch.Tensor:
    """(B, dim) -> (B, 1 + 2d, dim): the centre, then +pi/2 and -pi/2 on each angle column."""
    batch, d = controls.shape[0], len(angle_cols)
    eye = torch.zeros(d, controls.shape[1], dtype=controls.dtype, device=controls.device)
    eye[torch.arange(d), angle_cols] = SHIFT
    shifts = torch.cat([torch.zeros_like(eye[:1]), eye, -eye])
    return controls.detach()[:, None, :] + shifts[None].expand(batch, -1, -1)


def shift_jacobian(marginals: torch.Tensor, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Marginals (B, 1 + 2d, n) of `shifted_controls` -> centre (B, n), Jacobian (B, n, d)."""
    centre, plus, minus = marginals[:, 0], marginals[:, 1:1 + d], marginals[:, 1 + d:]
    return centre, ((plus - minus) / 2).transpose(1, 2)


def spsa_directions(batch: int, d: int, generator: torch.Generator) -> torch.Tensor:
    """(B, d) Rademacher directions, seeded."""
    bits = torch.randint(0, 2, (batch, d), generator=generator, device=generator.device)
    return bits.to(torch.float32) * 2 - 1


def spsa_controls(controls: torch.Tensor, angle_cols: torch.Tensor, directions: torch.Tensor,
                  step: float) -> torch.Tensor:
    """(B, dim) -> (B, 3, dim): the centre, x + c D and x - c D on the angle columns."""
    delta = torch.zeros_like(controls)
    delta[:, angle_cols] = step * directions.to(controls)
    x = controls.detach()
    return torch.stack([x, x + delta, x - delta], dim=1)


def spsa_jacobian(marginals: torch.Tensor, directions: torch.Tensor,
                  step: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Marginals (B, 3, n) of `spsa_controls` -> centre (B, n), rank-1 Jacobian (B, n, d)."""
    slope = (marginals[:, 1] - marginals[:, 2]) / (2 * step)
    return marginals[:, 0], slope[:, :, None] * directions.to(slope)[:, None, :]


class _WithJacobian(torch.autograd.Function):
    """Value y (B, n); backward: grad_x[:, cols] = J^T grad_y, zero on the other columns."""

    @staticmethod
    def forward(ctx, x, y, jacobian, cols):  # type: ignore[override]
        ctx.save_for_backward(jacobian, cols)
        ctx.x_shape = x.shape
        return y.to(x.dtype).clone()

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        jacobian, cols = ctx.saved_tensors
        grad_x = grad.new_zeros(ctx.x_shape)
        grad_x[:, cols] = torch.einsum("bn,bnd->bd", grad, jacobian.to(grad))
        return grad_x, None, None, None


def with_jacobian(x: torch.Tensor, y: torch.Tensor, jacobian: torch.Tensor,
                  cols: torch.Tensor) -> torch.Tensor:
    """The layer's output y, differentiable w.r.t. x through the given Jacobian (B, n, d)."""
    return _WithJacobian.apply(x, y.detach(), jacobian.detach(), cols)
