"""Probe: which surrogate carries the PreDNN gradient at the paper's 10 qubits x 10 layers?

    .venv/bin/python benchmarks/probe_surrogate_10x10.py [--pairs 20000] [--steps 3000] [--seed 0]

A fixed random hDQNN actor (Pendulum-v1 observations, no c-links, PreDNN [64]) and critic give the
policy's controls and the upstream gradient. Each surrogate is fitted on `--pairs` exploration
pairs (the policy's controls on random observations, angles jittered by --jitter rad, 100-shot
marginals from the embedded simulator), then scored against the exact simulator on 256 fresh
observations: the PreDNN-gradient cosine and relative error, and the per-sample Jacobian cosine.
A static policy is the easy case (the real run's policy moves), so these are upper bounds.
Writes benchmarks/results/probe_surrogate_10x10.{json,md}.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _train_common import write_results

from qhil.layers.fidelity import cosine, rel_error
from qhil.layers.gradients import jacobian
from qhil.layers.hdqnn import (
    QtDNN,
    QtDNNTrainer,
    TrigFeatures,
    exact_jacobian,
    exact_marginals,
)
from qhil.layers.meanfield import MeanFieldQtDNN
from qhil.quantum.simulator import Simulator
from qhil.rl.config import TrainConfig
from qhil.rl.networks import Actor, Critic


def observations(n: int, rng: np.random.Generator) -> torch.Tensor:
    theta, speed = rng.uniform(-np.pi, np.pi, n), rng.uniform(-8, 8, n)
    return torch.tensor(np.stack([np.cos(theta), np.sin(theta), speed], 1), dtype=torch.float32)


def candidates(actor: Actor) -> dict[str, tuple[torch.nn.Module, dict]]:
    a, d, n = actor.ansatz, actor.ansatz.control_dim, actor.ansatz.n_qubits
    return {
        "paper [2048] leaky raw": (QtDNN(d, n, [2048]), {"lr": 1e-3}),
        "trig [128,128] gelu wd": (QtDNN(d, n, [128, 128], "gelu", TrigFeatures(a)),
                                   {"lr": 2e-3, "weight_decay": 0.05}),
        "trig [512,512] gelu wd": (QtDNN(d, n, [512, 512], "gelu", TrigFeatures(a)),
                                   {"lr": 1e-3, "weight_decay": 0.05}),
        "mean-field prior + trig [128,128]": (MeanFieldQtDNN(a, [128, 128], "gelu"),
                                              {"lr": 1e-3, "weight_decay": 0.05}),
        "mean-field alone (no fit)": (MeanFieldQtDNN(a, [128, 128], "gelu"), {"fit": False}),
    }


def pairs(actor: Actor, sim: Simulator, count: int, jitter: float,
          rng: np.random.Generator, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        q_in, _ = actor.controls(observations(count, rng))
        cols = actor.control_map.angle_columns()
        q_in[:, cols] += jitter * torch.randn(count, len(cols), generator=gen)
        req = actor.ansatz.request(q_in.numpy(), 100, seed=0)
        out = sim.sample_marginals(*(torch.from_numpy(a) for a in req.hdqnn_arrays), 100, gen)
    return q_in, out.float()


def score(model, actor: Actor, critic: Critic, sim: Simulator, obs: torch.Tensor) -> dict:
    params = list(actor.pre.parameters())

    def grad(block) -> torch.Tensor:
        q_in, clinks = actor.controls(obs)
        loss = -critic(obs, actor.finish(block(q_in), clinks)).mean()
        return torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)]).double()

    g = grad(model)
    g_exact = grad(lambda x: exact_marginals(sim, actor.ansatz, x))
    with torch.no_grad():
        q_in, _ = actor.controls(obs[:64])
    cols = actor.control_map.angle_columns()
    jac = jacobian(model, q_in, cols).flatten(1).double()
    jac_exact = exact_jacobian(sim, actor.ansatz, q_in, cols).flatten(1)
    return {"grad_cosine": cosine(g, g_exact), "grad_rel_error": rel_error(g, g_exact),
            "jacobian_cosine": cosine(jac, jac_exact)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=20_000)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--jitter", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng, gen = np.random.default_rng(args.seed), torch.Generator().manual_seed(args.seed)
    config = TrainConfig(quantum={"qubits": 10, "layers": 10}, network={"clinks": 0})
    actor = Actor(config, 3, 1, torch.tensor([-2.0]), torch.tensor([2.0]))
    critic = Critic(3, 1, [256, 256])
    sim = Simulator(10, precision="complex128")
    q_in, q_out = pairs(actor, sim, args.pairs, args.jitter, rng, gen)
    test_obs = observations(256, rng)
    results = {}
    for name, (model, opts) in candidates(actor).items():
        started = time.perf_counter()
        if opts.pop("fit", True):
            trainer = QtDNNTrainer(model, n_tiny_batches=args.steps, tiny_batch_size=64, **opts)
            trainer.refit(q_in, q_out, gen)
        results[name] = {**score(model, actor, critic, sim, test_obs),
                         "fit_s": time.perf_counter() - started}
        print(name, results[name], flush=True)
    lines = [f"# Surrogates at 10 qubits x 10 layers (probe, static policy, {args.pairs} pairs, "
             f"{args.steps} tiny batches of 64, jitter {args.jitter} rad, seed {args.seed})", "",
             "| surrogate | PreDNN-grad cosine | grad rel error | Jacobian cosine | fit s |",
             "|---|---|---|---|---|"]
    lines += [f"| {k} | {v['grad_cosine']:.3f} | {v['grad_rel_error']:.3f} | "
              f"{v['jacobian_cosine']:.3f} | {v['fit_s']:.0f} |" for k, v in results.items()]
    write_results("probe_surrogate_10x10", {"args": vars(args), "results": results}, "\n".join(lines))


if __name__ == "__main__":
    main()
