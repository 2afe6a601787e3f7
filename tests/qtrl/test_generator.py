"""Quantum-Train generator: parameter counts, exact probabilities, gradients, the U3 encoding."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from qhil.config import find_profile
from qhil.execution.dispatcher import Dispatcher
from qhil.execution.ledger import Ledger
from qhil.execution.registry import get_provider
from qhil.layers.gradients import straight_through
from qhil.qtrl.circuit import (
    ShotSampler,
    generator_request,
    u3_matrix,
    yxy_angles,
)
from qhil.qtrl.generator import (
    ClassicalWeights,
    PolicyShape,
    QTGenerator,
    entangler_pairs,
    trainable_parameters,
)
from qhil.quantum.simulator import Simulator


def dense_probabilities(angles: np.ndarray) -> np.ndarray:
    """Independent dense numpy reference: full 2**n unitaries, qubit 0 most significant."""
    n_blocks, n = angles.shape[:2]
    state = np.zeros(2 ** n, complex)
    state[0] = 1
    for block in range(n_blocks):
        layer = np.ones((1, 1))
        for q in range(n):
            layer = np.kron(layer, u3_matrix(*angles[block, q]))
        state = layer @ state
        for i, k in entangler_pairs(n):
            bits = (np.arange(2 ** n)[:, None] >> (n - 1 - np.array([i, k]))) & 1
            state = state * np.where(bits.all(axis=1) & (i != k), -1, 1)
    return np.abs(state) ** 2


def test_paper_policy_size_and_qubits():
    shape = PolicyShape(147, 32, 3)
    gen = QTGenerator(shape.n_weights, 3)
    assert shape.n_weights == 4835 and gen.n_qubits == 13
    # the paper's circuit: 13 U3 + 13 CU3 = 78 angles per block, + mapping (14-10, 10-10, 10-1) = 271
    counts = [trainable_parameters(QTGenerator(4835, L)) for L in (3, 7, 13)]
    assert counts == [78 * 3 + 271, 78 * 7 + 271, 78 * 13 + 271] == [505, 817, 1285]
    paper = [1749, 2061, 2529]  # the QNN term grows as the paper's; the constant differs by 1244
    assert [p - c for p, c in zip(paper, counts, strict=True)] == [1244] * 3
    # the CZ-ring variant: 39 U3 angles per block
    cz = [trainable_parameters(QTGenerator(4835, L, entangler="cz")) for L in (3, 7, 13)]
    assert cz == [388, 544, 778]
    assert trainable_parameters(ClassicalWeights(shape)) == 4835


def test_probabilities_match_dense_reference():
    gen = QTGenerator(20, 3, generator=torch.Generator().manual_seed(3), entangler="cz")
    ours = gen.probabilities().detach().double().numpy()
    assert gen.n_qubits == math.ceil(math.log2(20)) == 5
    np.testing.assert_allclose(ours, dense_probabilities(gen.angles.detach().double().numpy()),
                               atol=2e-6)


def test_generated_weights_train_angles_and_mapping_only():
    gen = QTGenerator(100, 2, generator=torch.Generator().manual_seed(0))
    theta = gen()
    assert theta.shape == (100,)
    (theta ** 2).sum().backward()
    grads = {name: p.grad for name, p in gen.named_parameters()}
    assert set(grads) >= {"angles", "cu3_angles", "mapping.0.weight"}
    assert all(g is not None and g.abs().sum() > 0 for g in grads.values())
    assert all(not b.requires_grad for b in gen.buffers())


def test_policy_logits_use_every_weight():
    shape = PolicyShape(4, 3, 2)
    theta = torch.randn(shape.n_weights, requires_grad=True)
    shape.logits(theta, torch.rand(5, 4)).sum().backward()
    assert theta.grad.shape == (shape.n_weights,) and torch.count_nonzero(theta.grad) > 0


def test_yxy_decomposition_reproduces_u3(rng):
    angles = rng.uniform(-2 * np.pi, 2 * np.pi, (64, 3))
    angles[:2, 0] = [0.0, np.pi]  # degenerate cases: sin or cos of theta/2 is zero
    u = u3_matrix(angles[:, 0], angles[:, 1], angles[:, 2])
    a, b, c = yxy_angles(u).T
    ry = lambda x: u3_matrix(x, np.zeros_like(x), np.zeros_like(x))  # noqa: E731
    rx = lambda x: u3_matrix(x, -np.pi / 2 * np.ones_like(x), np.pi / 2 * np.ones_like(x))  # noqa: E731
    rebuilt = ry(a) @ rx(b) @ ry(c)
    overlap = np.abs(np.einsum("bij,bij->b", rebuilt.conj(), u))
    np.testing.assert_allclose(overlap, 2.0, atol=1e-9)


@pytest.mark.parametrize("entangler,layers", [("cz", 8), ("cu3", 2 * (1 + 4 * 2 * 9))])
def test_request_encoding_equals_torch_path(entangler, layers):
    gen = QTGenerator(300, 4, generator=torch.Generator().manual_seed(5), entangler=entangler)
    request = generator_request(gen, shots=None, seed=None)
    # cz: 2 request layers per block; cu3: 2 per stage, 2 CZs (so 2 new stages) per CU3 gate
    assert request.n_layers == layers and request.n_qubits == 9
    sim = Simulator(9, precision="complex128")
    via_request = sim.probabilities(torch.tensor(request.angles), torch.tensor(request.cz))[0]
    np.testing.assert_allclose(via_request.numpy(), gen.probabilities().detach().numpy(), atol=1e-6)


def test_shot_estimate_on_a_provider_and_straight_through_gradient(tmp_path):
    gen = QTGenerator(30, 2, generator=torch.Generator().manual_seed(2))
    with get_provider("local") as provider, Ledger(tmp_path / "ledger.sqlite") as ledger:
        sampler = ShotSampler(Dispatcher(provider, ledger=ledger), shots=20_000)
        estimate = sampler.probabilities(gen, seed=7)
        assert ledger.totals().jobs == 1 and ledger.totals().shots == 20_000
    exact = gen.probabilities()
    assert sampler.shots_used == 20_000 and sampler.jobs == 1
    assert float((estimate - exact.detach()).abs().max()) < 0.02
    mixed = straight_through(estimate, exact)  # the value sampled, the gradient exact
    torch.testing.assert_close(mixed.detach(), estimate)
    (g_mixed,) = torch.autograd.grad((mixed * torch.arange(32.0)).sum(), gen.angles, retain_graph=True)
    (g_exact,) = torch.autograd.grad((exact * torch.arange(32.0)).sum(), gen.angles)
    torch.testing.assert_close(g_mixed, g_exact)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_entangler_pairs_are_valid(n):
    pairs = entangler_pairs(n)
    assert all(0 <= i < n and 0 <= k < n for i, k in pairs)
    assert len(set(pairs)) == len(pairs) and find_profile("local").limits.max_qubits >= n
