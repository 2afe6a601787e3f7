"""`qhil.QuantumLayer`: any circuit template as a torch layer, sampled through a Dispatcher.

    layer = qhil.QuantumLayer(template, provider="local", shots=1000, gradient="qtdnn")
    y = layer(params)            # (B, P) -> (B, n) marginals from the provider (budget, ledger)
    loss(y).backward()           # d y / d params by the chosen gradient

Gradients (the same names as the hDQNN T-block, `qhil.names.GRADIENTS`):
    qtdnn            the surrogate's Jacobian (the paper's qtDNN). Each training forward records
                     its (q_i, q_o) = (params, sampled marginals) pairs and refits the surrogate on
                     the current batch's pairs before the backward pass (Algorithm 1).
    parameter-shift  every angle occurrence shifted on the provider: two circuits per occurrence
                     (pi/2 rule), four for controlled rotations (the four-term rule), summed with
                     the angle's scale; one extra template request per batch.
    exact            autograd through the embedded template simulator (no extra circuits).

The forward value is always the provider's marginals (straight-through). With `track_fidelity`
the layer also computes, in every backward pass, the exact gradient reaching `params` and
records its cosine and relative error against the gradient the chosen method delivered
(`last_fidelity`); the embedded simulator must fit the template for that (about 14 qubits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from qhil.errors import RequestValidationError
from qhil.execution.dispatcher import Dispatcher
from qhil.execution.registry import get_provider
from qhil.execution.request import SamplingRequest
from qhil.names import GRADIENTS
from qhil.layers.hdqnn import straight_through
from qhil.quantum.template import CircuitTemplate, expand_occurrences
from qhil.quantum.template_sim import TemplateSimulator

LAYER_GRADIENTS = ("qtdnn", "parameter-shift", "exact")
D1, D2 = (math.sqrt(2) + 1) / (4 * math.sqrt(2)), (math.sqrt(2) - 1) / (4 * math.sqrt(2))


@dataclass(frozen=True)
class Fidelity:
    """How close the delivered gradient was to the exact one, for one backward pass."""

    grad_cosine: float
    grad_rel_error: float


class TemplateSurrogate(nn.Module):
    """The default qtDNN for a template: (cos p, sin p) features -> MLP (default one hidden layer
    of 2**(n+1), Leaky ReLU, as the paper's qtDNN) -> sigmoid marginals."""

    def __init__(self, n_params: int, n_qubits: int, hidden: tuple[int, ...] | None = None):
        super().__init__()
        widths = [2 * n_params, *(hidden or (2 ** (n_qubits + 1),))]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Linear(a, b), nn.LeakyReLU()]
        self.net = nn.Sequential(*layers, nn.Linear(widths[-1], n_qubits), nn.Sigmoid())

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([torch.cos(params), torch.sin(params)], dim=1))


