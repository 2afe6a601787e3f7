"""An independent dense-matrix reference for the hDQNN circuit (numpy, small n only)."""

from __future__ import annotations

import math

import numpy as np


def rx(a: float) -> np.ndarray:
    c, s = np.cos(a / 2), np.sin(a / 2)
    return np.array([[c, -1j * s], [-1j * s, c]])


def ry(b: float) -> np.ndarray:
    c, s = np.cos(b / 2), np.sin(b / 2)
    return np.array([[c, -s], [s, c]])


def cz_diagonal(n: int, i: int, k: int) -> np.ndarray:
    index = np.arange(2 ** n)
    bit = lambda q: (index >> (n - 1 - q)) & 1  # noqa: E731
    return np.where((bit(i) & bit(k)) == 1, -1.0, 1.0) if i != k else np.ones(2 ** n)


def reference_probabilities(angles: np.ndarray, cz: np.ndarray) -> np.ndarray:
    """angles (L, n, 2), cz (L, P, 2) -> (2**n,) probabilities, qubit 0 most significant."""
    layers, n, _ = angles.shape
    state = np.zeros(2 ** n, dtype=complex)
    state[0] = 1
    for layer in range(layers):
        op = np.array([[1.0]])
        for q in range(n):
            op = np.kron(op, ry(angles[layer, q, 1]) @ rx(angles[layer, q, 0]))
        state = op @ state
        for i, k in cz[layer]:
            state = cz_diagonal(n, int(i), int(k)) * state
    return np.abs(state) ** 2


def reference_marginals(angles: np.ndarray, cz: np.ndarray) -> np.ndarray:
    """(B, L, n, 2), (B, L, P, 2) -> (B, n) exact P(qubit j reads 1)."""
    n = angles.shape[2]
    bits = (np.arange(2 ** n)[:, None] >> np.arange(n - 1, -1, -1)) & 1
    return np.stack([reference_probabilities(a, c) @ bits for a, c in zip(angles, cz, strict=False)])


def binomial_band(ideal: np.ndarray, shots: int,
                  false_alarm: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Per-marginal (low, high) that every `shots`-shot frequency stays within, bar `false_alarm`.

    Exact binomial tails, the false-alarm rate split over both tails of every marginal (Bonferroni).
    A Gaussian 5-sigma band is too narrow on the skewed side of p near 0 or 1: at p = 0.992 and
    400 shots it fails one run in 13,000 per marginal, one in 1,900 over 101 circuits.
    """
    counts = np.arange(shots + 1)
    log_choose = np.array([math.lgamma(shots + 1) - math.lgamma(k + 1) - math.lgamma(shots - k + 1)
                           for k in counts])
    p = np.clip(np.asarray(ideal, dtype=float), 1e-300, 1 - 1e-16)[..., None]
    pmf = np.exp(log_choose + counts * np.log(p) + (shots - counts) * np.log1p(-p))
    tail = false_alarm / (2 * p.size)
    below = np.cumsum(pmf, axis=-1)                         # P(X <= k)
    above = np.cumsum(pmf[..., ::-1], axis=-1)[..., ::-1]   # P(X >= k)
    low = np.argmax(below > tail, axis=-1)                  # P(X < low) <= tail
    high = shots - np.argmax(above[..., ::-1] > tail, axis=-1)  # P(X > high) <= tail
    return low / shots, high / shots


def assert_within_shot_noise(marginals: np.ndarray, ideal: np.ndarray, shots: int,
                             slack: float = 0.0) -> None:
    """Sampled marginals inside `binomial_band` of the exact ones, widened by `slack` (noise)."""
    low, high = binomial_band(ideal, shots)
    outside = (marginals < low - slack) | (marginals > high + slack)
    assert not outside.any(), f"outside the shot-noise band at {np.argwhere(outside).tolist()}"


SPOOLED = """name = "chaos-spooled"
kind = "chaos"
device = "embedded"
[limits]
max_qubits = 8
[options]
inner = "local"
seed = 5
latency_median_s = {median_s}
latency_p95_s = {p95_s}
service_dir = "{service}"
"""


def spooled_profile(path, service, median_s: float, p95_s: float):
    """A chaos profile whose service keeps its jobs on disk apart from the process that sent
    them, as a cloud QPU does (a killed sender's job in flight can be re-attached); `path`."""
    path.write_text(SPOOLED.format(service=service, median_s=median_s, p95_s=p95_s))
    return path


def spooled_billing_profile(path, service, median_s: float, p95_s: float):
    """The shipped `chaos-faults` profile (throttled and timed-out submits, lost and duplicated
    results, priced like a QPU) with its service keeping jobs on disk (`service_dir`), as a
    cloud QPU does: what a killed explorer's re-attachment is measured on; `path`."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    text = (root / "providers" / "chaos-faults.toml").read_text()
    text = text.replace('name = "chaos-faults"', 'name = "chaos-faults-spooled"')
    text = text.replace('"calibration/chaos-priced.toml"',
                        f'"{root / "calibration" / "chaos-priced.toml"}"')
    text = re.sub(r"latency_median_s = .*", f"latency_median_s = {median_s}", text)
    text = re.sub(r"latency_p95_s = .*", f"latency_p95_s = {p95_s}", text)
    path.write_text(f'{text.rstrip()}\nservice_dir = "{service}"\n')
    return path


def fidelity_figures_before(td3, sim, loss, obs, samples: int = 64) -> dict[str, float]:
    """The learner's fidelity check as qhil.rl.fidelity computed it before one adjoint walk served
    both exact sides: a VJP walk of every sample through `exact_marginals`, a separate Jacobian
    walk of the first `samples`, and the method's Jacobian of the whole minibatch, sliced (the
    surrogate's by one backward per output). The reference its faster path is tested against
    (and benchmarks/bench_exact_gradient.py times)."""
    import torch

    from qhil.layers.fidelity import fidelity
    from qhil.layers.gradients import Surrogate, jacobian
    from qhil.layers.hdqnn import exact_jacobian, exact_marginals
    from qhil.rl.fidelity import _flat, pre_parameters

    actor, params = td3.actor, pre_parameters(td3.actor)
    g = _flat(torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True), params)
    q_in, clinks = actor.controls(obs)
    y = exact_marginals(sim, actor.ansatz, q_in)
    exact_loss = -td3.qf1(obs, actor.finish(y, clinks)).mean()
    *grads, upstream = torch.autograd.grad(exact_loss, [*params, y], allow_unused=True)
    g_exact = _flat(tuple(grads), params)
    block = td3.block
    jac = (jacobian(block.strategy.predict, block.last_controls, block.circuit.columns)
           if isinstance(block.strategy, Surrogate) else block.jacobian())[:samples]
    jac_exact = exact_jacobian(sim, actor.ansatz, td3.block.last_controls[:samples],
                               actor.control_map.angle_columns())
    return fidelity(g, g_exact, jac, jac_exact, upstream).figures()
