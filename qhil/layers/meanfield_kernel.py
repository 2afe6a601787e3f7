"""The mean-field qtDNN's input side, compiled: trig features and prior logits in one kernel.

`MeanFieldQtDNN` (qhil.layers.meanfield) on the hDQNN ansatz computes, in every actor step and
refit, the trig features of the controls (each angle's cos and sin, each CZ index one-hot) and
the mean-field prior's logits (the TD target's traced graph keeps the torch ops: a graph cannot
hold this kernel, and traced they were as fast beside the explorer thread). In torch that is some 150 small ops forward and
200 backward on (B, n) tensors at 10 x 10: their per-op overhead, not their arithmetic, was most
of the surrogate's cost in a training run (benchmarks/results/bench_train_parts.md). Here both
are one pass over each sample (`_forward`), and the backward one more (`_backward`), compiled by
numba (`cache=True`: compiled once per machine, then loaded) and run without the GIL, so the
learner and the refit thread do not queue for it. The same rules as qhil.layers.meanfield (the
module docstring there); values and gradients match the torch path to float rounding
(tests/layers/test_meanfield_compiled.py). CPU tensors only; `available()` says whether numba
imports, and the torch path serves otherwise.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import torch
from torch.autograd.function import once_differentiable

EPS = 1e-4  # as qhil.layers.meanfield.EPS: the prior is clamped to [EPS, 1 - EPS] before logit


class ControlLayout(NamedTuple):
    """Where a control vector's parts sit: layers, qubits, controls per layer, whether the CZ
    pairs come from each layer's two index columns (data) or are `fixed` (P, 2) every layer."""

    layers: int
    n: int
    per_layer: int
    data: bool
    fixed: np.ndarray


@functools.cache
def available() -> bool:
    """Whether numba imports (a core dependency; the torch path serves where it does not)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _kernels():
    """The compiled forward and backward (numba imported and compiled on first use)."""
    from numba import njit

    jit = njit(cache=True, nogil=True)
    return jit(_forward), jit(_backward)


def encode(controls: torch.Tensor, layout: ControlLayout) -> tuple[torch.Tensor, torch.Tensor]:
    """Trig features (B, 2A + n I) and prior logits (B, n) of controls (B, C) on the CPU,
    differentiable w.r.t. the angle columns (the CZ index columns get no gradient)."""
    return _Encode.apply(controls, layout)


class _Encode(torch.autograd.Function):
    @staticmethod
    def forward(ctx, controls, layout):  # type: ignore[override]
        x = controls.detach().contiguous()
        cos, sin, x = torch.cos(x).numpy(), torch.sin(x).numpy(), x.numpy()  # vectorised trig
        batch, (layers, n) = x.shape[0], layout[:2]
        angles = layers * 2 * n
        width = 2 * angles + (n * 2 * layers if layout.data else 0)
        feats, logit = np.zeros((batch, width), x.dtype), np.empty((batch, n), x.dtype)
        saved = np.empty((batch, layers, 5, n), x.dtype)
        pairs = _pairs(x, layout)
        _kernels()[0](cos, sin, pairs, layout.per_layer, EPS, feats, logit, saved)
        ctx.state = (cos, sin, pairs, saved, layout)
        return torch.from_numpy(feats), torch.from_numpy(logit)

    @staticmethod
    @once_differentiable
    def backward(ctx, g_feats, g_logit):  # type: ignore[override]
        cos, sin, pairs, saved, layout = ctx.state
        g_feats = _array(g_feats, cos.shape[0], 2 * layout.layers * 2 * layout.n, cos.dtype)
        g_logit = _array(g_logit, cos.shape[0], layout.n, cos.dtype)
        grad = np.zeros_like(cos)
        _kernels()[1](cos, sin, pairs, layout.per_layer, EPS, saved, g_feats, g_logit, grad)
        return torch.from_numpy(grad), None


def _array(grad: torch.Tensor | None, rows: int, cols: int, dtype) -> np.ndarray:
    """An upstream gradient as a contiguous array (zeros where autograd passed None); only the
    first `cols` columns of the features' gradient are read (the one-hot part has none)."""
    if grad is None:
        return np.zeros((rows, cols), dtype)
    return np.ascontiguousarray(grad.detach().numpy()[:, :cols], dtype=dtype)


def _pairs(x: np.ndarray, layout: ControlLayout) -> np.ndarray:
    """(B, L, P, 2) int64 CZ pairs per sample and layer; (i, i) is no gate."""
    if not layout.data:
        fixed = layout.fixed if len(layout.fixed) else np.zeros((1, 2), np.int64)
        return np.ascontiguousarray(np.broadcast_to(fixed, (x.shape[0], layout.layers, *fixed.shape)))
    blocks = x.reshape(x.shape[0], layout.layers, layout.per_layer)[:, :, 2 * layout.n:]
    index = np.clip(np.rint(blocks), 0, layout.n - 1).astype(np.int64)
    return np.ascontiguousarray(index[:, :, None, :])


# -- the kernels (plain Python over arrays; numba compiles them) ----------------------------------

