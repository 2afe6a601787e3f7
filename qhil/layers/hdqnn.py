"""The quantum layer of the hDQNN and its qtDNN surrogate.

    forward:   y = y_hw + q(x) - q(x).detach()    (value: the provider's marginals y_hw)
    backward:  dy/dx = dq/dx                      (the qtDNN's Jacobian)

`ControlMap` turns raw PreDNN outputs into PQC controls: rotation angles pi * tanh(z) (bounded in
(-pi, pi), smooth), CZ indices round((n - 1) * sigmoid(z)) in 0..n-1, detached (discrete, no
gradient). `QtDNN` is the MLP [control_dim, 2**(n+1), n] with Leaky ReLU and a sigmoid output,
fitted with binary cross-entropy on (q_i, q_o) pairs. `AnsatzCircuit` is the ansatz as the gradient
engine (qhil.layers.gradients) sees it; `exact_jacobian` differentiates the exact marginals.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from qhil.layers.gradients import Occurrences, jacobian, straight_through
from qhil.layers.refit import MLPStep, plain_mlp
from qhil.quantum.adjoint import adjoint_marginals, marginal_jacobian, marginals_and_jacobian
from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.quantum.simulator import Simulator
from qhil.quantum.template_gates import TWO as TWO_TERM


def index_mask(ansatz: HDQNNAnsatz) -> torch.Tensor:
    """(control_dim,) bool: True on the CZ-index columns, False on the angle columns."""
    mask = torch.zeros(ansatz.n_layers, ansatz.per_layer, dtype=torch.bool)
    mask[:, 2 * ansatz.n_qubits:] = True
    return mask.reshape(-1)


class ControlMap(nn.Module):
    """Raw PreDNN outputs (B, control_dim) -> controls: bounded angles and CZ indices.

    The CZ indices are round((n - 1) * sigmoid(z)). Detached by default (the circuit is discrete
    in them); `index_gradient=True` passes the surrogate's gradient through the rounding
    (straight-through), as the paper's qtDNN, which sees all controls, does.
    """

    def __init__(self, ansatz: HDQNNAnsatz, index_gradient: bool = False):
        super().__init__()
        self.ansatz = ansatz
        self.index_gradient = index_gradient
        self.register_buffer("index_mask", index_mask(ansatz), persistent=False)

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        angles = math.pi * torch.tanh(raw)
        soft = (self.ansatz.n_qubits - 1) * torch.sigmoid(raw)
        index = torch.round(soft).detach()
        if self.index_gradient:
            index = soft + (index - soft).detach()
        return torch.where(self.index_mask, index, angles)

    def angle_columns(self) -> torch.Tensor:
        """Indices of the differentiable (angle) columns of a control vector."""
        return torch.nonzero(~self.index_mask).flatten()


ACTIVATIONS: dict[str, type[nn.Module]] = {
    "leaky_relu": nn.LeakyReLU, "silu": nn.SiLU, "gelu": nn.GELU, "tanh": nn.Tanh}


class TrigFeatures(nn.Module):
    """The qtDNN's "trig" input encoding: each angle as (cos, sin), each CZ index one-hot.

    The marginals are trigonometric polynomials of the angles and a different one per CZ choice,
    so this encoding lets a small MLP match them (and their Jacobian) far better than raw controls.
    """

    def __init__(self, ansatz: HDQNNAnsatz | None = None, n_angles: int = 0):
        """An ansatz's controls (its CZ index columns one-hot), or `n_angles` angles alone."""
        super().__init__()
        self.n_values = ansatz.n_qubits if ansatz is not None else 1
        index = index_mask(ansatz) if ansatz is not None else torch.zeros(n_angles, dtype=torch.bool)
        self.register_buffer("angle_cols", torch.nonzero(~index).flatten(), persistent=False)
        self.register_buffer("index_cols", torch.nonzero(index).flatten(), persistent=False)
        self.dim = 2 * len(self.angle_cols) + self.n_values * len(self.index_cols)

    def forward(self, controls: torch.Tensor) -> torch.Tensor:
        angles = controls[:, self.angle_cols]
        index = controls[:, self.index_cols].detach().round().clamp(0, self.n_values - 1).long()
        hot = nn.functional.one_hot(index, self.n_values).flatten(1).to(controls.dtype)
        return torch.cat([torch.cos(angles), torch.sin(angles), hot], dim=1)


