"""Template requests in the adapters' own batching: Braket ProgramSets of CircuitBindings, one
Qiskit PUB per template, the Braket program text, and pricing by gate steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qhil.adapters.braket import BraketProvider
from qhil.adapters.braket_circuits import template_bindings
from qhil.adapters.qiskit_circuits import translate
from qhil.config import find_profile
from qhil.execution.pricing import calibration_for, job_cost_usd, shot_duration_s
from qhil.execution.registry import get_provider
from qhil.quantum.request import SamplingRequest
from qhil.quantum.simulator import Simulator
from qhil.quantum.template import Angle, CircuitTemplate, Gate
from qhil.quantum.template_random import random_params, random_template
from tests.adapters.test_braket_provider import local_profile
from tests.reference import assert_within_shot_noise


def two_templates(batch: int, shots: int | None = 400):
    rng = np.random.default_rng(8)
    a, b = random_template(rng, 3, 12, n_params=3), random_template(rng, 3, 9, n_params=3)
    params = random_params(rng, a, batch)
    index = (np.arange(batch) // 7) % 2  # runs of 7 rows per template
    return SamplingRequest.from_templates([a, b], params, shots, template_index=index)


def exact(request):
    sim = Simulator(precision="complex128")
    out = np.zeros((request.batch_size, request.n_qubits))
    for i, t in enumerate(request.templates):
        rows = np.flatnonzero(request.template_index == i)
        out[rows] = sim.marginals(t, torch.from_numpy(request.params[rows])).numpy()
    return out


def test_braket_program_set_of_circuit_bindings_keeps_row_order(seeded_braket):
    request = two_templates(30)
    bindings = template_bindings(request)
    assert [len(b.rows) for b in bindings][:3] == [7, 7, 7]
    assert bindings[0].structure is bindings[2].structure  # one Structure per template
    with BraketProvider(local_profile(local_mode="program_set")) as provider:
        result = provider.submit(request).result(timeout_s=600)
    assert_within_shot_noise(result.marginals, exact(request), 400)


def test_braket_program_text_uses_native_gates_and_declares_used_inputs():
    template = CircuitTemplate(2, [Gate("crx", (0, 1), (Angle(1, 2.0, 0.5),)), Gate("sx", (1,))],
                               n_params=3)
    qasm = template_bindings(SamplingRequest.from_templates(
        template, np.zeros((1, 3)), 10))[0].structure.qasm
    assert "ctrl @" not in qasm and "cnot q[0], q[1];" in qasm and "v q[1];" in qasm
    assert "input float p_1;" in qasm and "p_0" not in qasm and "p_2" not in qasm


def test_qiskit_one_pub_per_template_with_a_rows_by_angles_array():
    request = two_templates(20)
    pubs = translate(request)
    assert len(pubs) == 2 and sorted(len(p.rows) for p in pubs) == [7, 13]
    for pub in pubs:
        assert pub.values.shape == (len(pub.rows), pub.circuit.num_parameters)


def test_pricing_counts_template_gate_steps():
    profile = find_profile("ibm-torino")
    deep = CircuitTemplate(2, [Gate("cx", (0, 1))] * 10, n_params=0)
    shallow = CircuitTemplate(2, [Gate("h", (0,))], n_params=0)
    cal = calibration_for(profile)
    as_request = lambda t: SamplingRequest.from_templates(t, np.zeros((4, 0)), 1000)  # noqa: E731
    assert shot_duration_s(cal, as_request(deep)) > shot_duration_s(cal, as_request(shallow))
    assert job_cost_usd(profile, as_request(deep)) > job_cost_usd(profile, as_request(shallow))


def every_gate_template(rng: np.random.Generator) -> CircuitTemplate:
    """Every table gate once, in random order on random qubits of 4, with random polynomial
    angles of 3 parameters (Hadamards first, so no gate acts on a bare basis state)."""
    from qhil.quantum.template import GATES
    from qhil.quantum.template_random import random_angle

    gates = [Gate("h", (q,)) for q in range(4)]
    for name in rng.permutation(sorted(GATES)):
        spec = GATES[name]
        qubits = tuple(int(q) for q in rng.choice(4, size=spec.qubits, replace=False))
        gates.append(Gate(str(name), qubits, tuple(random_angle(rng, 3) for _ in range(spec.angles))))
    return CircuitTemplate(4, gates, n_params=3)


@pytest.mark.parametrize("provider", ["local", "aer", "braket-local"])
def test_every_gate_samples_within_shot_noise(provider, seeded_braket):
    rng = np.random.default_rng(23)
    template = every_gate_template(rng)
    shots = 4000
    request = SamplingRequest.from_templates(template, random_params(rng, template, 4), shots,
                                             seed=5)
    with get_provider(provider) as backend:
        marginals = backend.submit(request).result(timeout_s=600).marginals
    ideal = exact(request)
    assert_within_shot_noise(marginals, ideal, shots)


def test_local_gives_exact_probabilities_for_an_exact_request_that_asks_for_counts():
    template = CircuitTemplate(3, [Gate("ry", (0,), (Angle(0),)), Gate("cx", (0, 1)),
                                   Gate("rx", (2,), (Angle(1),))], n_params=2)
    params = np.array([[0.3, 1.1], [2.0, -0.4]])
    provider = get_provider("local")
    asked = provider.submit(SamplingRequest.from_templates(template, params, None)).result()
    want = Simulator(precision="complex128").probabilities(
        template, torch.from_numpy(params)).numpy()
    np.testing.assert_allclose(asked.probabilities, want, atol=1e-6)
    np.testing.assert_allclose(asked.probabilities @ np.array(
        [[(i >> (2 - q)) & 1 for q in range(3)] for i in range(8)]), asked.marginals, atol=1e-6)
    unasked = SamplingRequest.from_templates(template, params, None, counts=False)
    sampled = SamplingRequest.from_templates(template, params, 100)
    assert provider.submit(unasked).result().probabilities is None
    assert provider.submit(sampled).result().probabilities is None
