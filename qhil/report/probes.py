"""The probe workload: circuits every provider runs, each with its exact output distribution.

Every probe is a SamplingRequest (hDQNN templates: layers of RX then RY on every qubit, then CZ
pairs; or the user's template), so it goes
through the same provider contract as training. Ideal distributions come from the embedded
simulator without noise.

GHZ in this gate set: CNOT(c -> t) = RY(pi/2)_t . CZ(c, t) . RY(-pi/2)_t, so layer 1 puts qubit 0
into |+> (RY(pi/2)) and qubit 1 into the CNOT's basis change (RY(-pi/2)), CZ(0, 1); layer k
finishes the CNOT on qubit k-1 and starts the next on qubit k, CZ(k-1, k); the last layer finishes
on qubit n-1. n layers; (|0...0> + |1...1>) / sqrt(2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.quantum.request import SamplingRequest
from qhil.quantum.simulator import Simulator


@dataclass(frozen=True)
class Probe:
    """One probe batch and its exact basis-state distribution per circuit (B, 2**n)."""

    name: str
    description: str
    request: SamplingRequest
    ideal: np.ndarray


@dataclass(frozen=True)
class ProbeSize:
    """Size of the probe workload: the configuration's register, depth, batch and shots."""

    n_qubits: int
    n_layers: int
    batch: int
    shots: int


def ghz_arrays(n_qubits: int) -> tuple[np.ndarray, np.ndarray]:
    """Angles (1, n, n, 2) and CZ pairs (1, n, 1, 2) of an n-qubit GHZ circuit."""
    angles = np.zeros((1, n_qubits, n_qubits, 2))
    cz = np.zeros((1, n_qubits, 1, 2), dtype=np.int64)
    angles[0, 0, 0, 1] = np.pi / 2
    for layer in range(n_qubits - 1):
        if layer > 0:
            angles[0, layer, layer, 1] = np.pi / 2
        angles[0, layer, layer + 1, 1] = -np.pi / 2
        cz[0, layer, 0] = (layer, layer + 1)
    if n_qubits > 1:
        angles[0, n_qubits - 1, n_qubits - 1, 1] = np.pi / 2
    return angles, cz


def ghz_request(n_qubits: int, batch: int, shots: int, seed: int | None = None) -> SamplingRequest:
    """`batch` copies of the GHZ circuit (one circuit structure)."""
    angles, cz = ghz_arrays(n_qubits)
    return SamplingRequest.from_hdqnn(np.repeat(angles, batch, 0), np.repeat(cz, batch, 0), shots,
                                      seed, {"purpose": "compare", "probe": "ghz"})


def ideal_probabilities(request: SamplingRequest) -> np.ndarray:
    """Exact noiseless basis-state probabilities (B, 2**n) from the embedded simulator (its
    hDQNN kernel where every template is an hDQNN one)."""
    if request.hdqnn_arrays is None:
        return _template_probabilities(request)
    angles, cz = request.hdqnn_arrays
    sim = Simulator(request.n_qubits, precision="complex128")
    with torch.inference_mode():
        probs = sim.probabilities(torch.from_numpy(angles), torch.from_numpy(cz))
    probs = probs.double().cpu().numpy()
    return probs / probs.sum(axis=1, keepdims=True)


def build_probes(size: ProbeSize, seed: int = 0, circuit=None) -> list[Probe]:
    """hDQNN data / fixed entangler, GHZ, a random fixed-entangler PQC of the same depth, and
    the user's circuit template (`compare --circuit`) where given."""
    rng = np.random.default_rng(seed)
    requests = [
        ("hdqnn-data", "hDQNN ansatz, data-dependent CZ pairs",
         _hdqnn(size, "data", rng, seed)),
        ("hdqnn-fixed", "hDQNN ansatz, fixed ring entangler",
         _hdqnn(size, "ring", rng, seed)),
        ("ghz", f"GHZ state on {size.n_qubits} qubits ({size.n_qubits} layers)",
         ghz_request(size.n_qubits, size.batch, size.shots, seed)),
        ("random-pqc", f"random fixed-entangler (chain) PQC, {size.n_layers} layers",
         _random_pqc(size, rng, seed)),
    ]
    if circuit is not None:
        requests.append(("user-circuit", f"{circuit.name}: {circuit.n_qubits} qubits, "
                         f"{len(circuit.gates)} gates, random inputs in [-pi, pi)",
                         template_probe_request(circuit, size, rng, seed)))
    return [Probe(name, text, req, ideal_probabilities(req)) for name, text, req in requests]


def template_probe_request(template, size: ProbeSize, rng: np.random.Generator,
                           seed: int) -> SamplingRequest:
    """`size.batch` rows of the template with parameters uniform in [-pi, pi)."""
    params = rng.uniform(-np.pi, np.pi, (size.batch, template.n_params))
    return SamplingRequest.from_templates(template, params, size.shots, seed,
                                          tags={"purpose": "compare", "probe": "user-circuit"})


def _template_probabilities(request: SamplingRequest) -> np.ndarray:
    from qhil.quantum.request import template_rows
    from qhil.quantum.simulator import Simulator

    sim = Simulator(precision="complex128")
    probs = np.zeros((request.batch_size, 2 ** request.n_qubits))
    with torch.inference_mode():
        for template, rows in template_rows(request):
            probs[rows] = sim.probabilities(template, torch.from_numpy(request.params[rows])).numpy()
    return probs / probs.sum(axis=1, keepdims=True)


def _hdqnn(size: ProbeSize, entangler: str, rng: np.random.Generator,
           seed: int) -> SamplingRequest:
    """Controls like a trained PreDNN emits: angles pi * tanh(z), CZ indices spread over 0..n-1."""
    ansatz = HDQNNAnsatz(size.n_qubits, size.n_layers, entangler)
    blocks = np.pi * np.tanh(rng.normal(size=(size.batch, size.n_layers, ansatz.per_layer)))
    if entangler == "data":
        blocks[:, :, 2 * size.n_qubits:] = rng.integers(
            0, size.n_qubits, (size.batch, size.n_layers, 2))
    angles, cz = ansatz.split(blocks.reshape(size.batch, -1))
    return SamplingRequest.from_hdqnn(angles, cz, size.shots, seed,
                                      {"purpose": "compare", "probe": f"hdqnn-{entangler}"})


def _random_pqc(size: ProbeSize, rng: np.random.Generator, seed: int) -> SamplingRequest:
    """Uniform angles in [0, 2 pi) with the chain entangler."""
    ansatz = HDQNNAnsatz(size.n_qubits, size.n_layers, "chain")
    controls = rng.uniform(0, 2 * np.pi, (size.batch, ansatz.control_dim))
    angles, cz = ansatz.split(controls)
    return SamplingRequest.from_hdqnn(angles, cz, size.shots, seed,
                                      {"purpose": "compare", "probe": "random-pqc"})