class QtDNN(nn.Module):
    """The surrogate MLP: controls (B, d) -> predicted marginals (B, n) in (0, 1).

    The default is the paper's: raw controls, Leaky ReLU; `features` (a TrigFeatures) encodes them.
    """

    def __init__(self, control_dim: int, n_qubits: int, hidden: list[int],
                 activation: str = "leaky_relu", features: TrigFeatures | None = None):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"qtDNN activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.features = features if features is not None else nn.Identity()
        widths = [features.dim if features is not None else control_dim, *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=False):
            layers += [nn.Linear(a, b), ACTIVATIONS[activation]()]
        layers += [nn.Linear(widths[-1], n_qubits), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, controls: torch.Tensor) -> torch.Tensor:
        return self.net(self.features(controls))


class QtDNNTrainer:
    """Refits a QtDNN on N_qt tiny batches drawn from (q_i, q_o) pairs; returns the mean BCE.

    AdamW; `weight_decay` 0 is plain Adam (the paper's). A little decay keeps the surrogate smooth
    over a long run: without it, the refits slowly fit the shot noise and its Jacobian roughens.
    """

    def __init__(self, qtdnn: QtDNN, lr: float, n_tiny_batches: int, tiny_batch_size: int,
                 weight_decay: float = 0.0, every_update: bool = False):
        self.qtdnn = qtdnn
        self.optimizer = fast_adamw(qtdnn, lr, weight_decay)
        self.n_tiny_batches = n_tiny_batches
        self.tiny_batch_size = tiny_batch_size
        self.every_update = every_update  # refit before every critic step (Algorithm 1), not
        # only before actor updates
        found = _fast_parts(qtdnn)
        self.fast_step = MLPStep(*found) if found is not None else None

    def refit(self, q_in: torch.Tensor, q_out: torch.Tensor, generator: torch.Generator,
              tiny_batch_size: int | None = None) -> float:
        size = tiny_batch_size or self.tiny_batch_size
        rows = torch.randint(0, q_in.shape[0], (self.n_tiny_batches, size),
                             generator=generator, device=generator.device).to(q_in.device)
        inputs, targets = q_in[rows], q_out[rows]  # every tiny batch in one gather
        offsets = [None] * len(rows)
        if self.fast_step is not None:  # the encoding has no parameters: encode every batch once
            inputs, offsets = self._encode(inputs)
        total = torch.zeros((), device=q_in.device)
        for x, y, offset in zip(inputs, targets, offsets, strict=True):
            total += self._loss_and_grads(x, y, offset)
            self.optimizer.step()
        return total.item() / self.n_tiny_batches  # one host sync per refit

    def _encode(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | list[None]]:
        """Every tiny batch's input features and (mean-field qtDNN) prior logits, in one pass."""
        flat = inputs.flatten(0, 1)
        with torch.no_grad():
            if not hasattr(self.qtdnn, "encode"):  # a plain QtDNN: no prior
                return self.qtdnn.features(flat).reshape(*inputs.shape[:2], -1), [None] * len(inputs)
            features, logit = self.qtdnn.encode(flat)
            return features.reshape(*inputs.shape[:2], -1), logit.reshape(*inputs.shape[:2], -1)

    def _loss_and_grads(self, x: torch.Tensor, y: torch.Tensor,
                        offset: torch.Tensor | None = None) -> torch.Tensor:
        """One tiny batch's BCE, its gradients left in the parameters' `.grad`."""
        if self.fast_step is not None:
            return self.fast_step(x, y, offset)
        loss = nn.functional.binary_cross_entropy(self.qtdnn(x), y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        return loss.detach()


def _fast_parts(qtdnn: nn.Module):
    """The hand-written step's layers: a plain QtDNN's network, or a mean-field qtDNN's residual
    (duck-typed by its `prior_logit`: qhil.layers.meanfield imports this module); else None."""
    if isinstance(qtdnn, QtDNN):
        return plain_mlp(qtdnn.net)
    if hasattr(qtdnn, "prior_logit") and isinstance(getattr(qtdnn, "residual", None), nn.Module):
        return plain_mlp(qtdnn.residual, sigmoid=False)
    return None


class PairRefit:
    """A surrogate's refit on the (rows, sampled outputs) pairs of the last `history` batches
    (this one included): `QtDNNTrainer` on tiny batches drawn by a seeded generator. Used by
    `qhil.QuantumLayer` and by `diff_method="qtdnn"` of the PennyLane device."""

    def __init__(self, surrogate: nn.Module, lr: float, steps: int, tiny_batch: int | None,
                 history: int, seed: int):
        self.surrogate, self.tiny_batch = surrogate, tiny_batch
        self.trainer = QtDNNTrainer(surrogate, lr, steps, tiny_batch or 1)
        self.generator = torch.Generator().manual_seed(seed)
        self.pairs: deque[tuple[torch.Tensor, torch.Tensor]] = deque(maxlen=history)

    def __call__(self, x: torch.Tensor, sampled: torch.Tensor) -> float:
        """Fit by BCE to this batch's pairs and the kept ones; the mean loss. Outputs in [0, 1]."""
        dtype = next(self.surrogate.parameters()).dtype
        self.pairs.append((x.detach().to(dtype), sampled.detach().clamp(0, 1).to(dtype)))
        q_in, q_out = (torch.cat(part) for part in zip(*self.pairs, strict=True))
        size = min(self.tiny_batch or len(x), len(q_in))
        loss = self.trainer.refit(q_in, q_out, self.generator, size)
        self.surrogate.zero_grad(set_to_none=True)  # no stale gradient for the user's optimiser
        return loss


def fast_adamw(module: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with the fused kernel where torch has one for these parameters (CPU and CUDA
    float32: one kernel per step; about 3x the foreach step on a 2-core CPU for the paper's
    [220, 2048, 10] qtDNN, benchmarks/bench_train_block_cost.py), else foreach."""
    params = list(module.parameters())
    try:
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, foreach=True)


class PQCBlock(nn.Module):
    """The PQC T-block: forward = hardware marginals, backward = the qtDNN's Jacobian.

    `forward(controls, y_hw)` takes the provider's marginals for the batch (sampled outside
    the module, by the hardware seam); with `y_hw=None` it is the surrogate alone (A_qt).
    """

    def __init__(self, ansatz: HDQNNAnsatz, qtdnn: QtDNN):
        super().__init__()
        self.ansatz = ansatz
        self.qtdnn = qtdnn

    def forward(self, controls: torch.Tensor, y_hw: torch.Tensor | None = None) -> torch.Tensor:
        if y_hw is not None and not torch.is_grad_enabled():
            # the value is y_hw's and no gradient is asked for (the explorer, evaluations):
            # the surrogate's forward would be thrown away
            return y_hw.detach().to(controls.dtype).clone()
        q = self.qtdnn(controls)
        return q if y_hw is None else straight_through(y_hw, q)


def exact_jacobian(sim: Simulator, ansatz: HDQNNAnsatz, controls: torch.Tensor,
                   angle_cols: torch.Tensor) -> torch.Tensor:
    """d marginals / d angles per sample, (B, n, angle_dim): the adjoint method's Jacobian (one
    bra per qubit) on an ideal CPU simulator, autograd through the simulator otherwise."""
    x = controls.detach().to(sim.device, torch.float64)
    if sim.noise is None and str(sim.device) == "cpu" and _angle_order(ansatz, angle_cols):
        angles, cz = _split_torch(ansatz, x)
        return marginal_jacobian(angles, cz, sim.precision)[1].flatten(2).to(controls)
    return jacobian(lambda rows: exact_marginals(sim, ansatz, rows), x, angle_cols.to(x.device))


def _angle_order(ansatz: HDQNNAnsatz, angle_cols: torch.Tensor) -> bool:
    """Whether `angle_cols` lists every angle control in (layer, qubit, RX/RY) order, the
    adjoint Jacobian's column order."""
    return torch.equal(angle_cols.cpu(), torch.nonzero(~index_mask(ansatz)).flatten())


