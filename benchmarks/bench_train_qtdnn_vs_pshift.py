"""One actor update through the qtDNN against the same update with parameter-shift gradients.

    .venv/bin/python benchmarks/bench_train_qtdnn_vs_pshift.py [--batch 256] [--repeats 3]

The paper's Humanoid-v4 actor (configs/humanoid.toml: PreDNN [376, 256, 230], PQC 10 qubits x
10 layers, qtDNN [220, 2048, 10], PostDNN [20, 256, 17]) and critic, a minibatch of 256 states.
qtDNN: refit on N_qt = 32 tiny batches of the minibatch's stored (q_i, q_o), then backprop
PostDNN -> qtDNN -> PreDNN; it needs no new circuit. Parameter-shift: the same actor loss, the
PQC Jacobian from 2 circuits per angle (200 angles) per sample, all run on the same embedded
simulator (exact marginals: the cheapest possible parameter-shift, no shot noise). Reports wall
time per update (median of repeats), circuits each needs, the ratio, and the cosine between the
two PreDNN gradients. Writes benchmarks/results/bench_train_qtdnn_vs_pshift.{json,md}.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import torch
from _train_common import ROOT, write_results

from qhil.layers.hdqnn import QtDNNTrainer, exact_marginals
from qhil.quantum.simulator import Simulator
from qhil.rl.config import load_train_config
from qhil.rl.learner import build_td3

OBS, ACT, CHUNK = 376, 17, 4096


def setup(batch: int, seed: int):
    config = load_train_config(ROOT / "configs" / "humanoid.toml").with_overrides(**{"loop.device": "cpu"})
    td3 = build_td3(config, OBS, ACT, -0.4 * np.ones(ACT), 0.4 * np.ones(ACT), torch.device("cpu"))
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(batch, OBS, generator=g)
    sim = Simulator(config.quantum.qubits)
    with torch.no_grad():
        q_in, _ = td3.actor.controls(obs)
        q_out = sim.sample(*_split(td3, q_in), shots=config.quantum.shots, generator=g).marginals
    return config, td3, obs, q_in, q_out.float(), sim, g


def _split(td3, q_in):
    angles, cz = td3.actor.ansatz.split(q_in)
    return torch.from_numpy(angles).float(), torch.from_numpy(cz)


def pre_grad(td3) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in td3.actor.pre.parameters()])


def qtdnn_update(config, td3, obs, q_in, q_out, g) -> tuple[float, torch.Tensor]:
    q = config.qtdnn_settings()
    trainer = QtDNNTrainer(td3.actor.quantum.qtdnn, q.lr, q.n_tiny_batches, q.tiny_batch_size)
    started = time.perf_counter()
    trainer.refit(q_in, q_out, g)
    td3.actor_optimizer.zero_grad()
    td3.actor_loss(obs, g).backward()
    grad = pre_grad(td3)
    return time.perf_counter() - started, grad


def pshift_update(td3, obs, sim) -> tuple[float, torch.Tensor, int]:
    actor = td3.actor
    started = time.perf_counter()
    td3.actor_optimizer.zero_grad()
    q_in, clinks = actor.controls(obs)
    x = q_in.detach().requires_grad_(True)
    with torch.no_grad():
        y = exact_marginals(sim, actor.ansatz, x)
    y = y.clone().requires_grad_(True)
    loss = -td3.qf1(obs, actor.finish(y, clinks)).mean()
    upstream_y, = torch.autograd.grad(loss, y, retain_graph=True)
    jac, circuits = shift_jacobian(sim, actor, x.detach())
    grad_x = torch.zeros_like(x)
    grad_x[:, actor.control_map.angle_columns()] = torch.einsum("bn,bna->ba", upstream_y, jac)
    torch.autograd.backward([q_in, loss], [grad_x, None], inputs=list(actor.pre.parameters()))
    return time.perf_counter() - started, pre_grad(td3), circuits


def shift_jacobian(sim, actor, controls: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(B, n, angles) by the parameter-shift rule: (f(t + pi/2) - f(t - pi/2)) / 2."""
    cols = actor.control_map.angle_columns()
    batch, n_angles = controls.shape[0], len(cols)
    shifted = controls.repeat_interleave(2 * n_angles, dim=0).reshape(batch, n_angles, 2, -1)
    idx = torch.arange(n_angles)
    shifted[:, idx, 0, cols] += math.pi / 2
    shifted[:, idx, 1, cols] -= math.pi / 2
    flat = shifted.reshape(-1, controls.shape[1])
    with torch.no_grad():
        out = torch.cat([exact_marginals(sim, actor.ansatz, flat[i:i + CHUNK])
                         for i in range(0, len(flat), CHUNK)])
    out = out.reshape(batch, n_angles, 2, -1)
    return ((out[:, :, 0] - out[:, :, 1]) / 2).permute(0, 2, 1), len(flat)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1, help="torch threads (both paths)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)  # oversubscribed shared CPUs: more threads only spin
    config, td3, obs, q_in, q_out, sim, g = setup(args.batch, 0)
    qt_times, ps_times = [], []
    for _ in range(args.repeats):
        qt_s, qt_grad = qtdnn_update(config, td3, obs, q_in, q_out, g)
        ps_s, ps_grad, circuits = pshift_update(td3, obs, sim)
        qt_times.append(qt_s)
        ps_times.append(ps_s)
    cos = torch.nn.functional.cosine_similarity(qt_grad, ps_grad, dim=0).item()
    qt, ps = statistics.median(qt_times), statistics.median(ps_times)
    shots = config.quantum.shots
    data = {"command": f"benchmarks/bench_train_qtdnn_vs_pshift.py --batch {args.batch} --repeats {args.repeats}",
            "batch": args.batch, "qubits": config.quantum.qubits, "layers": config.quantum.layers,
            "n_tiny_batches": config.qtdnn_settings().n_tiny_batches, "qtdnn_update_s": qt, "pshift_update_s": ps,
            "qtdnn_times_s": qt_times, "pshift_times_s": ps_times, "pshift_over_qtdnn": ps / qt,
            "qtdnn_new_circuits": 0, "pshift_circuits": circuits,
            "pshift_shots_at_S": circuits * shots, "shots_per_circuit": shots,
            "grad_cosine_qtdnn_vs_pshift": cos, "torch_threads": torch.get_num_threads()}
    md = "\n".join([
        f"# Actor update, batch {args.batch}, {config.quantum.qubits} qubits x {config.quantum.layers} layers",
        "", "| gradient | wall s / update (median) | new circuits | shots at S=" + str(shots) + " |",
        "|---|---|---|---|",
        f"| qtDNN (refit {config.qtdnn_settings().n_tiny_batches} tiny batches + backprop) | {qt:.3f} | 0 | 0 |",
        f"| parameter-shift (same simulator, exact) | {ps:.3f} | {circuits} | {circuits * shots} |",
        "", f"parameter-shift / qtDNN wall time: {ps / qt:.1f}x; "
            f"cosine between the two PreDNN gradients: {cos:.3f} (qtDNN freshly refit, not trained in a loop)"])
    write_results("bench_train_qtdnn_vs_pshift", data, md)


if __name__ == "__main__":
    main()
