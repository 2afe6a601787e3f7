"""The one gradient engine: how d(outputs)/d(parameters) of a sampled circuit reaches autograd.

Every quantum layer (the hDQNN T-block, `qhil.QuantumLayer`) is given one strategy by name
(`strategy(name, ...)`, as PennyLane's `diff_method`). The forward value is what the provider
sampled; the backward is the strategy's:

    qtdnn            the surrogate's Jacobian (the paper's method; no circuit)
    parameter-shift  per angle occurrence k: sum_s c_s f(theta + s e_k), two terms at +-pi/2
                     (four for controlled rotations), chained with d theta_k / d x, the angle's
                     derivative: 2 circuits per occurrence (4 for a controlled rotation)
    spsa             one random +-1 direction D per sample: (f(x + cD) - f(x - cD)) / 2c x D,
                     2 circuits per sample
    exact            autograd through the embedded simulator's exact outputs (the oracle)

A strategy sees its circuit through a `Circuit` (provider samples, exact outputs, the angle
occurrences and their derivatives), which each layer provides. Jacobians are (B, n, d) over the
circuit's differentiable `columns`. `circuits_per_sample` gives the counts the cost model uses.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from qhil.errors import RequestValidationError
from qhil.layers.graphs import NoGradGraphs
from qhil.names import GRADIENTS
from qhil.quantum.template_gates import ShiftRule


@dataclass(frozen=True)
class Occurrences:
    """The angles a parameter row sets: values (B, K), d angle / d x[:, columns] as (B, K, d) or
    (K, d) (None: occurrence k is column k itself), and each one's shift rule (K,): the
    (shift, coefficient) terms of its gate (`qhil.quantum.template_gates`: the two-term rule
    for a rotation, four terms for a controlled rotation)."""

    angles: torch.Tensor
    derivative: torch.Tensor | None
    rules: tuple[ShiftRule, ...]


class Circuit(Protocol):
    """What a strategy needs of a layer's circuit (rows (..., P) in, outputs (..., n) out)."""

    columns: torch.Tensor  # the differentiable columns of a row, d of them

    def sample(self, rows: torch.Tensor, purpose: str) -> torch.Tensor: ...

    def exact(self, x: torch.Tensor) -> torch.Tensor: ...

    def occurrences(self, x: torch.Tensor) -> Occurrences: ...

    def sample_occurrences(self, x: torch.Tensor, angles: torch.Tensor,
                           purpose: str) -> torch.Tensor: ...


def circuits_per_sample(method: str, angle_dim: int) -> int:
    """Circuits the T-block's learner sends per sample per actor update (the centre included)."""
    return {"qtdnn": 0, "exact": 1, "parameter-shift": 2 * angle_dim + 1, "spsa": 3}[method]


# --- autograd plumbing --------------------------------------------------------------------------