class AnsatzCircuit:
    """The hDQNN ansatz as the gradient engine sees it: rows are control vectors, each angle
    column its own occurrence (derivative 1), the CZ index columns not differentiable.

    Args:
        sample: the provider's marginals of controls (N, control_dim) for a purpose (the run's
            sampler; None where only the surrogate is used); purposes read "learner-<purpose>".
        sim: the embedded simulator of `exact` (None: no exact outputs).
        columns: the angle columns (ControlMap.angle_columns()).
    """

    def __init__(self, ansatz: HDQNNAnsatz, columns: torch.Tensor,
                 sample: Callable[[np.ndarray, str], np.ndarray] | None = None,
                 sim: Simulator | None = None):
        self.ansatz, self.columns, self._sample, self.sim = ansatz, columns, sample, sim

    def sample(self, rows: torch.Tensor, purpose: str) -> torch.Tensor:
        flat = rows.detach().reshape(-1, rows.shape[-1]).cpu().numpy()
        marginals = torch.from_numpy(self._sample(flat, f"learner-{purpose}")).to(rows)
        return marginals.reshape(*rows.shape[:-1], -1)

    def exact(self, x: torch.Tensor) -> torch.Tensor:
        return exact_marginals(self.sim, self.ansatz, x)

    def occurrences(self, x: torch.Tensor) -> Occurrences:
        return Occurrences(x[:, self.columns], None, (TWO_TERM,) * len(self.columns))

    def sample_occurrences(self, x: torch.Tensor, angles: torch.Tensor,
                           purpose: str) -> torch.Tensor:
        rows = x.detach()[:, None, :].expand(-1, angles.shape[1], -1).clone()
        rows[..., self.columns] = angles.to(rows)
        return self.sample(rows, purpose)


