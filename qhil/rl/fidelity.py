"""Gradient fidelity: does the gradient that reaches the PreDNN match the exact one?

At an actor update, before its step (`GradientCheck.inspect(loss, obs)`), for the method in use,
the one `Fidelity` of qhil.layers.fidelity:
    surrogate/grad_cosine        cos(g, g_exact), g = d(actor loss)/d(PreDNN parameters) as the
                                 update applies it, g_exact the same through the exact marginals
                                 (value and Jacobian) of the embedded simulator
    surrogate/grad_rel_error     ||g - g_exact|| / ||g_exact||  (Theorem 1's quantity)
    surrogate/jacobian_cosine    cos(J, J_exact) per sample (J = d marginals / d angles), mean
    surrogate/jacobian_rel_error ||J - J_exact|| / ||J_exact|| per sample, mean
    surrogate/pqc_grad_cosine    cos(J^T v, J_exact^T v) over those samples, v = d(actor loss)/d(the
                                 block's outputs): the PQC's share of the PreDNN gradient, which
                                 the c-links (exact for every method) cannot mask
On a provider that is not an ideal simulator the exact reference is a *shadow*: the ideal
circuit simulated at the same controls, which the summary says. `FidelityLog` keeps every check
and summarises it: median over the second half of the run's checks and the last value, and a
warning when the gradient cosine stays below `warn_below` over the last `warn_checks` checks.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

import torch
from torch import nn

from qhil.layers.fidelity import fidelity
from qhil.layers.hdqnn import exact_marginals_and_jacobian
from qhil.quantum.simulator import Simulator
from qhil.rl.summary import FidelitySummary

FIGURES = ("grad_cosine", "grad_rel_error", "jacobian_cosine", "jacobian_rel_error",
           "pqc_grad_cosine")
JACOBIAN_SAMPLES = 64
ADVICE = ("try [qtdnn] prior = \"mean-field\" (the circuit's mean-field simulation plus a learned "
          "residual), or features = \"trig\" with a wider hidden and control_noise 0.2-0.3; or "
          "compare with --gradient parameter-shift (or exact on a simulator)")


def pre_parameters(actor: nn.Module) -> list[nn.Parameter]:
    return list(actor.pre.parameters())


class GradientCheck:
    """Measures one actor update's gradient against the exact simulator's.

    The exact side is one adjoint walk (`exact_marginals_and_jacobian`): the marginals of the
    minibatch, the Jacobian of its first JACOBIAN_SAMPLES samples (one bra per qubit), whose
    VJP is read from that Jacobian, and one VJP bra for each other sample. The method's Jacobian
    is computed for those samples only."""

    def __init__(self, td3, sim: Simulator):
        self.td3, self.sim = td3, sim

    def inspect(self, loss: torch.Tensor, obs: torch.Tensor) -> dict[str, float]:
        """The `Fidelity` of this update, as metrics figures (surrogate/<figure>)."""
        params = pre_parameters(self.td3.actor)
        g = _flat(torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True), params)
        exact_loss, jac_exact, y = self.exact_loss_and_jacobian(obs)
        *grads, upstream = torch.autograd.grad(exact_loss, [*params, y], allow_unused=True)
        g_exact = _flat(tuple(grads), params)
        jac = self.td3.block.jacobian(JACOBIAN_SAMPLES)
        return fidelity(g, g_exact, jac, jac_exact, upstream).figures()

    def exact_loss_and_jacobian(self, obs: torch.Tensor
                                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The actor loss through the exact marginals, the exact Jacobian (JACOBIAN_SAMPLES, n,
        angle_dim) at the same controls (the last actor update's: same actor, same obs), and
        those marginals (B, n), in the loss's graph."""
        actor = self.td3.actor
        q_in, clinks = actor.controls(obs)
        y, jac = exact_marginals_and_jacobian(self.sim, actor.ansatz, q_in, JACOBIAN_SAMPLES)
        return -self.td3.qf1(obs, actor.finish(y, clinks)).mean(), jac, y


def _flat(grads: tuple[torch.Tensor | None, ...], params: list[nn.Parameter]) -> torch.Tensor:
    return torch.cat([(g if g is not None else torch.zeros_like(p)).flatten()
                      for g, p in zip(grads, params, strict=True)]).double()


@dataclass
class FidelityLog:
    """Every fidelity check of a run (kept in checkpoints), its summary and its warning."""

    warn_below: float = 0.5
    warn_checks: int = 5
    reference: str = "exact"
    rows: list[dict[str, float]] = field(default_factory=list)

    def add(self, figures: dict[str, float]) -> None:
        self.rows.append({k.split("/")[-1]: v for k, v in figures.items()
                          if k.split("/")[-1] in FIGURES})

    def values(self, name: str) -> list[float]:
        return [r[name] for r in self.rows if r.get(name) is not None]

    def median(self, name: str) -> float | None:
        """The median over the second half of the checks (the first half is warm-up)."""
        half = self.values(name)[len(self.values(name)) // 2:]
        return statistics.median(half) if half else None

    def latest(self, name: str) -> float | None:
        values = self.values(name)
        return values[-1] if values else None

    def summary(self) -> FidelitySummary:
        """The summary's fidelity figures: surrogate_<figure> (median over the second half),
        surrogate_<figure>_last."""
        m, last = self.median, self.latest
        return FidelitySummary(
            fidelity_checks=len(self.rows), fidelity_reference=self.reference if self.rows else None,
            surrogate_grad_cosine=m("grad_cosine"), surrogate_grad_cosine_last=last("grad_cosine"),
            surrogate_grad_rel_error=m("grad_rel_error"),
            surrogate_grad_rel_error_last=last("grad_rel_error"),
            surrogate_jacobian_cosine=m("jacobian_cosine"),
            surrogate_jacobian_cosine_last=last("jacobian_cosine"),
            surrogate_jacobian_rel_error=m("jacobian_rel_error"),
            surrogate_jacobian_rel_error_last=last("jacobian_rel_error"),
            surrogate_pqc_grad_cosine=m("pqc_grad_cosine"),
            surrogate_pqc_grad_cosine_last=last("pqc_grad_cosine"))

    def warning(self) -> str | None:
        """One line when the gradient cosine, or the PQC's own share of it (which c-links cannot
        mask), stayed below warn_below over the last checks."""
        for name, what in (("grad_cosine", "actor-gradient cosine"),
                           ("pqc_grad_cosine", "cosine of the gradient through the PQC")):
            recent = self.values(name)[-self.warn_checks:]
            if len(recent) == self.warn_checks and max(recent) < self.warn_below:
                return self._warning_line(what, recent[-1])
        return None

    def _warning_line(self, what: str, value: float) -> str:
        shadow = " (shadow estimate: the ideal circuit simulated at the same controls)" \
            if self.reference == "shadow" else ""
        return (f"the surrogate's gradient is not trustworthy: {what} "
                f"{value:.2f} < {self.warn_below} over the last {self.warn_checks} "
                f"checks{shadow}; {ADVICE}")
