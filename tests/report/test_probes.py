"""Probe circuits: GHZ expressed in the RX/RY + CZ gate set, and the exact distributions."""

from __future__ import annotations

import numpy as np
import pytest

from qhil.report.probes import ProbeSize, build_probes, ghz_request, ideal_probabilities
from tests.reference import reference_probabilities


@pytest.mark.parametrize("n_qubits", [1, 2, 3, 5, 7])
def test_ghz_gives_half_all_zeros_half_all_ones(n_qubits):
    probs = ideal_probabilities(ghz_request(n_qubits, batch=2, shots=10))
    expected = np.zeros(2 ** n_qubits)
    expected[0] = expected[-1] = 0.5
    np.testing.assert_allclose(probs, np.stack([expected] * 2), atol=1e-12)


@pytest.mark.parametrize("n_qubits", [2, 4])
def test_ghz_agrees_with_the_dense_reference(n_qubits):
    request = ghz_request(n_qubits, batch=1, shots=10)
    reference = reference_probabilities(request.hdqnn_arrays[0][0], request.hdqnn_arrays[1][0])
    expected = np.zeros(2 ** n_qubits)
    expected[0] = expected[-1] = 0.5
    np.testing.assert_allclose(reference, expected, atol=1e-12)


def test_ghz_batch_is_one_circuit_structure():
    request = ghz_request(4, batch=6, shots=10)
    assert len(request.structures()) == 1 and request.n_layers == 4


def test_probe_workload_matches_the_configured_size():
    size = ProbeSize(n_qubits=3, n_layers=5, batch=4, shots=200)
    probes = build_probes(size, seed=1)
    assert [p.name for p in probes] == ["hdqnn-data", "hdqnn-fixed", "ghz", "random-pqc"]
    for probe in probes:
        assert probe.request.n_qubits == 3 and probe.request.batch_size == 4
        assert probe.request.shots == 200
        np.testing.assert_allclose(probe.ideal.sum(axis=1), 1.0, atol=1e-12)
    depths = {p.name: p.request.n_layers for p in probes}
    assert depths["hdqnn-data"] == depths["hdqnn-fixed"] == depths["random-pqc"] == 5
    assert len(probes[1].request.structures()) == 1 and len(probes[3].request.structures()) == 1


def test_ideal_distributions_match_the_dense_reference():
    for probe in build_probes(ProbeSize(n_qubits=3, n_layers=3, batch=3, shots=10), seed=2):
        for row in range(3):
            reference = reference_probabilities(probe.request.hdqnn_arrays[0][row], probe.request.hdqnn_arrays[1][row])
            np.testing.assert_allclose(probe.ideal[row], reference, atol=1e-10)


def test_probes_are_seeded():
    a = build_probes(ProbeSize(3, 2, 2, 10), seed=5)
    b = build_probes(ProbeSize(3, 2, 2, 10), seed=5)
    c = build_probes(ProbeSize(3, 2, 2, 10), seed=6)
    assert a[0].request.digest() == b[0].request.digest() != c[0].request.digest()
