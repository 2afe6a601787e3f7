"""Qiskit's circuit library as users bring it: function-style and class-style circuits convert
through Qiskit and through OpenQASM 3 (`qasm3.dumps`), agree with Qiskit's Statevector and
sample within 4 sigma on `local` (and on Aer and Braket's LocalSimulator); instructions a
template cannot hold are refused with one line naming them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit, qasm3
from qiskit.circuit import Parameter
from qiskit.circuit import library as lib
from qiskit.quantum_info import SparsePauliOp, Statevector

from qhil.errors import RequestValidationError
from qhil.execution.registry import get_provider
from qhil.quantum.request import SamplingRequest
from qhil.quantum.simulator import Simulator
from qhil.quantum.template import CircuitTemplate, CircuitTemplateError
from tests.reference import assert_within_shot_noise

SIM = Simulator(precision="complex128")
ENTANGLERS = ["cx", "cy", "cz", "ch", "cs", "csx", "swap", "iswap", "dcx", "ecr", "cp", "crx",
              "cry", "crz", "rxx", "ryy", "rzz", "rzx"]


def _class_style(name: str, *args, **kwargs):
    with warnings.catch_warnings():  # Qiskit 2.1+ deprecates the classes; users still bring them
        warnings.simplefilter("ignore", DeprecationWarning)
        return getattr(lib, name)(*args, **kwargs)


LIBRARY = {
    "zz_feature_map": lambda: lib.zz_feature_map(3, reps=2),
    "z_feature_map": lambda: lib.z_feature_map(3, reps=2),
    "pauli_feature_map": lambda: lib.pauli_feature_map(3, paulis=["X", "ZZ", "YZ"]),
    "efficient_su2": lambda: lib.efficient_su2(3, reps=1),
    "real_amplitudes": lambda: lib.real_amplitudes(4, reps=2, entanglement="circular"),
    "qaoa_ansatz": lambda: lib.qaoa_ansatz(SparsePauliOp(["ZZI", "IZZ", "ZIZ"]), reps=2),
    "pauli_two_design": lambda: lib.pauli_two_design(3, reps=2, seed=5),
    **{f"n_local[{e}]": (lambda e=e: lib.n_local(3, ["ry", "rz"], e, "linear", reps=1))
       for e in ENTANGLERS},
    "RealAmplitudes": lambda: _class_style("RealAmplitudes", 3, reps=2),
    "ZZFeatureMap": lambda: _class_style("ZZFeatureMap", 3, reps=1),
    "EfficientSU2": lambda: _class_style("EfficientSU2", 2, reps=1),
    "PauliFeatureMap": lambda: _class_style("PauliFeatureMap", 2, paulis=["Z", "XY"]),
}


def statevector_marginals(qc: QuantumCircuit, values: np.ndarray) -> np.ndarray:
    """(B, n) P(qubit j reads 1) of the bound circuit, by Qiskit's Statevector."""
    n = qc.num_qubits
    bits = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1  # Qiskit: qubit j = bit j
    return np.array([Statevector(qc.assign_parameters(v)).probabilities() @ bits for v in values])


@pytest.mark.parametrize("name", list(LIBRARY))
def test_library_circuit_converts_through_qiskit_and_openqasm(name):
    qc = LIBRARY[name]()
    via_qiskit = CircuitTemplate.from_qiskit(qc)
    via_qasm = CircuitTemplate.from_qasm(qasm3.dumps(qc))
    assert via_qiskit.n_params == via_qasm.n_params == qc.num_parameters
    values = np.random.default_rng(3).uniform(-np.pi, np.pi, (3, qc.num_parameters))
    expected = statevector_marginals(qc, values)
    for template in (via_qiskit, via_qasm):
        ours = SIM.marginals(template, torch.from_numpy(values)).numpy()
        np.testing.assert_allclose(ours, expected, atol=1e-9)


@pytest.mark.parametrize("provider", ["local", "aer", "braket-local"])
@pytest.mark.parametrize("name", ["zz_feature_map", "qaoa_ansatz", "RealAmplitudes",
                                  "n_local[rzx]"])
def test_library_circuit_samples_within_shot_noise(provider, name, seeded_braket):
    qc = LIBRARY[name]()
    template = CircuitTemplate.from_qiskit(qc)
    values = np.random.default_rng(4).uniform(-np.pi, np.pi, (4, qc.num_parameters))
    shots = 2000
    request = SamplingRequest.from_templates(template, values, shots, seed=11)
    backend = get_provider(provider)
    try:
        marginals = backend.submit(request).result(timeout_s=600).marginals
    finally:
        backend.close()
    ideal = statevector_marginals(qc, values)
    assert_within_shot_noise(marginals, ideal, shots)


def _reset():
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.reset(0)
    return qc


def _mid_measure():
    qc = QuantumCircuit(2, 2)
    qc.measure(0, 0)
    qc.x(0)
    return qc


def _classical_control():
    qc = QuantumCircuit(2, 1)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    return qc


@pytest.mark.parametrize("build, message", [
    (_reset, "instruction 1 (reset): reset is not supported"),
    (_mid_measure, "instruction 1 (x) acts after a measurement of its qubit"),
    (_classical_control, "instruction 1 (if_else): classical control is not supported"),
])
def test_instructions_a_template_cannot_hold_are_refused_in_one_line(build, message):
    with pytest.raises(CircuitTemplateError, match=message.replace("(", r"\(")
                       .replace(")", r"\)")) as info:
        CircuitTemplate.from_qiskit(build())
    assert isinstance(info.value, RequestValidationError) and "\n" not in str(info.value)


def test_barriers_are_read_past_and_global_phase_kept():
    a = Parameter("a")
    qc = QuantumCircuit(2, global_phase=a / 2)
    qc.h(0)
    qc.barrier()
    qc.rzz(a, 0, 1)
    template = CircuitTemplate.from_qiskit(qc)
    assert [g.name for g in template.gates] == ["gphase", "h", "rzz"]
    back = template.to_qiskit(measure=False).assign_parameters([0.7])
    assert abs(float(back.global_phase) - 0.35) < 1e-12
    state = SIM.statevector(template, torch.tensor([[0.7]], dtype=torch.float64))[0].numpy()
    theirs = Statevector(back).data.reshape(2, 2).T.reshape(-1)  # qubit 0 the high bit
    np.testing.assert_allclose(state, theirs, atol=1e-12)
    np.testing.assert_allclose(Statevector(qc.assign_parameters([0.7])).data, Statevector(back).data,
                               atol=1e-12)
