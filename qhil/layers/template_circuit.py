"""A circuit template on a provider, as the gradient engine (qhil.layers.gradients) sees it.

Rows are the template's parameter rows, every column differentiable; outputs are the P(odd) of
the layer's words (qhil.layers.outputs): per-qubit P(1) unless Pauli-Z words were asked for.
`sample` sends a request through the Dispatcher (row b of call k seeded from both); `exact`
is the embedded simulator's, differentiable; `occurrences` are the template's parameterised
angles (`expand_occurrences`: each reads its own column) with their per-row derivatives and
their gates' shift rules.

Copies: `copy.deepcopy` shares the Dispatcher (one provider, one ledger, one budget); pickling
leaves it out (a live connection does not travel), and the owner sets a new one.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from qhil.layers.gradients import Occurrences, shifted_angles
from qhil.layers.outputs import Outputs
from qhil.quantum.request import SamplingRequest
from qhil.quantum.simulator import Simulator
from qhil.quantum.template import (
    CircuitTemplate,
    expand_occurrences,
    occurrence_gradients,
    occurrence_values,
)


class TemplateCircuit:
    """One template, its outputs, and the Dispatcher its requests go through."""

    def __init__(self, template: CircuitTemplate, outputs: Outputs, dispatcher,
                 shots: int | None, seed: int):
        self.template, self.outputs, self.dispatcher = template, outputs, dispatcher
        self.shots, self.seed = shots, seed
        self.columns = torch.arange(template.n_params)
        self.expanded, self._occurrences = expand_occurrences(template)
        self.calls = self.circuits = 0
        self._simulator = Simulator(precision="complex128")

    def sample(self, rows: torch.Tensor, purpose: str) -> torch.Tensor:
        """Outputs (..., W) of parameter rows (..., P), from the provider."""
        flat = rows.detach().reshape(-1, rows.shape[-1])
        return self._run(self.template, flat, purpose).to(rows).reshape(*rows.shape[:-1], -1)

    def exact(self, x: torch.Tensor) -> torch.Tensor:
        """Exact outputs (B, W) of the embedded simulator, differentiable w.r.t. x."""
        probs = self._simulator.probabilities(self.template, x.double())
        return (probs @ self.outputs.parity_matrix(self.template.n_qubits).to(probs)).to(x.dtype)

    def occurrences(self, x: torch.Tensor) -> Occurrences:
        """Each parameterised angle's value (B, K), d angle / d x per row (B, K, P) (the chain
        rule through the angle's expression) and its gate's shift rule."""
        rows = x.detach()
        return Occurrences(occurrence_values(self._occurrences, rows),
                           occurrence_gradients(self._occurrences, rows),
                           tuple(o.rule for o in self._occurrences))

    def sample_occurrences(self, x: torch.Tensor, angles: torch.Tensor,
                           purpose: str) -> torch.Tensor:
        """Outputs (B, S, W) of the expanded template at angle rows (B, S, K)."""
        batch, shifts = angles.shape[:2]
        if angles.numel() == 0:  # no parameterised gate: nothing to shift
            return x.new_zeros(batch, shifts, len(self.outputs.words))
        flat = self._run(self.expanded, angles.reshape(batch * shifts, -1), purpose)
        return flat.to(x).reshape(batch, shifts, -1)

    def _run(self, template: CircuitTemplate, rows: torch.Tensor, purpose: str) -> torch.Tensor:
        seed = (self.seed * 1_000_003 + self.calls) % 2**31
        self.calls += 1
        self.circuits += rows.shape[0]
        tag = "quantum-layer" if purpose in ("actor", "target") else f"quantum-layer-{purpose}"
        request = SamplingRequest.from_templates(
            template, rows.detach().to("cpu", torch.float64).numpy(), self.shots, seed,
            tags={"purpose": tag}, counts=self.shots is not None)  # exact: marginals only
        return torch.from_numpy(self.outputs.from_result(self.dispatcher.run(request)))

    def __getstate__(self) -> dict:
        return {**self.__dict__, "dispatcher": None}

    def __deepcopy__(self, memo: dict) -> TemplateCircuit:
        clone = object.__new__(TemplateCircuit)
        memo[id(self)] = clone
        clone.__dict__.update({k: copy.deepcopy(v, memo) for k, v in self.__dict__.items()
                               if k != "dispatcher"})
        clone.dispatcher = self.dispatcher  # one provider, one ledger, one budget
        return clone


def update_rows(template: CircuitTemplate, batch: int) -> dict[str, list[tuple]]:
    """Per gradient method, (template, rows) of the requests one training update of a
    QuantumLayer sends at parameters 0: the forward batch, then the method's extra circuits."""
    circuit = TemplateCircuit(template, Outputs.qubits(None, template.n_qubits), None, None, 0)
    x = torch.zeros(batch, template.n_params, dtype=torch.float64)
    forward = [(template, np.zeros((batch, template.n_params)))]
    occ = circuit.occurrences(x)
    shifted = shifted_angles(occ.angles, occ.rules).reshape(-1, len(occ.rules))
    spsa = np.zeros((2 * batch, template.n_params))
    return {"qtdnn": forward, "exact": forward, "spsa": [*forward, (template, spsa)],
            "parameter-shift": [*forward, *([(circuit.expanded, shifted.numpy())]
                                           if shifted.shape[0] else [])]}