class QuantumLayer(nn.Module):
    """A circuit template as a torch module: forward on a provider, backward by `gradient`.

    Args:
        template: the circuit (its P parameter columns are the layer's inputs).
        provider: a provider name (`qhil providers`), a Provider, or a Dispatcher.
        shots: shots per circuit; None for exact marginals (simulators only).
        gradient: "qtdnn", "parameter-shift" or "exact".
        surrogate: the qtDNN module (params (B, P) -> (B, n)); default TemplateSurrogate.
        refit_steps, refit_lr: tiny batches (Adam steps) and learning rate of each surrogate
            refit (qtdnn); `tiny_batch` rows each, drawn from the current batch (None: all rows).
        track_fidelity: compute the exact gradient beside the delivered one in each backward.
        seed: seeds the provider requests (row b of call k gets a seed derived from both).
    """

    def __init__(self, template: CircuitTemplate, provider="local", shots: int | None = 1000,
                 gradient: str = "qtdnn", surrogate: nn.Module | None = None,
                 refit_steps: int = 20, refit_lr: float = 3e-3, tiny_batch: int | None = None,
                 track_fidelity: bool = False, seed: int = 0):
        super().__init__()
        if gradient not in LAYER_GRADIENTS:
            raise RequestValidationError(
                f"gradient must be one of {', '.join(LAYER_GRADIENTS)}, got {gradient!r}"
                + (" (spsa is offered for the hDQNN T-block only)" if gradient in GRADIENTS else ""))
        self.template, self.shots, self.gradient = template, shots, gradient
        self.dispatcher = _dispatcher(provider)
        self.surrogate = surrogate if surrogate is not None else TemplateSurrogate(
            template.n_params, template.n_qubits)
        self._optimizer = torch.optim.Adam(self.surrogate.parameters(), lr=refit_lr)
        self.refit_steps, self.track_fidelity, self.seed = refit_steps, track_fidelity, seed
        self.tiny_batch = tiny_batch
        self._refit_rng = torch.Generator().manual_seed(seed)
        self._simulator = TemplateSimulator(precision="complex128")
        self.calls = 0
        self.circuits = 0
        self.last_fidelity: Fidelity | None = None
        self.last_refit_loss: float | None = None

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        y_hw = torch.from_numpy(self.sample(params)).to(params)
        if not (torch.is_grad_enabled() and params.requires_grad):
            return y_hw
        if self.gradient == "qtdnn":
            if self.training:
                self.refit(params, y_hw)
            y = straight_through(y_hw, self.predict(params))
        elif self.gradient == "exact":
            y = straight_through(y_hw, self.exact_marginals(params))
        else:
            self._last_shift = self.shift_jacobian(params)
            y = straight_through(y_hw, _ShiftJacobian.apply(params, self._last_shift))
        if self.track_fidelity:
            point = params.detach()
            y.register_hook(lambda grad: self._record_fidelity(point, grad))
        return y

    def close(self) -> None:
        """Release the provider's threads and connections."""
        self.dispatcher.provider.close()

    # --- the provider side ------------------------------------------------------------------

    def sample(self, params: torch.Tensor, template: CircuitTemplate | None = None) -> np.ndarray:
        """(B, n) marginals of the template on each row, from the provider via the Dispatcher."""
        rows = params.detach().to("cpu", torch.float64).numpy()
        seed = (self.seed * 1_000_003 + self.calls) % 2**31
        self.calls += 1
        self.circuits += rows.shape[0]
        request = SamplingRequest.from_templates(template or self.template, rows, self.shots, seed,
                                                 tags={"purpose": "quantum-layer"})
        return np.asarray(self.dispatcher.run(request).marginals, dtype=np.float64)

    def shift_jacobian(self, params: torch.Tensor) -> torch.Tensor:
        """(B, n, P) parameter-shift Jacobian from shifted circuits sampled on the provider."""
        expanded, occurrences = expand_occurrences(self.template)
        rows, weights = shift_rows(self.template, occurrences, params.detach().double())
        marginals = torch.from_numpy(self.sample(rows, expanded))
        batch, n = params.shape[0], self.template.n_qubits
        per_row = marginals.reshape(batch, -1, n)  # (B, shifts, n)
        return torch.einsum("bsn,sp->bnp", per_row, weights)

    # --- the surrogate and the oracle ------------------------------------------------------

    def refit(self, params: torch.Tensor, y_hw: torch.Tensor) -> float:
        """Fit the surrogate to this batch's (q_i, q_o) pairs by BCE; returns the last loss."""
        q_in, q_out = params.detach(), y_hw.detach().clamp(0, 1)
        size = min(self.tiny_batch or q_in.shape[0], q_in.shape[0])
        with torch.enable_grad():
            for _ in range(self.refit_steps):
                rows = torch.randperm(q_in.shape[0], generator=self._refit_rng)[:size]
                loss = nn.functional.binary_cross_entropy(self.predict(q_in[rows]), q_out[rows])
                self._optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self._optimizer.step()
        self.last_refit_loss = float(loss.detach())
        return self.last_refit_loss

    def predict(self, params: torch.Tensor) -> torch.Tensor:
        """The surrogate's marginals (B, n), in the dtype of `params`."""
        dtype = next(self.surrogate.parameters(), params).dtype
        return self.surrogate(params.to(dtype)).to(params.dtype)

    def exact_marginals(self, params: torch.Tensor) -> torch.Tensor:
        """Exact marginals of the embedded simulator, differentiable w.r.t. params."""
        return self._simulator.marginals(self.template, params.double()).to(params.dtype)

    def _record_fidelity(self, params: torch.Tensor, grad: torch.Tensor) -> None:
        with torch.enable_grad():
            x = params.clone().requires_grad_(True)
            (exact,) = torch.autograd.grad((self.exact_marginals(x) * grad).sum(), x)
            delivered = self._delivered(x, grad)
        cosine = nn.functional.cosine_similarity(delivered.flatten(), exact.flatten(), dim=0)
        rel = (delivered - exact).norm() / exact.norm().clamp_min(1e-12)
        self.last_fidelity = Fidelity(float(cosine), float(rel))

    def _delivered(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        if self.gradient == "exact":
            return torch.autograd.grad((self.exact_marginals(x) * grad).sum(), x)[0]
        if self.gradient == "qtdnn":
            return torch.autograd.grad((self.predict(x) * grad).sum(), x)[0]
        return torch.einsum("bn,bnp->bp", grad.double(), self._last_shift).to(x.dtype)


class _ShiftJacobian(torch.autograd.Function):
    """Zero value of the output's shape; backward: J^T grad with the given Jacobian (B, n, P)."""

    @staticmethod
    def forward(ctx, params, jacobian):  # type: ignore[override]
        ctx.save_for_backward(jacobian)
        return params.new_zeros(jacobian.shape[:2])

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (jacobian,) = ctx.saved_tensors
        return torch.einsum("bn,bnp->bp", grad, jacobian.to(grad)), None


def shift_rows(template: CircuitTemplate, occurrences: list[tuple], params: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Shifted angle rows (B * S, occurrences) and weights (S, P): J = sum_s marginals_s w_s."""
    base = torch.stack([scale * params[:, col] + offset for col, scale, offset, _ in occurrences],
                       dim=1) if occurrences else params.new_zeros(params.shape[0], 0)
    shifts, weights = [], []
    for k, (col, scale, _, four_term) in enumerate(occurrences):
        rule = [(math.pi / 2, 0.5), (-math.pi / 2, -0.5)] if not four_term else [
            (math.pi / 2, D1), (-math.pi / 2, -D1), (3 * math.pi / 2, -D2), (-3 * math.pi / 2, D2)]
        for shift, coefficient in rule:
            delta = torch.zeros(len(occurrences), dtype=params.dtype)
            delta[k] = shift
            shifts.append(delta)
            w = torch.zeros(template.n_params, dtype=params.dtype)
            w[col] = coefficient * scale
            weights.append(w)
    shift = torch.stack(shifts) if shifts else params.new_zeros(0, len(occurrences))
    rows = (base[:, None, :] + shift[None]).reshape(-1, len(occurrences))
    return rows, torch.stack(weights) if weights else params.new_zeros(0, template.n_params)


def _dispatcher(provider) -> Dispatcher:
    if isinstance(provider, Dispatcher):
        return provider
    if isinstance(provider, str):
        provider = get_provider(provider)
    return Dispatcher(provider)