def _forward(cos, sin, pairs, per_layer, eps, feats, logit, saved):  # pragma: no cover - numba
    """Per sample: features (cos, sin of every angle; one-hot of every CZ index) and the
    mean-field P(1) as logits; saved[b, l] = x2, y1, z1, z2, f of layer l (the backward's)."""
    batch, layers, _, n = saved.shape
    angles = layers * 2 * n
    bx, by, bz = np.empty(n, cos.dtype), np.empty(n, cos.dtype), np.empty(n, cos.dtype)
    for b in range(batch):
        bx[:], by[:], bz[:] = 0.0, 0.0, 1.0
        for layer in range(layers):
            base, col = layer * per_layer, layer * 2 * n
            for j in range(n):
                ca, sa = cos[b, base + 2 * j], sin[b, base + 2 * j]
                cb, sb = cos[b, base + 2 * j + 1], sin[b, base + 2 * j + 1]
                feats[b, col + 2 * j], feats[b, angles + col + 2 * j] = ca, sa
                feats[b, col + 2 * j + 1], feats[b, angles + col + 2 * j + 1] = cb, sb
                y1, z1 = by[j] * ca - bz[j] * sa, by[j] * sa + bz[j] * ca
                x2, z2 = bx[j] * cb + z1 * sb, z1 * cb - bx[j] * sb
                saved[b, layer, 0, j], saved[b, layer, 1, j] = x2, y1
                saved[b, layer, 2, j], saved[b, layer, 3, j] = z1, z2
                saved[b, layer, 4, j] = 1.0
            for p in range(pairs.shape[2]):
                i, k = pairs[b, layer, p, 0], pairs[b, layer, p, 1]
                if i != k:
                    saved[b, layer, 4, i] *= saved[b, layer, 3, k]
                    saved[b, layer, 4, k] *= saved[b, layer, 3, i]
            for j in range(n):
                f = saved[b, layer, 4, j]
                bx[j], by[j], bz[j] = saved[b, layer, 0, j] * f, saved[b, layer, 1, j] * f, saved[b, layer, 3, j]
        for j in range(n):
            p1 = min(max((1.0 - bz[j]) / 2.0, eps), 1.0 - eps)
            logit[b, j] = np.log(p1 / (1.0 - p1))
        if per_layer > 2 * n:  # the data entangler's CZ index columns, one-hot
            for layer in range(layers):
                for d in range(2):
                    v = pairs[b, layer, 0, d]
                    feats[b, 2 * angles + (layer * 2 + d) * n + v] = 1.0


def _backward(cos, sin, pairs, per_layer, eps, saved, g_feats, g_logit, grad):  # pragma: no cover
    """d loss / d controls from the features' (cos, sin part) and the logits' gradients."""
    batch, layers, _, n = saved.shape
    angles = layers * 2 * n
    gx, gy, gz = np.empty(n, cos.dtype), np.empty(n, cos.dtype), np.empty(n, cos.dtype)
    gf, gz2 = np.empty(n, cos.dtype), np.empty(n, cos.dtype)
    for b in range(batch):
        for j in range(n):
            p1 = (1.0 - saved[b, layers - 1, 3, j]) / 2.0
            gx[j], gy[j] = 0.0, 0.0
            gz[j] = -0.5 * g_logit[b, j] / (p1 * (1.0 - p1)) if eps <= p1 <= 1.0 - eps else 0.0
        for layer in range(layers - 1, -1, -1):
            base, col = layer * per_layer, layer * 2 * n
            for j in range(n):
                gf[j] = gx[j] * saved[b, layer, 0, j] + gy[j] * saved[b, layer, 1, j]
                gz2[j] = gz[j]
            for p in range(pairs.shape[2]):
                i, k = pairs[b, layer, p, 0], pairs[b, layer, p, 1]
                if i != k:  # d f_i / d z2_k: i's other CZ factors (none for the data entangler)
                    oi, ok = 1.0, 1.0
                    for q in range(pairs.shape[2]):
                        u, v = pairs[b, layer, q, 0], pairs[b, layer, q, 1]
                        if q != p and u != v:
                            oi *= saved[b, layer, 3, v] if u == i else (saved[b, layer, 3, u] if v == i else 1.0)
                            ok *= saved[b, layer, 3, v] if u == k else (saved[b, layer, 3, u] if v == k else 1.0)
                    gz2[k] += gf[i] * oi
                    gz2[i] += gf[k] * ok
            for j in range(n):
                f = saved[b, layer, 4, j]
                x2, y1, z1, z2 = saved[b, layer, 0, j], saved[b, layer, 1, j], saved[b, layer, 2, j], saved[b, layer, 3, j]
                ca, sa = cos[b, base + 2 * j], sin[b, base + 2 * j]
                cb, sb = cos[b, base + 2 * j + 1], sin[b, base + 2 * j + 1]
                gx2, gy1 = gx[j] * f, gy[j] * f
                gb = gx2 * z2 - gz2[j] * x2
                gx[j], gz1 = gx2 * cb - gz2[j] * sb, gx2 * sb + gz2[j] * cb
                ga = gz1 * y1 - gy1 * z1
                gy[j], gz[j] = gy1 * ca + gz1 * sa, gz1 * ca - gy1 * sa
                c = col + 2 * j
                ga += -sa * g_feats[b, c] + ca * g_feats[b, angles + c]
                gb += -sb * g_feats[b, c + 1] + cb * g_feats[b, angles + c + 1]
                grad[b, base + 2 * j] += ga
                grad[b, base + 2 * j + 1] += gb