class _StraightThrough(torch.autograd.Function):
    """Value of y_hw, gradient of q; equal to y_hw + q - q.detach() but without the round-off."""

    @staticmethod
    def forward(ctx, y_hw: torch.Tensor, q: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return y_hw.to(q.dtype).clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        return None, grad


def straight_through(y_hw: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """y = y_hw + q - q.detach(): forward value y_hw, backward through q."""
    return _StraightThrough.apply(y_hw.detach(), q)


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


def jacobian(fn, x: torch.Tensor, cols: torch.Tensor, batched: bool = False) -> torch.Tensor:
    """d fn(x) / d x[:, cols] per row, (B, n, d), by autograd (rows are independent samples):
    one backward per output, or with `batched` one vectorised backward for all n (autograd's
    `is_grads_batched`; fn's backward must support vmap, as torch's own layers do)."""
    with torch.enable_grad():
        part = x.detach()[:, cols].clone().requires_grad_(True)
        full = x.detach().clone()
        full[:, cols] = part.to(full)
        out = fn(full)
        if batched:
            eye = torch.eye(out.shape[1], dtype=out.dtype, device=out.device)[:, None, :]
            grads = torch.autograd.grad(out, part, eye.expand(-1, *out.shape), is_grads_batched=True)
            return grads[0].transpose(0, 1)
        rows = [torch.autograd.grad(out[:, j].sum(), part, retain_graph=True)[0]
                for j in range(out.shape[1])]
    return torch.stack(rows, dim=1)


# --- parameter-shift and SPSA -------------------------------------------------------------------

@functools.lru_cache(maxsize=32)
def shift_plan(rules: tuple[ShiftRule, ...]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Shift terms in term-major order: shift (S,), owner occurrence (S,), coefficient (S,)."""
    longest = max((len(rule) for rule in rules), default=0)
    terms = [(rule[t][0], k, rule[t][1]) for t in range(longest) for k, rule in enumerate(rules)
             if t < len(rule)]
    shift, owner, coef = zip(*terms, strict=True) if terms else ((), (), ())
    return (torch.tensor(shift, dtype=torch.float64), torch.tensor(owner, dtype=torch.long),
            torch.tensor(coef, dtype=torch.float64))


def shifted_angles(angles: torch.Tensor, rules: tuple[ShiftRule, ...]) -> torch.Tensor:
    """(B, K) -> (B, S, K): occurrence owner_s shifted by shift_s in row s."""
    shift, owner, _ = shift_plan(rules)
    delta = angles.new_zeros(len(shift), angles.shape[1])
    delta[torch.arange(len(shift)), owner.to(angles.device)] = shift.to(angles)
    return angles.detach()[:, None, :] + delta[None]


def shift_jacobian(outputs: torch.Tensor, occ: Occurrences) -> torch.Tensor:
    """Outputs (B, S, n) of `shifted_angles` -> Jacobian (B, n, d), chained through the angles."""
    _, owner, coef = shift_plan(occ.rules)
    weighted = (outputs * coef.to(outputs)[None, :, None]).transpose(1, 2)  # (B, n, S)
    per_angle = weighted.new_zeros(*weighted.shape[:2], len(occ.rules))
    per_angle.index_add_(2, owner.to(outputs.device), weighted)
    if occ.derivative is None:
        return per_angle
    spec = "bnk,kd->bnd" if occ.derivative.dim() == 2 else "bnk,bkd->bnd"
    return torch.einsum(spec, per_angle, occ.derivative.to(per_angle))


def spsa_directions(batch: int, d: int, generator: torch.Generator) -> torch.Tensor:
    """(B, d) Rademacher directions, seeded."""
    bits = torch.randint(0, 2, (batch, d), generator=generator, device=generator.device)
    return bits.to(torch.float32) * 2 - 1


def spsa_rows(x: torch.Tensor, cols: torch.Tensor, directions: torch.Tensor,
              step: float) -> torch.Tensor:
    """(B, P) -> (B, 2, P): x + c D and x - c D on the differentiable columns."""
    delta = torch.zeros_like(x)
    delta[:, cols] = step * directions.to(x)
    return torch.stack([x.detach() + delta, x.detach() - delta], dim=1)


def spsa_jacobian(outputs: torch.Tensor, directions: torch.Tensor, step: float) -> torch.Tensor:
    """Outputs (B, 2, n) of `spsa_rows` -> rank-1 Jacobian (B, n, d)."""
    slope = (outputs[:, 0] - outputs[:, 1]) / (2 * step)
    return slope[:, :, None] * directions.to(slope)[:, None, :]


# --- the strategies -----------------------------------------------------------------------------

class Strategy:
    """One gradient method over a `Circuit`: `value` (no gradient), `apply` (the value with the
    method's gradient; `value` given is used as is, else the strategy samples it beside its own
    circuits) and `jacobian` (B, n, d), the one the last `apply` delivered."""

    name = ""

    def __init__(self) -> None:
        self.last_jacobian: torch.Tensor | None = None

    def value(self, x: torch.Tensor, circuit: Circuit) -> torch.Tensor:
        return circuit.sample(x, "target")

    def apply(self, x: torch.Tensor, circuit: Circuit,
              value: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def jacobian(self, x: torch.Tensor, circuit: Circuit) -> torch.Tensor:
        return self.last_jacobian


class Exact(Strategy):
    """Autograd through the circuit's exact outputs; the value stays the provider's."""

    name = "exact"

    def apply(self, x, circuit, value=None):
        value = circuit.sample(x, "actor") if value is None else value
        return straight_through(value, circuit.exact(x))

    def jacobian(self, x, circuit):
        return jacobian(circuit.exact, x, circuit.columns)


class ParameterShift(Strategy):
    """Shifted circuits on the provider, per angle occurrence, chained through the angles."""

    name = "parameter-shift"

    def apply(self, x, circuit, value=None):
        occ = circuit.occurrences(x)
        angles = shifted_angles(occ.angles, occ.rules)
        if value is None:  # the centre rides in the same request
            angles = torch.cat([occ.angles.detach()[:, None, :], angles], dim=1)
        outputs = circuit.sample_occurrences(x, angles, "gradient")
        if value is None:
            value, outputs = outputs[:, 0], outputs[:, 1:]
        self.last_jacobian = shift_jacobian(outputs, occ)
        return with_jacobian(x, value, self.last_jacobian, circuit.columns)


class SPSA(Strategy):
    """Two perturbed circuits per sample along a seeded random direction."""

    name = "spsa"

    def __init__(self, generator: torch.Generator, step: float):
        super().__init__()
        self.generator, self.step = generator, step

    def apply(self, x, circuit, value=None):
        cols = circuit.columns
        directions = spsa_directions(len(x), len(cols), self.generator).to(x.device)
        rows = spsa_rows(x, cols, directions, self.step)
        if value is None:
            rows = torch.cat([x.detach()[:, None, :], rows], dim=1)
        outputs = circuit.sample(rows, "gradient")
        if value is None:
            value, outputs = outputs[:, 0], outputs[:, 1:]
        self.last_jacobian = spsa_jacobian(outputs, directions, self.step)
        return with_jacobian(x, value, self.last_jacobian, cols)


class Surrogate(Strategy):
    """The qtDNN stands in for the circuit: its value (targets) and its Jacobian (updates)."""

    name = "qtdnn"

    def __init__(self, qtdnn: nn.Module):
        super().__init__()
        self.qtdnn = qtdnn
        self.graphs = NoGradGraphs(qtdnn)  # the no-grad value off the GIL (qhil.layers.graphs)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The surrogate's outputs (B, n), in the dtype of x."""
        dtype = next(self.qtdnn.parameters(), x).dtype
        return self.qtdnn(x.to(dtype)).to(x.dtype)

    def value(self, x, circuit):
        """The outputs as `predict`'s; with grad off by a traced graph (of the torch ops: a
        mean-field qtDNN's compiled kernel serves the eager calls). Training's TD target traces
        the qtDNN inside its own graph (qhil.rl.td3.TargetValue), not through this one."""
        dtype = next(self.qtdnn.parameters(), x).dtype
        return self.graphs(x.to(dtype)).to(x.dtype)

    def apply(self, x, circuit, value=None):
        """Differentiable in x only: the surrogate's weights are the refit's business."""
        with frozen(self.qtdnn):
            q = self.predict(x)
        return q if value is None else straight_through(value, q)

    def jacobian(self, x, circuit):
        """One vectorised backward (the same values; the mean-field qtDNN's Jacobian of 64
        samples at 10 x 10 took 0.014 s of CPU against 0.032 s for one backward per output),
        or one per output through a compiled mean-field kernel (numba, which vmap cannot enter)."""
        compiled = getattr(self.qtdnn, "compiled", False) and x.device.type == "cpu"
        return jacobian(self.predict, x, circuit.columns, batched=not compiled)


def strategy(name: str, *, qtdnn: nn.Module | None = None, generator: torch.Generator | None = None,
             spsa_step: float = 0.1) -> Strategy:
    """The strategy of a gradient method named in `qhil.names.GRADIENTS`."""
    if name not in GRADIENTS:
        raise RequestValidationError(f"gradient must be one of {', '.join(GRADIENTS)}, got {name!r}")
    if name == "qtdnn":
        return Surrogate(qtdnn)
    if name == "spsa":
        return SPSA(generator if generator is not None else torch.Generator(), spsa_step)
    return Exact() if name == "exact" else ParameterShift()
