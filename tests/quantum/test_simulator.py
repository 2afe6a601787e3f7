import numpy as np
import pytest
import torch

from qhil import HDQNNAnsatz, Simulator
from qhil.quantum.noise import NoiseModel
from tests.conftest import random_controls
from tests.reference import reference_marginals, reference_probabilities


@pytest.mark.parametrize("n,layers,entangler", [(1, 1, "data"), (3, 2, "data"), (5, 4, "data"),
                                                (4, 3, "ring"), (6, 2, "chain"), (7, 3, "data")])
def test_exact_probabilities_match_dense_reference(rng, n, layers, entangler):
    ansatz = HDQNNAnsatz(n, layers, entangler)
    angles, cz = ansatz.split(random_controls(rng, ansatz, 6))
    sim = Simulator(n, precision="complex128")
    probs = sim.probabilities(torch.from_numpy(angles), torch.from_numpy(cz)).numpy()
    expected = np.stack([reference_probabilities(a, c) for a, c in zip(angles, cz, strict=False)])
    np.testing.assert_allclose(probs, expected, atol=1e-10)


def test_complex64_marginals_within_1e5_of_reference(rng):
    ansatz = HDQNNAnsatz(6, 5)
    angles, cz = ansatz.split(random_controls(rng, ansatz, 16))
    marg = Simulator(6).marginals(torch.from_numpy(angles), torch.from_numpy(cz))
    assert marg.dtype == torch.float32
    np.testing.assert_allclose(marg.numpy(), reference_marginals(angles, cz), atol=1e-5)


def test_statevector_is_normalised_and_includes_last_cz(rng):
    ansatz = HDQNNAnsatz(4, 3)
    angles, cz = ansatz.split(random_controls(rng, ansatz, 5))
    state = Simulator(4, precision="complex128").statevector(
        torch.from_numpy(angles), torch.from_numpy(cz))
    np.testing.assert_allclose(state.abs().square().sum(-1).numpy(), 1.0, atol=1e-12)


def test_sampling_is_seeded_and_unbiased(rng):
    ansatz = HDQNNAnsatz(5, 3)
    angles, cz = (torch.from_numpy(x) for x in ansatz.split(random_controls(rng, ansatz, 4)))
    sim = Simulator(5)
    draw = lambda seed: sim.sample(angles, cz, 20000, torch.Generator().manual_seed(seed))  # noqa: E731
    a, b, c = draw(7), draw(7), draw(8)
    assert torch.equal(a.indices, b.indices) and not torch.equal(a.indices, c.indices)
    exact = sim.marginals(angles, cz).double()
    sigma = torch.sqrt(exact * (1 - exact) / 20000).clamp(min=1e-4)
    assert ((a.marginals - exact).abs() <= 5 * sigma).all()


def test_gradients_flow_through_exact_marginals(rng):
    ansatz = HDQNNAnsatz(3, 2)
    angles, cz = ansatz.split(random_controls(rng, ansatz, 2))
    x = torch.tensor(angles, requires_grad=True)
    sim = Simulator(3, precision="complex128")
    sim.marginals(x, torch.from_numpy(cz)).sum().backward()
    eps, bumped = 1e-6, angles.copy()
    bumped[0, 1, 2, 0] += eps
    numeric = (reference_marginals(bumped, cz).sum() - reference_marginals(angles, cz).sum()) / eps
    assert x.grad[0, 1, 2, 0].item() == pytest.approx(numeric, abs=1e-5)


def test_readout_and_depolarising_noise(rng):
    ansatz = HDQNNAnsatz(3, 4)
    angles, cz = (torch.from_numpy(x) for x in ansatz.split(random_controls(rng, ansatz, 3)))
    ideal = Simulator(3).marginals(angles, cz)
    full = NoiseModel(readout_p01=(0.1,) * 3, readout_p10=(0.2,) * 3, depolarizing_per_layer=1.0)
    noisy = Simulator(3, noise=full).marginals(angles, cz)
    # fully depolarised: every qubit reads 1 with 0.5, then readout maps 0.5 -> 0.1 + 0.5 * 0.7
    np.testing.assert_allclose(noisy.numpy(), 0.45, atol=1e-6)
    mild = NoiseModel(readout_p01=(0.0,) * 3, readout_p10=(0.0,) * 3, depolarizing_per_layer=0.1)
    shrink = Simulator(3, noise=mild).marginals(angles, cz)
    np.testing.assert_allclose((shrink - 0.5).numpy(), 0.9 ** 4 * (ideal - 0.5).numpy(), atol=1e-6)


def test_sampled_readout_error_shifts_marginals():
    sim = Simulator(2, noise=NoiseModel(readout_p01=(0.25, 0.0), readout_p10=(0.0, 0.5)))
    angles = torch.zeros(1, 1, 2, 2)
    angles[0, 0, 1, 0] = np.pi  # qubit 1 in |1>, qubit 0 in |0>
    batch = sim.sample(angles, torch.zeros(1, 1, 1, 2, dtype=torch.long), 40000,
                       torch.Generator().manual_seed(0))
    np.testing.assert_allclose(batch.marginals.numpy()[0], [0.25, 0.5], atol=0.02)


def test_tables_cached_under_inference_mode_still_support_autograd(rng):
    from qhil.quantum import statevector

    for table in (statevector.basis_bits, statevector.cz_sign_table, statevector.cz_sign_table_as):
        table.cache_clear()
    ansatz = HDQNNAnsatz(3, 2)
    angles, cz = (torch.from_numpy(x) for x in ansatz.split(random_controls(rng, ansatz, 2)))
    sim = Simulator(3)
    with torch.inference_mode():  # as the local provider runs: the tables are cached here first
        sim.marginals(angles, cz)
    x = angles.float().requires_grad_()
    sim.marginals(x, cz).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
