"""The compiled mean-field encoding (qhil.layers.meanfield_kernel) against the torch ops it
replaces: trig features, prior logits and their gradients, for every entangler and both float
widths; and the places that use it (the qtDNN's forward, its refit, its Jacobian, copies)."""

import copy
import pickle

import numpy as np
import pytest
import torch

from qhil import HDQNNAnsatz
from qhil.layers import meanfield_kernel as kernel
from qhil.layers.gradients import strategy
from qhil.layers.hdqnn import ControlMap, QtDNNTrainer
from qhil.layers.meanfield import MeanFieldQtDNN

CASES = [(4, 2, "data"), (10, 10, "data"), (5, 3, "ring"), (3, 2, "chain"), (1, 2, "ring"),
         (2, 3, "data")]


def _pair(n: int, layers: int, entangler: str, dtype: torch.dtype, batch: int = 64):
    """The same qtDNN on the kernel and on the torch ops, and controls with the CZ index
    columns spread over and beyond 0..n-1 (rounded and clamped) and equal pairs (no gate)."""
    ansatz = HDQNNAnsatz(n, layers, entangler)
    raw = torch.randn(batch, ansatz.control_dim, dtype=dtype, generator=torch.Generator().manual_seed(n))
    controls = ControlMap(ansatz)(3 * raw).detach()
    if entangler == "data":
        blocks = controls.view(batch, layers, ansatz.per_layer)
        blocks[:8, :, 2 * n:] = torch.tensor([-0.7, 0.49]).to(dtype)  # both round to 0: no gate
        blocks[8:16, :, 2 * n] = n + 3.0  # clamped to n - 1
    compiled = MeanFieldQtDNN(ansatz, [8]).to(dtype)
    plain = copy.deepcopy(compiled)
    plain.use_kernel = False
    return compiled, plain, controls


@pytest.mark.parametrize("n,layers,entangler", CASES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_features_logits_and_gradients_match_the_torch_ops(n, layers, entangler, dtype):
    compiled, plain, controls = _pair(n, layers, entangler, dtype)
    assert compiled.compiled and not plain.compiled
    tight = dtype == torch.float64
    outputs, grads = [], []
    for module in (compiled, plain):
        x = controls.clone().requires_grad_(True)
        features, logit = module.encode(x)
        up = torch.randn(features.shape, dtype=dtype, generator=torch.Generator().manual_seed(1))
        up_logit = torch.randn(logit.shape, dtype=dtype, generator=torch.Generator().manual_seed(2))
        ((features * up).sum() + (logit * up_logit).sum()).backward()
        outputs.append((features, logit))
        grads.append(x.grad)
    (f_k, l_k), (f_t, l_t) = outputs
    assert torch.equal(f_k[:, 2 * len(compiled.features.angle_cols):],
                       f_t[:, 2 * len(compiled.features.angle_cols):])  # the one-hot part
    assert torch.allclose(f_k, f_t, atol=1e-12 if tight else 1e-6)
    # float32: the kernel's intermediates are double, the torch ops' single (logit near the
    # clamp amplifies the difference)
    assert torch.allclose(l_k, l_t, atol=1e-9 if tight else 1e-3)
    scale = grads[1].abs().max()
    assert torch.allclose(grads[0], grads[1], atol=(1e-10 if tight else 1e-3) * scale)
    index = ~torch.isin(torch.arange(controls.shape[1]), compiled.features.angle_cols)
    assert torch.all(grads[0][:, index] == 0)  # no gradient into the CZ index columns


def test_the_forward_the_refit_and_the_jacobian_run_on_the_kernel():
    compiled, plain, controls = _pair(4, 3, "data", torch.float32)
    with torch.no_grad():
        compiled.residual[-1].weight.normal_()
        plain.load_state_dict(compiled.state_dict())
        assert torch.allclose(compiled(controls), plain(controls), atol=1e-5)
    targets = torch.rand(len(controls), 4, generator=torch.Generator().manual_seed(3))
    losses = [QtDNNTrainer(m, 1e-2, 4, 16).refit(controls, targets, torch.Generator().manual_seed(4))
              for m in (compiled, plain)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-4)
    cols = ControlMap(compiled.ansatz).angle_columns()
    jac = [strategy("qtdnn", qtdnn=m).jacobian(controls[:5], type("C", (), {"columns": cols}))
           for m in (compiled, plain)]
    assert torch.allclose(jac[0], jac[1], atol=1e-4)


def test_a_copy_and_a_pickle_keep_running_the_kernel():
    compiled, _, controls = _pair(3, 2, "ring", torch.float32)
    with torch.no_grad():
        expected = compiled(controls)
        for other in (copy.deepcopy(compiled), pickle.loads(pickle.dumps(compiled))):
            assert other.compiled and torch.equal(other(controls), expected)


def test_the_state_dict_has_no_kernel_entries():
    """Checkpoints written with and without the kernel load into each other."""
    compiled, plain, _ = _pair(2, 2, "data", torch.float32)
    assert list(compiled.state_dict()) == list(plain.state_dict())
    assert set(np.unique([k.split(".")[0] for k in compiled.state_dict()])) == {"residual"}


def test_numba_is_there():
    """numba is a core dependency: the kernel is what a mean-field qtDNN runs on the CPU."""
    assert kernel.available() and MeanFieldQtDNN(HDQNNAnsatz(2, 1), [4]).compiled
