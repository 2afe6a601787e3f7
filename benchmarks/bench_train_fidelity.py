"""Gradient fidelity on Pendulum minibatches after the refit: the method's PreDNN gradient and
Jacobian against the exact simulator's.

    .venv/bin/python benchmarks/bench_train_fidelity.py [--runs runs/bench/pendulum-pqc-s0 ...]
        [--minibatches 20]

Loads each trained pqc run (its checkpoint, replay buffer and qtDNN buffer; by default the three
seeds of bench_train_pendulum.py), then for each of K fresh minibatches does what the learner
does before an actor update (refit the qtDNN on N_qt tiny batches of the minibatch's and recent
(q_i, q_o) pairs) and measures what the learner logs (qhil.rl.fidelity): the cosine and relative
error of the actor-loss gradient w.r.t. the PreDNN parameters through the qtDNN against through
the exact marginals (the figure Theorem 1 bounds), and the per-sample Jacobian cosine and
relative error at the policy's controls. Writes benchmarks/results/bench_train_fidelity.{json,md}.
"""

from __future__ import annotations

import argparse
import statistics

import torch
from _train_common import RUNS, refit_and_measure, write_results

KEYS = {k: f"surrogate/{k}" for k in ("grad_cosine", "grad_rel_error", "jacobian_cosine",
                                      "jacobian_rel_error")}
LABELS = {"grad_cosine": "PreDNN-gradient cosine", "grad_rel_error": "PreDNN-gradient relative error",
          "jacobian_cosine": "Jacobian cosine at the policy's controls",
          "jacobian_rel_error": "Jacobian relative error at the policy's controls"}


def measure(run: str, minibatches: int) -> dict:
    """Refit-then-measure on K fresh minibatches of one trained run."""
    def figures(s, batch):
        return s.learner.fidelity.inspect(s.td3.actor_loss(batch.obs, s.learner.generator), batch.obs)

    found, s = refit_and_measure(run, minibatches, figures)
    values = {k: [f[metric] for f in found] for k, metric in KEYS.items()}
    return {"run": run, "steps": s.explorer.transitions, "updates": s.learner.updates,
            **values, **{f"{k}_median": statistics.median(v) for k, v in values.items()}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", nargs="+", default=[str(RUNS / f"pendulum-pqc-s{s}") for s in range(3)])
    p.add_argument("--minibatches", type=int, default=20)
    args = p.parse_args()
    torch.set_num_threads(1)
    rows = [measure(run, args.minibatches) for run in args.runs]
    data = {"command": "benchmarks/bench_train_fidelity.py --runs " + " ".join(args.runs)
            + f" --minibatches {args.minibatches}", "runs": rows}
    lines = [f"# Gradient fidelity on Pendulum minibatches after the refit ({args.minibatches} "
             "minibatches per run; per-sample cosine, mean over 64 samples)", "",
             "| run | figure | median | min | max |", "|---|---|---|---|---|"]
    for r in rows:
        for k, label in LABELS.items():
            lines.append(f"| {r['run'].split('/')[-1]} ({r['steps']} steps) | {label} | "
                         f"{r[k + '_median']:.3f} | {min(r[k]):.3f} | {max(r[k]):.3f} |")
    lines += ["", "targets: PreDNN-gradient cosine >= 0.8 on Pendulum 4x2 (issue 17)"]
    write_results("bench_train_fidelity", data, "\n".join(lines))


if __name__ == "__main__":
    main()