def _split_torch(ansatz: HDQNNAnsatz, controls: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Differentiable twin of HDQNNAnsatz.split for torch controls."""
    batch, n = controls.shape[0], ansatz.n_qubits
    blocks = controls.reshape(batch, ansatz.n_layers, ansatz.per_layer)
    angles = blocks[:, :, : 2 * n].reshape(batch, ansatz.n_layers, n, 2)
    _, cz = ansatz.split(controls.detach().cpu().numpy())
    return angles, torch.from_numpy(cz).to(controls.device)


def exact_marginals(sim: Simulator, ansatz: HDQNNAnsatz, controls: torch.Tensor) -> torch.Tensor:
    """Exact marginals of the controls' circuits, differentiable w.r.t. the angle controls: the
    adjoint VJP (qhil.quantum.adjoint) on an ideal CPU simulator, autograd otherwise."""
    angles, cz = _split_torch(ansatz, controls.to(sim.device))
    if sim.noise is None and str(sim.device) == "cpu":
        return adjoint_marginals(angles, cz, sim.precision).to(controls)
    return sim.marginals(angles, cz).to(controls)


def exact_marginals_and_jacobian(sim: Simulator, ansatz: HDQNNAnsatz, controls: torch.Tensor,
                                 rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`exact_marginals` of every row and `exact_jacobian` (rows, n, angle_dim) of the first
    `rows`, in one adjoint walk on an ideal CPU simulator (those rows' VJP is read from their
    Jacobian, `marginals_and_jacobian`); separately otherwise. Same values as the two calls."""
    cols = torch.nonzero(~index_mask(ansatz)).flatten()
    if sim.noise is not None or str(sim.device) != "cpu":
        return (exact_marginals(sim, ansatz, controls),
                exact_jacobian(sim, ansatz, controls[:rows], cols.to(controls.device)))
    angles, cz = _split_torch(ansatz, controls.to(sim.device))
    marginals, jac = marginals_and_jacobian(angles, cz, rows, sim.precision)
    return marginals.to(controls), jac.flatten(2).to(controls)
