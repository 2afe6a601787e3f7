"""Probe: how large is the gradient through the circuit at 4 x 2 and at the paper's 10 x 10?

    .venv/bin/python benchmarks/probe_gradient_norms.py [--seeds 0 1 2]

For each PQC size, a fresh hDQNN actor (Pendulum-v1 observations, no c-links) and critic, 256
observations: the per-sample norm of the exact Jacobian d marginals / d angles, the norm of the
actor-loss gradient w.r.t. the PreDNN parameters through the exact circuit, and (for scale) the
norm of the same loss's gradient w.r.t. the PostDNN parameters. A barren plateau would show as a
PreDNN gradient that shrinks with the circuit while the PostDNN one does not.
Writes benchmarks/results/probe_gradient_norms.{json,md}.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch
from _train_common import write_results
from probe_surrogate_10x10 import observations

from qhil.layers.hdqnn import exact_jacobian, exact_marginals
from qhil.quantum.simulator import Simulator
from qhil.rl.config import TrainConfig
from qhil.rl.networks import Actor, Critic

SIZES = ((4, 2), (10, 10))


def norms(qubits: int, layers: int, seed: int) -> dict[str, float]:
    torch.manual_seed(seed)
    config = TrainConfig(quantum={"qubits": qubits, "layers": layers}, network={"clinks": 0})
    actor = Actor(config, 3, 1, torch.tensor([-2.0]), torch.tensor([2.0]))
    critic = Critic(3, 1, [256, 256])
    sim = Simulator(qubits, precision="complex128")
    obs = observations(256, np.random.default_rng(seed))
    q_in, clinks = actor.controls(obs)
    loss = -critic(obs, actor.finish(exact_marginals(sim, actor.ansatz, q_in), clinks)).mean()
    pre = torch.autograd.grad(loss, list(actor.pre.parameters()), retain_graph=True)
    post = torch.autograd.grad(loss, list(actor.post.parameters()))
    cols = actor.control_map.angle_columns()
    jac = exact_jacobian(sim, actor.ansatz, q_in.detach()[:64], cols).flatten(1)
    return {"jacobian_norm": jac.norm(dim=1).mean().item(),
            "pre_grad_norm": torch.cat([g.flatten() for g in pre]).norm().item(),
            "post_grad_norm": torch.cat([g.flatten() for g in post]).norm().item()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = {f"{n}x{L}": [norms(n, L, s) for s in args.seeds] for n, L in SIZES}
    lines = [f"# Gradient norms through the exact circuit (fresh networks, seeds {args.seeds}; medians)",
             "", "| PQC | per-sample Jacobian norm | PreDNN gradient norm | PostDNN gradient norm |",
             "|---|---|---|---|"]
    for size, rs in rows.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        lines.append(f"| {size} | {med['jacobian_norm']:.3f} | {med['pre_grad_norm']:.2e} | "
                     f"{med['post_grad_norm']:.2e} |")
    write_results("probe_gradient_norms", {"seeds": args.seeds, "rows": rows}, "\n".join(lines))


if __name__ == "__main__":
    main()
