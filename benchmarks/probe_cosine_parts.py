"""Probe: where does the surrogate's PreDNN-gradient cosine go at 10 x 10 (issue 25 item 5)?

    .venv/bin/python benchmarks/probe_cosine_parts.py [RUN ...] [--minibatches 8] [--update-results]

The run's check compares g (the gradient the update applies: the qtDNN's value *and* Jacobian)
with g_exact (the exact simulator's value and Jacobian). This probe splits the two apart on a
finished run's final actor and critic: on each of `--minibatches` fresh minibatches of its replay
buffer, after the refit the learner would do (benchmarks/_train_common.refit_and_measure), the
cosine with g_exact of
    as trained          the qtDNN's value and Jacobian (the run's grad_cosine)
    exact value         the exact marginals as value, the qtDNN's Jacobian
    exact Jacobian      the qtDNN's value, the exact Jacobian
and the value error |y_qtdnn - y_exact| per qubit where the actor update asks it (the current
actor's controls at the minibatch's states), at the controls it was fitted on (the minibatch's
stored controls, at which its exploration circuits ran: in-sample) and at unseen controls of the
same distribution (the current actor's, jittered by [qtdnn] control_noise as exploration jitters
them: out-of-sample), beside the sampling noise sqrt(p(1-p)/shots) of the same marginals. Default runs: the mean-field rows of `bench_science.py --experiment
pendulum-10x10` (100 and 400 shots), seeds 0-2. Writes probe_cosine_parts.{json,md}
(runs/benchmarks/, or benchmarks/results/ with --update-results).
"""

from __future__ import annotations

import argparse
import functools
import statistics
from pathlib import Path

import torch
from _results import machine_load
from _train_common import ROOT, refit_and_measure, write_results

from qhil.layers.fidelity import cosine
from qhil.layers.hdqnn import exact_marginals
from qhil.rl.fidelity import _flat, pre_parameters

RUNS = [ROOT / f"runs/bench/science/p10x10-10000steps-{row}-s{s}"
        for row in ("mean-field", "mean-field-400-shots") for s in range(3)]
PARTS = ("as trained", "exact value", "exact Jacobian")


def mix(value: torch.Tensor, jacobian_of: torch.Tensor) -> torch.Tensor:
    """value's numbers with jacobian_of's gradient (a straight-through sum)."""
    return value.detach() + (jacobian_of - jacobian_of.detach())


def measure(session, batch, generator: torch.Generator) -> dict[str, float]:
    """The three cosines and the value errors of one minibatch (`generator`: the unseen
    controls' jitter)."""
    td3, check, obs = session.td3, session.learner.fidelity, batch.obs
    actor, params = td3.actor, pre_parameters(td3.actor)
    q_in, clinks = actor.controls(obs)
    y_sur = td3.block.actor(q_in)
    _, _, y_exact = check.exact_loss_and_jacobian(obs)
    q_in, clinks = actor.controls(obs)  # a fresh graph for the exact side's own backward
    grads = {}
    for name, y in {"exact": y_exact, "as trained": y_sur, "exact value": mix(y_exact, y_sur),
                    "exact Jacobian": mix(y_sur, y_exact)}.items():
        loss = -td3.qf1(obs, actor.finish(y, clinks)).mean()
        grads[name] = _flat(torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True), params)
    shots = session.config.quantum.shots
    p = y_exact.detach().clamp(0, 1)
    return {**{k: cosine(grads[k], grads["exact"]) for k in PARTS},
            "value_error": (y_sur - y_exact).detach().abs().mean().item(),
            "value_error_fit": value_error_at(session, batch.q_in),
            "value_error_unseen": value_error_at(session, unseen_controls(session, obs, generator)),
            "shot_noise": (p * (1 - p) / shots).sqrt().mean().item(), "shots": shots}


def value_error_at(session, q_in: torch.Tensor) -> float:
    """The surrogate's mean |y - y_exact| per qubit at the controls `q_in`."""
    with torch.no_grad():
        y_sur = session.td3.block.actor(q_in)
        y_exact = exact_marginals(session.learner.fidelity.sim, session.td3.actor.ansatz, q_in)
    return (y_sur - y_exact).abs().mean().item()


def unseen_controls(session, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The current actor's controls at `obs` jittered as exploration jitters them ([qtdnn]
    control_noise on the angles): points of the surrogate's training distribution it never saw."""
    actor = session.td3.actor
    with torch.no_grad():
        q_in, _ = actor.controls(obs)
    cols = actor.control_map.angle_columns()
    noise = torch.randn(len(q_in), len(cols), generator=generator)
    q_in[:, cols] += session.config.qtdnn.control_noise * noise.to(q_in)
    return q_in


def probe(run: Path, minibatches: int) -> dict:
    generator = torch.Generator().manual_seed(0)
    found, _ = refit_and_measure(run, minibatches, functools.partial(measure, generator=generator))
    keys = [*PARTS, "value_error", "value_error_fit", "value_error_unseen", "shot_noise"]
    name = str(run.relative_to(ROOT)) if run.is_relative_to(ROOT) else str(run)
    return {"run": name, "minibatches": minibatches, "shots": found[0]["shots"],
            **{k: statistics.median(f[k] for f in found) for k in keys}}


def markdown(rows: list[dict], command: str, load: str) -> str:
    out = ["# Where the 10 x 10 surrogate's PreDNN-gradient cosine goes", "",
           "Each finished mean-field run's final actor and critic; median over fresh minibatches of "
           "its replay buffer, each after the learner's refit. Cosines against g_exact (the exact "
           "simulator's value and Jacobian). Value error: mean |y_qtdnn - y_exact| per qubit where "
           "the actor update asks it (the current actor's controls at the minibatch's states), at "
           "the controls it was fitted on (the minibatch's stored controls, at which its "
           "exploration circuits ran: in-sample) and at unseen controls of the same distribution "
           "(the current actor's jittered by control_noise as exploration jitters them: "
           f"out-of-sample); shot noise: mean sqrt(p(1-p)/shots) of the same marginals. Load {load}.", "",
           "| run | as trained | exact value, qtDNN Jacobian | qtDNN value, exact Jacobian | "
           "value error where asked | value error, fitted controls | value error, unseen "
           "controls | shot noise | minibatches |", "|---|---|---|---|---|---|---|---|---|"]
    out += [f"| {r['run']} | {r['as trained']:.3f} | {r['exact value']:.3f} | {r['exact Jacobian']:.3f} "
            f"| {r['value_error']:.4f} | {r['value_error_fit']:.4f} | {r['value_error_unseen']:.4f} "
            f"| {r['shot_noise']:.4f} "
            f"({r['shots']} shots) | {r['minibatches']} |" for r in rows]
    return "\n".join([*out, "", f"Produced by `{command}`."])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="*", type=Path, default=RUNS)
    ap.add_argument("--minibatches", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(1)
    before = machine_load()
    rows = [probe(run.resolve(), args.minibatches) for run in args.runs]
    load = f"{before} -> {machine_load()}"
    runs = "" if args.runs == RUNS else " " + " ".join(str(r) for r in args.runs)
    command = "benchmarks/probe_cosine_parts.py" + runs + (f" --minibatches {args.minibatches}"
                                                           if args.minibatches != 8 else "")
    write_results("probe_cosine_parts", {"command": command, "load": load, "rows": rows},
                  markdown(rows, command, load))


if __name__ == "__main__":
    main()
