import numpy as np
import pytest
import torch

from qhil import HDQNNAnsatz
from qhil.errors import RequestValidationError, UserError


def test_control_dim_matches_the_paper():
    assert HDQNNAnsatz(10, 10).control_dim == 220
    assert HDQNNAnsatz(10, 10, "ring").control_dim == 200


def test_layout_is_layer_major_with_cz_indices_rounded_and_clamped():
    ansatz = HDQNNAnsatz(3, 2)
    controls = torch.arange(16, dtype=torch.float64).reshape(1, 16) / 10
    controls[0, 6:8] = torch.tensor([1.49, 7.0])     # layer 0: CZ(1, clamp 7 -> 2)
    controls[0, 14:16] = torch.tensor([-3.0, 0.4])   # layer 1: CZ(0, 0) -> no gate
    angles, cz = ansatz.split(controls)
    assert angles.shape == (1, 2, 3, 2) and cz.shape == (1, 2, 1, 2)
    assert angles[0, 0, 2].tolist() == pytest.approx([0.4, 0.5])   # qubit 2: RX at 4, RY at 5
    assert angles[0, 1, 0].tolist() == pytest.approx([0.8, 0.9])   # layer 1 starts at 8
    assert cz[0, :, 0].tolist() == [[1, 2], [0, 0]]


def test_fixed_ring_pattern_is_shared_by_every_sample():
    ansatz = HDQNNAnsatz(4, 2, "ring")
    req = ansatz.request(np.zeros((5, ansatz.control_dim)), shots=10)
    assert ansatz.fixed_pairs() == [(0, 1), (1, 2), (2, 3), (3, 0)]
    assert len(req.structures()) == 1 and req.hdqnn_arrays[1].shape == (5, 2, 4, 2)


@pytest.mark.parametrize("controls,shots,match", [
    (np.full((2, 16), np.nan), 10, "finite"),
    (np.zeros((2, 15)), 10, "shape"),
    (np.zeros((2, 16)), 0, "shots"),
    (np.zeros((2, 16)), 2.5, "shots"),
])
def test_bad_requests_are_refused(controls, shots, match):
    with pytest.raises(RequestValidationError, match=match):
        HDQNNAnsatz(3, 2).request(controls, shots=shots)


def test_bad_ansatz_is_a_user_error():
    with pytest.raises(UserError):
        HDQNNAnsatz(3, 2, "star")


def test_digest_depends_on_everything_that_changes_the_result(rng):
    ansatz = HDQNNAnsatz(3, 2)
    c = rng.normal(size=(4, ansatz.control_dim))
    base = ansatz.request(c, shots=10, seed=1).digest()
    assert base == ansatz.request(c.copy(), shots=10, seed=1).digest()
    assert base != ansatz.request(c, shots=11, seed=1).digest()
    assert base != ansatz.request(c, shots=10, seed=2).digest()
    c[0, 0] += 1e-9
    assert base != ansatz.request(c, shots=10, seed=1).digest()
