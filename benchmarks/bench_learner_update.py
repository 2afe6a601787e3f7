"""Learner seconds per update, gradient method by gradient method, side by side in one process.

    .venv/bin/python benchmarks/bench_learner_update.py [--config configs/pendulum-pqc.toml]
        [--updates 40] [--provider local]

For each method (qtdnn, parameter-shift, spsa, exact) a real training session is built from the
config (run folder, ledger, Dispatcher on the provider, replay filled by 300 real exploration
steps), then the sessions take learner updates in turn (round robin, so all share the machine's
load) and each update is timed: a qtDNN update refits and backpropagates through the surrogate;
the direct methods wait for their circuits on the provider. Reports the median seconds per update
and per actor update (every policy_delay-th update) and the ratio to qtdnn. Writes
benchmarks/results/bench_learner_update.{json,md} (or *_<config stem>.* for another config).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from _results import machine_load
from _train_common import ROOT, write_results

from qhil.execution.registry import get_provider
from qhil.rl.config import load_train_config
from qhil.rl.run import Session, open_run_dispatcher
from qhil.rl.rundir import RunFolder

METHODS = ("qtdnn", "parameter-shift", "spsa", "exact")
WARM_STEPS = 300


def session(config_path: str, method: str, provider, scratch: Path) -> Session:
    config = load_train_config(ROOT / config_path).with_overrides(**{
        "quantum.gradient": method, "loop.device": "cpu", "qtdnn.fidelity_every": 0,
        "td3.learning_starts": WARM_STEPS})
    folder = RunFolder(scratch / method)
    folder.create(config)
    s = Session(config, folder, open_run_dispatcher(folder, provider, None))
    for _ in range(WARM_STEPS):
        s.explorer.step()
    return s


def timed(s: Session) -> float:
    started = time.perf_counter()
    s.learner.update()
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/pendulum-pqc.toml")
    ap.add_argument("--updates", type=int, default=40)
    ap.add_argument("--provider", default="local")
    args = ap.parse_args()
    torch.set_num_threads(1)
    load_start = machine_load()
    with get_provider(args.provider) as provider, tempfile.TemporaryDirectory() as tmp:
        sessions = {m: session(args.config, m, provider, Path(tmp)) for m in METHODS}
        times: dict[str, list[float]] = {m: [] for m in METHODS}
        for _ in range(args.updates):
            for m, s in sessions.items():
                times[m].append(timed(s))
        delay = next(iter(sessions.values())).config.td3.policy_delay
        learner = {m: s.learner_sampler.stats.circuits for m, s in sessions.items()}
        for s in sessions.values():
            s.explorer.close()
            s.sampler.dispatcher.ledger.close()
    load = {"load_average_at_start": load_start, "load_average_at_end": machine_load()}
    rows = {m: {"s_per_update": statistics.median(t), "s_per_actor_update": delay * statistics.mean(t),
                "learner_circuits": learner[m]} for m, t in times.items()}
    base = rows["qtdnn"]["s_per_update"]
    for r in rows.values():
        r["ratio_to_qtdnn"] = r["s_per_update"] / base
    stem = Path(args.config).stem
    lines = [f"# Learner time per update by gradient method ({args.config}, {args.provider}, "
             f"{args.updates} updates each, round robin in one process)", "",
             "| method | median s / update | mean s / actor update | ratio to qtdnn | learner circuits |",
             "|---|---|---|---|---|"]
    lines += [f"| {m} | {r['s_per_update'] * 1e3:.1f} ms | {r['s_per_actor_update'] * 1e3:.1f} ms | "
              f"{r['ratio_to_qtdnn']:.2f}x | {r['learner_circuits']:,} |" for m, r in rows.items()]
    lines += ["", "An actor update is one critic update plus the actor step (policy_delay = "
              f"{delay}); s / actor update is policy_delay x the mean over all updates.",
              "", f"Machine load (1/5/15-min averages) on {os.cpu_count()} CPUs: "
              f"{load['load_average_at_start']} at start, {load['load_average_at_end']} at end."]
    name = "bench_learner_update" + ("" if stem == "pendulum-pqc" else f"_{stem}")
    write_results(name, {"args": vars(args), "rows": rows, **load}, "\n".join(lines))


if __name__ == "__main__":
    main()
