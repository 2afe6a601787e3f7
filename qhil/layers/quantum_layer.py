"""`qhil.QuantumLayer`: any circuit template as a torch layer, sampled through a Dispatcher.

    layer = qhil.QuantumLayer(template, provider="local", shots=1000, gradient="qtdnn",
                              weights=["w0", "w1"], observables=["Z0", "Z0Z1"], ledger="run.sqlite")
    y = layer(x)                 # x (B, inputs) -> (B, outputs) from the provider (budget, ledger)
    loss(y).backward()           # d y / d x and d y / d layer.weights by the chosen gradient

Inputs and weights (as PennyLane's `weight_shapes`, Qiskit ML's `weight_params`): `weights`
names the template parameters the layer trains itself, a torch parameter `layer.weights` seeded
uniform in [0, 2 pi); the other parameters, in template order, are the inputs. Outputs
(qhil.layers.outputs): P(1) of the measured `qubits` (default all), or the expectations of
Pauli-Z words. Gradients are the strategies of qhil.layers.gradients, as the hDQNN T-block's:
    qtdnn            the surrogate's Jacobian; each training forward refits the surrogate on the
                     batch's (parameter rows, sampled outputs) pairs first (Algorithm 1)
    parameter-shift  every angle occurrence shifted on the provider: one extra request per batch
    spsa             two perturbed circuits per row on the provider: one extra request per batch
    exact            autograd through the embedded simulator (no extra circuits)
The forward value is always the provider's (straight-through). The surrogate's parameters get no
gradient from the user's loss (the layer refits them), so `optim(model.parameters())` is safe.
With `track_fidelity` every backward records the delivered gradient's `Fidelity` against the
exact one (`last_fidelity`); the embedded simulator must fit the template (about 14 qubits).

Spending: the layer opens its Dispatcher by the one spending road (`qhil.open_dispatcher`): on a
device that bills it needs `budget=qhil.Budget(usd=...)` and consent (`yes=True`, or `ask=` a
callback answering "y"), and raises a UserError before sending anything otherwise.

Copies: `copy.deepcopy` shares the provider, ledger and budget (RL target networks); `pickle`
keeps all but the live connection, reopened on first use from the provider's name and `ledger`
with what the budget had left when pickled, under the consent given at construction (a layer
built on a Provider or Dispatcher object is given one: `layer.dispatcher = ...`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from qhil.errors import QhilError, RequestValidationError
from qhil.execution.budget import Budget
from qhil.execution.dispatcher import Dispatcher
from qhil.execution.provider import Provider
from qhil.layers.fidelity import Fidelity, fidelity
from qhil.layers.gradients import jacobian, strategy
from qhil.layers.hdqnn import PairRefit, QtDNN, TrigFeatures
from qhil.layers.meanfield import template_meanfield
from qhil.layers.outputs import Outputs
from qhil.layers.template_circuit import TemplateCircuit
from qhil.quantum.template import CircuitTemplate


def template_qtdnn(n_params: int, n_outputs: int, n_qubits: int,
                   hidden: Sequence[int] | None = None) -> QtDNN:
    """The default surrogate of a template: (cos, sin) of every parameter -> MLP (one hidden
    layer of 2**(n+1), Leaky ReLU, as the paper's qtDNN) -> sigmoid outputs."""
    return QtDNN(n_params, n_outputs, list(hidden or (2 ** (n_qubits + 1),)),
                 features=TrigFeatures(n_angles=n_params))


class QuantumLayer(nn.Module):
    """A circuit template as a torch module: forward on a provider, backward by `gradient`.

    Args:
        template: the circuit.
        provider: a provider name (`qhil providers`), a Provider, or a Dispatcher.
        shots: shots per circuit; None for exact marginals (simulators only).
        gradient: "qtdnn", "parameter-shift", "spsa" or "exact".
        weights: names of the template parameters that are trainable weights (default none).
        observables: Pauli-Z words ("Z0", "Z0Z1") whose expectations are returned.
        qubits: the measured qubits whose P(1) is returned (default all; not with observables).
        ledger: a file for the Dispatcher's ledger, so what the layer bought outlives the process.
        budget: a `qhil.Budget`; required on a device that bills.
        yes: consent to spend on a device that bills (or `ask`, a callback asked once).
        surrogate: the qtDNN module (rows (B, P) -> (B, outputs)); default `template_qtdnn`.
        refit_steps: tiny batches (AdamW steps) of each surrogate refit (qtdnn).
        refit_lr: the refit's learning rate.
        tiny_batch: rows per tiny batch (None: the batch's size).
        refit_history: the batches (this one included) whose pairs each refit draws from.
        prior: "mean-field" for the default surrogate on the circuit's mean-field simulation
            (qhil.layers.meanfield; refused with the reason where it does not apply).
        spsa_step: SPSA's perturbation size.
        track_fidelity: compute the exact gradient beside the delivered one in each backward.
        seed: seeds the weights, the provider requests, the refit and SPSA's directions.
    """

    def __init__(self, template: CircuitTemplate, provider: str | Provider | Dispatcher = "local",
                 shots: int | None = 1000,
                 gradient: str = "qtdnn", surrogate: nn.Module | None = None,
                 refit_steps: int = 20, refit_lr: float = 3e-3, tiny_batch: int | None = None,
                 track_fidelity: bool = False, seed: int = 0, *,
                 weights: Sequence[str] = (), observables: Sequence[str] | None = None,
                 qubits: Sequence[int] | None = None, ledger: str | Path | None = None,
                 spsa_step: float = 0.1, refit_history: int = 8, prior: str | None = None,
                 budget: Budget | None = None, yes: bool = False,
                 ask: Callable[[str], str] | None = None):
        super().__init__()
        self.template, self.shots, self.gradient, self.seed = template, shots, gradient, seed
        self.outputs = _outputs(template, observables, qubits)
        self._init_weights(weights, seed)
        self._provider, self._ledger = (provider if isinstance(provider, str) else None), ledger
        dispatcher = _dispatcher(provider, budget, yes, ask, ledger)
        self._consented, self._budget_left = True, None  # consent stands for the layer's life
        self.circuit = TemplateCircuit(template, self.outputs, dispatcher, shots, seed)
        self.surrogate = surrogate if surrogate is not None else _seeded(
            seed, _surrogate, template, self.outputs, prior)
        self.strategy = strategy(gradient, qtdnn=self.surrogate, spsa_step=spsa_step,
                                 generator=torch.Generator().manual_seed(seed + 1))
        self._init_refit(refit_lr, refit_steps, tiny_batch, refit_history, seed)
        self.track_fidelity = track_fidelity
        self.last_fidelity: Fidelity | None = None

    def _init_refit(self, lr: float, steps: int, tiny_batch: int | None, history: int,
                    seed: int) -> None:
        """The surrogate's refit: the T-block's trainer, a seeded draw, the recent pairs."""
        self.refitter = PairRefit(self.surrogate, lr, steps, tiny_batch, history, seed)
        self.trainer, self.tiny_batch = self.refitter.trainer, tiny_batch
        self.last_refit_loss: float | None = None

    def _init_weights(self, names: Sequence[str], seed: int) -> None:
        """`weights` as a seeded torch parameter; the column order that merges them with inputs."""
        known = self.template.param_names
        unknown = [w for w in names if w not in known]
        if unknown or len(set(names)) != len(names):
            raise RequestValidationError(
                f"weights must be distinct parameters of the template ({', '.join(known)}), "
                f"got {list(names)}")
        weight_cols = [known.index(w) for w in names]
        self.input_columns = [c for c in range(len(known)) if c not in weight_cols]
        self._order = torch.argsort(torch.tensor(self.input_columns + weight_cols, dtype=torch.long))
        start = torch.rand(len(names), generator=torch.Generator().manual_seed(seed))
        self.weights = nn.Parameter(2 * math.pi * start)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self.rows(inputs)
        self._reopen()
        sampled = self.circuit.sample(x, "actor")
        if not (torch.is_grad_enabled() and x.requires_grad):
            return self.outputs.finish(sampled)
        if self.gradient == "qtdnn" and self.training:
            self.refit(x, sampled)
        y = self.strategy.apply(x, self.circuit, sampled)
        if self.track_fidelity:
            point = x.detach()
            y.register_hook(lambda grad: self._record_fidelity(point, grad))
        return self.outputs.finish(y)

    def rows(self, inputs: torch.Tensor) -> torch.Tensor:
        """Inputs (B, inputs) -> the template's parameter rows (B, P), weights merged in."""
        if inputs.dim() != 2 or inputs.shape[1] != len(self.input_columns):
            raise RequestValidationError(
                f"inputs must be (batch, {len(self.input_columns)}), got {tuple(inputs.shape)}")
        if not len(self.weights):
            return inputs
        w = self.weights.to(inputs.dtype).expand(inputs.shape[0], -1)
        return torch.cat([inputs, w], dim=1)[:, self._order]

    def exact(self, inputs: torch.Tensor) -> torch.Tensor:
        """The exact outputs (B, outputs) of the embedded simulator, differentiable."""
        return self.outputs.finish(self.circuit.exact(self.rows(inputs)))

    def refit(self, x: torch.Tensor, sampled: torch.Tensor) -> float:
        """Fit the surrogate by BCE to the (rows, sampled outputs) pairs of this batch and the
        `refit_history - 1` before it (the weights move between batches: that is how the
        surrogate sees their effect)."""
        self.last_refit_loss = self.refitter(x, sampled)
        return self.last_refit_loss

    def _record_fidelity(self, x: torch.Tensor, grad: torch.Tensor) -> None:
        exact = jacobian(self.circuit.exact, x, self.circuit.columns)
        delivered = self.strategy.jacobian(x, self.circuit).to(exact)
        g = grad.to(exact)
        self.last_fidelity = fidelity(torch.einsum("bw,bwd->bd", g, delivered),
                                      torch.einsum("bw,bwd->bd", g, exact))

    # --- the provider -----------------------------------------------------------------------

    @property
    def dispatcher(self) -> Dispatcher | None:
        return self.circuit.dispatcher

    @dispatcher.setter
    def dispatcher(self, value: Dispatcher) -> None:
        self.circuit.dispatcher = value

    @property
    def calls(self) -> int:
        return self.circuit.calls

    @property
    def circuits(self) -> int:
        return self.circuit.circuits

    def _reopen(self) -> None:
        """After unpickling: the provider again, from its name and the ledger file."""
        if self.circuit.dispatcher is not None:
            return
        if self._provider is None:
            raise QhilError("this QuantumLayer was unpickled without its provider; set "
                            "layer.dispatcher = Dispatcher(...) before calling it")
        self.circuit.dispatcher = _dispatcher(self._provider, _budget(self._budget_left),
                                              self._consented, None, self._ledger)

    def __getstate__(self) -> dict:
        """Pickled with what the budget has left (the live Dispatcher stays behind)."""
        state = self.__dict__.copy()
        if self.circuit.dispatcher is not None:
            state["_budget_left"] = self.circuit.dispatcher.budget.remaining()
        return state

    def close(self) -> None:
        """Release the provider's threads and connections."""
        if self.circuit.dispatcher is not None:
            self.circuit.dispatcher.provider.close()


def _seeded(seed: int, build, *args):
    """`build(*args)` with torch's global generator seeded (the surrogate's initial weights
    follow the layer's seed, not whatever ran before), the caller's generator state kept."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(*args)


def _surrogate(template: CircuitTemplate, outputs: Outputs, prior: str | None) -> nn.Module:
    hidden = [2 ** (template.n_qubits + 1)]
    if prior == "mean-field":
        return template_meanfield(template, outputs, hidden)
    if prior is not None:
        raise RequestValidationError(f"prior must be 'mean-field' or None, got {prior!r}")
    return template_qtdnn(template.n_params, len(outputs.words), template.n_qubits, hidden)


def _outputs(template: CircuitTemplate, observables, qubits) -> Outputs:
    if observables is not None and qubits is not None:
        raise RequestValidationError("give observables or qubits, not both")
    if observables is not None:
        return Outputs.parse(observables, template.n_qubits)
    return Outputs.qubits(qubits, template.n_qubits)


def _dispatcher(provider, budget, yes: bool, ask, ledger: str | Path | None) -> Dispatcher:
    """The layer's Dispatcher, by the one spending road (a given Dispatcher is used as is)."""
    from qhil.execution.consent import open_dispatcher

    if isinstance(provider, Dispatcher):
        return provider
    return open_dispatcher(provider, None, budget, yes=yes, ask=ask, ledger=ledger,
                           what="the quantum layer's jobs")


def _budget(left):
    """A Budget of what a pickled layer's budget had left (None: it had no limits)."""
    from qhil.execution.budget import Budget

    if left is None or all(v is None for v in (left.shots, left.cost_usd, left.jobs)):
        return None
    return Budget(shots=left.shots, usd=left.cost_usd, jobs=left.jobs)
