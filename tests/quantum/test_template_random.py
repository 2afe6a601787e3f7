"""300 seeded random templates over the whole gate set, with random multi-parameter polynomial
angles (2-10 qubits, 5-80 gates): the embedded simulator against Qiskit's Statevector in both
precisions, its gradients against finite differences, and the Qiskit and OpenQASM 3 round trips.

Cost (2 shared cores): marginals run on all 300; the gradient checks on every 10th template with
at most 6 qubits (their finite differences need 2 simulations per parameter); the round trips on
every 10th (the openqasm3 reference parser takes ~0.3 s per 80-gate file).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import qasm3
from qiskit.quantum_info import Operator, Statevector

from qhil.quantum.simulator import Simulator
from qhil.quantum.statevector import basis_bits
from qhil.quantum.template import GATES, CircuitTemplate
from qhil.quantum.template_random import random_params, random_template
from tests.quantum.test_template_gates import fd_jacobian, shift_jacobian

SIM128 = Simulator(precision="complex128")
SIM64 = Simulator(precision="complex64")


def cases(count: int = 300, seed: int = 23):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        template = random_template(rng, int(rng.integers(2, 11)), int(rng.integers(5, 81)))
        yield template, random_params(rng, template, 2)


CASES = list(cases())


def qiskit_states(template: CircuitTemplate, params: np.ndarray) -> np.ndarray:
    """(B, 2**n) Qiskit Statevectors, reordered so qubit 0 is the high bit (as qhil's)."""
    n = template.n_qubits
    states = [Statevector(template.to_qiskit(measure=False, row=row)).data for row in params]
    return np.stack([s.reshape((2,) * n).transpose(range(n - 1, -1, -1)).reshape(-1)
                     for s in states])


def test_300_random_templates_agree_with_qiskit_statevector_in_both_precisions():
    worst128 = worst64 = 0.0
    names = set()
    for template, params in CASES:
        names |= {g.name for g in template.gates}
        bits = basis_bits(template.n_qubits, "cpu").numpy()
        theirs = qiskit_states(template, params)
        marginals = (np.abs(theirs) ** 2) @ bits
        state = SIM128.statevector(template, torch.from_numpy(params)).numpy()
        assert np.abs(state - theirs).max() < 1e-9  # global phase included
        ours128 = (np.abs(state) ** 2) @ bits  # what SIM128.marginals computes from the state
        ours64 = SIM64.marginals(template, torch.from_numpy(params)).numpy()
        worst128 = max(worst128, float(np.abs(ours128 - marginals).max()))
        worst64 = max(worst64, float(np.abs(ours64 - marginals).max()))
    assert worst128 < 1e-6 and worst64 < 1e-5
    assert names == set(GATES)  # the whole gate set was exercised


@pytest.mark.parametrize("index", [i for i in range(0, 300, 10) if CASES[i][0].n_qubits <= 6])
def test_exact_and_parameter_shift_gradients_agree_with_finite_differences(index):
    template, params = CASES[index]
    point = torch.from_numpy(params[:1])
    fd = fd_jacobian(template, point)[0]
    exact = torch.autograd.functional.jacobian(lambda x: SIM128.marginals(template, x)[0], point)
    # a circuit whose marginals ignore its parameters must give zero gradients both ways
    assert torch.allclose(exact[:, 0], fd, atol=1e-6)
    assert torch.allclose(shift_jacobian(template, point)[0], fd, atol=1e-6)


@pytest.mark.parametrize("index", range(5, 300, 10))
def test_qiskit_and_openqasm_round_trips_give_the_same_unitary(index):
    template, params = CASES[index]
    qc = template.to_qiskit(measure=False)
    through_qiskit = CircuitTemplate.from_qiskit(qc).to_qiskit(measure=False)
    text = qasm3.dumps(qc)
    through_qasm = qasm3.loads(CircuitTemplate.from_qasm(text).to_qasm())
    through_qasm.remove_final_measurements()
    values = dict(zip(template.param_names, params[0], strict=True))

    def bound(circuit):
        return circuit.assign_parameters({p: values[_name(p.name)] for p in circuit.parameters})

    reference = Operator(bound(qc))
    assert reference.equiv(Operator(bound(through_qiskit)))
    assert reference.equiv(Operator(bound(through_qasm)))


def _name(name: str) -> str:
    """The template's p<k> from Qiskit's name or its OpenQASM 3 spelling (`_p3` / `p3`)."""
    return name.strip("_")
