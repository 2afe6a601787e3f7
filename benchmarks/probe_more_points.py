"""Probe: would more distinct circuits, not more shots, close the 10 x 10 surrogate's gap?

    .venv/bin/python benchmarks/probe_more_points.py [RUN ...] [--refits 300] [--extra 64]
        [--minibatches 8] [--update-results]

probe_cosine_parts.py found the surrogate 0.017-0.027 per qubit from exact on the controls it was
fitted on but 0.032-0.045 on unseen controls of the same distribution: a generalisation gap. This
probe asks offline whether more distinct points would close it, as k jittered copies of each
exploration circuit would. From a finished run's final state (a copy of its folder; the actor and
critic stay fixed), `--refits` more refits as the learner does them, either as they are
(`extra 0`) or with a pool of fresh points mixed into each: `--extra` per refit, the current
actor's controls at the minibatch's states jittered by [qtdnn] control_noise (as exploration
jitters them), sampled at the run's shots from the exact marginals. Then, over `--minibatches`
fresh minibatches: the value error at unseen jittered controls and at the actor's controls, and
the PreDNN-gradient cosine of the run's own check (qhil.rl.fidelity). Seeded; default runs: the
100-shot mean-field rows of `bench_science.py --experiment pendulum-10x10`, seeds 0-2. Writes
probe_more_points.{json,md} (runs/benchmarks/, or benchmarks/results/ with --update-results).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

import torch
from _results import machine_load
from _train_common import ROOT, write_results
from probe_cosine_parts import unseen_controls, value_error_at

from qhil.layers.hdqnn import exact_marginals

RUNS = [ROOT / f"runs/bench/science/p10x10-10000steps-mean-field-s{s}" for s in range(3)]


def exact(s, q_in: torch.Tensor) -> torch.Tensor:
    return exact_marginals(s.learner.fidelity.sim, s.td3.actor.ansatz, q_in).detach()


class Pool:
    """Fresh points sampled at `shots` from the exact marginals, kept for every later refit."""

    def __init__(self, shots: int, generator: torch.Generator):
        self.shots, self.generator = shots, generator
        self.q: list[torch.Tensor] = []
        self.y: list[torch.Tensor] = []

    def add(self, s, q_in: torch.Tensor) -> None:
        p = exact(s, q_in).clamp(0, 1)
        counts = torch.binomial(torch.full_like(p, self.shots), p, generator=self.generator)
        self.q.append(q_in)
        self.y.append(counts / self.shots)

    def draw(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        q, y = torch.cat(self.q), torch.cat(self.y)
        pick = torch.randint(0, len(q), (n,), generator=self.generator)
        return q[pick], y[pick]


def refit(s, pool: Pool | None, extra: int) -> None:
    """One refit as the learner's, with as many pool points again when there is a pool."""
    batch = s.replay.sample(s.config.td3.batch_size, s.learner.rng, s.device)
    q_in, q_out = s.learner._refit_pairs(batch)
    if pool is not None:
        pool.add(s, unseen_controls(s, batch.obs[:extra], pool.generator))
        more_q, more_y = pool.draw(len(q_in))
        q_in, q_out = torch.cat([q_in, more_q]), torch.cat([q_out, more_y])
    s.td3.qtdnn.refit(q_in, q_out, s.learner.generator)


def figures(s, minibatches: int) -> dict[str, float]:
    """Medians over fresh minibatches: unseen and asked value errors, the gradient cosine."""
    test = torch.Generator().manual_seed(1234)
    found = []
    for _ in range(minibatches):
        obs = s.replay.sample(s.config.td3.batch_size, s.learner.rng, s.device).obs
        with torch.no_grad():
            asked, _ = s.td3.actor.controls(obs)
        check = s.learner.fidelity.inspect(s.td3.actor_loss(obs, s.learner.generator), obs)
        found.append({"unseen": value_error_at(s, unseen_controls(s, obs, test)), "asked": value_error_at(s, asked),
                      "grad_cosine": check["surrogate/grad_cosine"]})
    return {k: statistics.median(f[k] for f in found) for k in found[0]}


def probe(run: Path, refits: int, extra: int, minibatches: int) -> dict:
    """`refits` refits of a copy of `run`, with a pool of `extra` fresh points a refit (0: none)."""
    from qhil.execution.registry import get_provider
    from qhil.rl.run import Session, open_run_dispatcher
    from qhil.rl.rundir import RunFolder

    with tempfile.TemporaryDirectory() as tmp:
        folder = RunFolder(shutil.copytree(run, Path(tmp) / run.name))
        config = folder.load_config().with_overrides(**{"loop.device": "cpu"})
        with get_provider("local") as provider:
            s = Session(config, folder, open_run_dispatcher(folder, provider, None))
            s.restore()
            pool = Pool(config.quantum.shots, torch.Generator().manual_seed(0)) if extra else None
            for _ in range(refits):
                refit(s, pool, extra)
            found = figures(s, minibatches)
            s.explorer.close()
            s.dispatcher.ledger.close()
    name = str(run.relative_to(ROOT)) if run.is_relative_to(ROOT) else str(run)
    return {"run": name, "refits": refits, "extra_per_refit": extra, "shots": config.quantum.shots,
            "minibatches": minibatches, **found}


def markdown(rows: list[dict], command: str, load: str) -> str:
    out = ["# More distinct points for the 10 x 10 surrogate (offline)", "",
           "From each finished run's final state (actor and critic fixed), more refits as the "
           "learner does them, without and with a pool of fresh points (the current actor's "
           "controls at replay states jittered by control_noise, sampled at the run's shots from "
           "the exact marginals). Then medians over fresh minibatches: the value error (mean "
           "|y_qtdnn - y_exact| per qubit) at unseen jittered controls and at the actor's "
           "controls, and the run's PreDNN-gradient cosine against exact. The actor does not "
           f"learn meanwhile, so this measures the surrogate alone. Load {load}.", "",
           "| run | refits | fresh points a refit | value error, unseen controls | value error "
           "where asked | grad cosine | minibatches |", "|---|---|---|---|---|---|---|"]
    out += [f"| {r['run']} | {r['refits']} | {r['extra_per_refit']} | {r['unseen']:.4f} | "
            f"{r['asked']:.4f} | {r['grad_cosine']:.3f} | {r['minibatches']} |" for r in rows]
    return "\n".join([*out, "", f"Produced by `{command}`."])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", type=Path, default=RUNS)
    ap.add_argument("--refits", type=int, default=300)
    ap.add_argument("--extra", type=int, default=64, help="fresh points a refit (compared with 0)")
    ap.add_argument("--minibatches", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(1)
    before = machine_load()
    rows = [probe(run.resolve(), args.refits, extra, args.minibatches)
            for run in args.runs for extra in (0, args.extra)]
    load = f"{before} -> {machine_load()}"
    runs = "" if args.runs == RUNS else " " + " ".join(str(r) for r in args.runs)
    command = (f"benchmarks/probe_more_points.py{runs} --refits {args.refits} --extra {args.extra} "
               f"--minibatches {args.minibatches}")
    write_results("probe_more_points", {"command": command, "load": load, "rows": rows},
                  markdown(rows, command, load))


if __name__ == "__main__":
    main()
