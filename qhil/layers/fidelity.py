"""The one gradient-fidelity measure: how close a delivered gradient is to the exact one.

    grad_cosine         cos(g, g_exact) of the gradient that reached the parameters
    grad_rel_error      ||g - g_exact|| / ||g_exact||  (Theorem 1's quantity)
    jacobian_cosine     cos(J, J_exact) per sample (J = d outputs / d angles), mean
    jacobian_rel_error  ||J - J_exact|| / ||J_exact|| per sample, mean
    pqc_grad_cosine     cos(J^T v, J_exact^T v) over the Jacobian's samples, v the loss's gradient at
                        the circuit's outputs: the gradient the circuit alone passes back (a path
                        beside it, such as hDQNN's c-links, is exact for every method and would
                        otherwise carry grad_cosine on its own)

`qhil.QuantumLayer(track_fidelity=True)` records one per backward pass (the gradient figures),
the hDQNN learner one per `fidelity_every` actor updates (all four, qhil.rl.fidelity).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Fidelity:
    """One measurement of a delivered gradient against the exact one."""

    grad_cosine: float
    grad_rel_error: float
    jacobian_cosine: float | None = None
    jacobian_rel_error: float | None = None
    pqc_grad_cosine: float | None = None

    def figures(self) -> dict[str, float]:
        """The measured figures as metrics keys (surrogate/<figure>)."""
        return {f"surrogate/{k}": v for k, v in asdict(self).items() if v is not None}


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """cos(a, b) along the last dimension, mean over the others."""
    return nn.functional.cosine_similarity(a, b, dim=-1, eps=1e-12).mean().item()


def rel_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / ||b|| along the last dimension, mean over the others."""
    return ((a - b).norm(dim=-1) / b.norm(dim=-1).clamp_min(1e-12)).mean().item()


def fidelity(g: torch.Tensor, g_exact: torch.Tensor, jac: torch.Tensor | None = None,
             jac_exact: torch.Tensor | None = None, upstream: torch.Tensor | None = None) -> Fidelity:
    """Gradients flattened to vectors; Jacobians (B, outputs, ...) compared per sample; with
    `upstream` (B, outputs), the gradient at the outputs, also the circuit's own VJP figure."""
    g, g_exact = g.flatten().double(), g_exact.flatten().double()
    if jac is None or jac_exact is None:
        return Fidelity(cosine(g, g_exact), rel_error(g, g_exact))
    pqc = None if upstream is None else cosine(vjp(upstream, jac).flatten(),
                                               vjp(upstream, jac_exact).flatten())
    jac, jac_exact = jac.flatten(1).to(jac_exact).double(), jac_exact.flatten(1).double()
    return Fidelity(cosine(g, g_exact), rel_error(g, g_exact),
                    cosine(jac, jac_exact), rel_error(jac, jac_exact), pqc)


def vjp(upstream: torch.Tensor, jac: torch.Tensor) -> torch.Tensor:
    """v^T J per sample: (B, outputs) x (B, outputs, ...) -> (B, ...), in float64."""
    v = upstream[: len(jac)].double().reshape(len(jac), jac.shape[1], *([1] * (jac.dim() - 2)))
    return (v * jac.double()).sum(dim=1)
