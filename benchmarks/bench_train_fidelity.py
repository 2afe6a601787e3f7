"""Gradient fidelity on Pendulum minibatches after the refit: surrogate vs exact Jacobian cosine.

    .venv/bin/python benchmarks/bench_train_fidelity.py [--run runs/bench/pendulum-pqc-s0]
        [--minibatches 20]

Loads a trained pqc run (its checkpoint, replay buffer and qtDNN buffer; by default the seed-0
run of bench_train_pendulum.py), then for each of K fresh minibatches does what the learner does
before an actor update (refit the qtDNN on N_qt tiny batches of the minibatch's and recent
(q_i, q_o) pairs) and measures, on 64 states of that minibatch at the current policy's controls:
the per-sample cosine between the qtDNN's Jacobian and the exact one (autograd through the
embedded simulator's exact marginals), and the cosine of the actor-loss gradient w.r.t. the
angle controls through each. Target: Jacobian cosine >= 0.9. Writes
benchmarks/results/bench_train_fidelity.{json,md}.
"""

from __future__ import annotations

import argparse
import statistics

import torch
from _train_common import ROOT, write_results

from qhil.execution.registry import get_provider
from qhil.rl.run import Session, open_dispatcher
from qhil.rl.rundir import RunFolder


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", default=str(ROOT / "runs" / "bench" / "pendulum-pqc-s0"))
    p.add_argument("--minibatches", type=int, default=20)
    args = p.parse_args()
    torch.set_num_threads(1)
    folder = RunFolder(args.run)
    config = folder.load_config().with_overrides(**{"loop.device": "cpu"})
    with get_provider("local") as provider:
        dispatcher = open_dispatcher(folder, provider, None)
        s = Session(config, folder, dispatcher)
        s.restore()
        jac, refit, grad = [], [], []
        for _ in range(args.minibatches):
            batch = s.replay.sample(config.td3.batch_size, s.learner.rng, s.device)
            s.td3.qtdnn.refit(*s.learner._refit_pairs(batch), s.learner.generator)
            f = s.learner.fidelity(batch)
            jac.append(f["surrogate/jacobian_cosine"])
            refit.append(f["surrogate/jacobian_cosine_refit"])
            grad.append(f["surrogate/grad_cosine"])
        s.explorer.close()
        dispatcher.ledger.close()
    data = {"command": f"benchmarks/bench_train_fidelity.py --run {args.run} --minibatches {args.minibatches}",
            "run": args.run, "steps": s.explorer.transitions, "updates": s.learner.updates,
            "jacobian_cosine": jac, "jacobian_cosine_refit": refit, "grad_cosine": grad,
            "jacobian_cosine_refit_median": statistics.median(refit),
            "jacobian_cosine_median": statistics.median(jac), "grad_cosine_median": statistics.median(grad),
            "jacobian_cosine_min": min(jac), "target": ">= 0.9"}
    md = "\n".join([
        f"# Gradient fidelity on Pendulum minibatches after the refit ({args.minibatches} minibatches)", "",
        f"run {args.run}: {s.explorer.transitions} steps, {s.learner.updates} updates", "",
        "| figure | median | min | max |", "|---|---|---|---|",
        f"| Jacobian cosine (per sample, mean over 64) | {statistics.median(jac):.3f} | {min(jac):.3f} | {max(jac):.3f} |",
        f"| Jacobian cosine at the refit pairs' q_i (mean over 64) | {statistics.median(refit):.3f} | {min(refit):.3f} | {max(refit):.3f} |",
        f"| actor-gradient cosine w.r.t. angle controls | {statistics.median(grad):.3f} | {min(grad):.3f} | {max(grad):.3f} |",
        "", "target: Jacobian cosine >= 0.9"])
    write_results("bench_train_fidelity", data, md)


if __name__ == "__main__":
    main()
