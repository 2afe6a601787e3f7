"""Probe: how much refit does the mean-field qtDNN need at the paper's 10 qubits x 10 layers?

    .venv/bin/python benchmarks/probe_refit_10x10.py [--pairs 4000] [--refits 200] [--seed 0]

The static-policy setup of probe_surrogate_10x10.py (a fixed random hDQNN actor and critic,
exploration pairs jittered by 0.3 rad, 100-shot marginals from the embedded simulator). The
mean-field qtDNN of configs/humanoid.toml ([128, 128] gelu residual, its lr and weight decay) is
refitted `--refits` times, each refit being N tiny batches of M pairs as the learner does before an
actor update, for several (N, M), and scored against the exact simulator on 256 fresh
observations: PreDNN-gradient cosine and relative error, per-sample Jacobian cosine, fitting
time (the machine is shared: state the load). Writes benchmarks/results/probe_refit_10x10.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from _train_common import ROOT, write_results
from probe_surrogate_10x10 import observations, pairs, score

from qhil.layers.hdqnn import QtDNNTrainer
from qhil.layers.meanfield import MeanFieldQtDNN
from qhil.quantum.simulator import Simulator
from qhil.rl.config import TrainConfig, load_train_config
from qhil.rl.networks import Actor, Critic

# (label, tiny batches a refit, pairs a tiny batch); 0: the prior alone, the residual at zero
REFITS = [("prior alone (no refit)", 0, 0), ("4 x 64 (the prior's default)", 4, 64),
          ("32 x 32 (the paper's)", 32, 32), ("8 x 128", 8, 128), ("4 x 256", 4, 256)]


def fitted(actor: Actor, settings, tiny: tuple[int, int], q_in, q_out, refits: int) -> MeanFieldQtDNN:
    torch.manual_seed(1)
    model = MeanFieldQtDNN(actor.ansatz, settings.hidden, settings.activation)
    if tiny[0]:
        trainer = QtDNNTrainer(model, settings.lr, *tiny, settings.weight_decay)
        generator = torch.Generator().manual_seed(5)
        for _ in range(refits):
            trainer.refit(q_in, q_out, generator)
    return model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=4000)
    ap.add_argument("--refits", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng, gen = np.random.default_rng(args.seed), torch.Generator().manual_seed(args.seed)
    settings = load_train_config(ROOT / "configs" / "humanoid.toml").qtdnn_settings()
    actor = Actor(TrainConfig(quantum={"qubits": 10, "layers": 10}, network={"clinks": 0}), 3, 1,
                  torch.tensor([-2.0]), torch.tensor([2.0]))
    critic, sim = Critic(3, 1, [256, 256]), Simulator(10, precision="complex128")
    q_in, q_out = pairs(actor, sim, args.pairs, 0.3, rng, gen)
    test_obs = observations(256, rng)
    load, results = list(os.getloadavg()), {}
    for label, *tiny in REFITS:
        started = time.perf_counter()
        model = fitted(actor, settings, tuple(tiny), q_in, q_out, args.refits)
        fit_s = time.perf_counter() - started
        results[label] = {**score(model, actor, critic, sim, test_obs), "fit_s": fit_s}
        print(label, results[label], flush=True)
    load += list(os.getloadavg())
    lines = [f"# Refit work of the mean-field qtDNN at 10 qubits x 10 layers (probe, static policy, "
             f"{args.pairs} pairs, {args.refits} refits, seed {args.seed})", "",
             f"1-min load average {load[0]:.1f} before, {load[3]:.1f} after (2 CPUs, shared): "
             "fit seconds are comparable within the table only.", "",
             "| refit | PreDNN-grad cosine | grad rel error | Jacobian cosine | fit s |",
             "|---|---|---|---|---|"]
    lines += [f"| {k} | {v['grad_cosine']:.3f} | {v['grad_rel_error']:.3f} | "
              f"{v['jacobian_cosine']:.3f} | {v['fit_s']:.1f} |" for k, v in results.items()]
    write_results("probe_refit_10x10", {"args": vars(args), "load_average": load,
                                        "results": results}, "\n".join(lines))


if __name__ == "__main__":
    main()
