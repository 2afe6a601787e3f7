"""Exact gradients at 4 x 2 and the paper's 10 x 10: before and now in one run.

    .venv/bin/python benchmarks/bench_exact_gradient.py [--repeats 5] [--updates 10]

One torch thread, data entangler, batch 256. Jobs (before / now, interleaved after one warm-up
round, medians of wall-clock and of process CPU seconds):
- exact_vjp: the `exact` strategy's update through the circuit: marginals of 256 controls and
  dL/d controls for one upstream gradient, complex64; before: autograd through the simulator,
  now: the adjoint walk (`qhil.quantum.adjoint`, what `exact_marginals` runs on a CPU).
- fidelity_check: the learner's `GradientCheck.inspect` on a TD3 built from the size's config
  (mean-field qtDNN); before: `tests/reference.fidelity_figures_before` (complex128 reference,
  a VJP walk of the 256 samples and a separate Jacobian walk of 64, the surrogate's Jacobian of
  all 256 sliced to 64, one backward per output), now: complex64, one walk for both exact
  sides, the surrogate's Jacobian of the 64 samples only, in one vectorised backward. Same four
  figures (tests/rl/test_gradient_methods.py).
- learner_update: seconds per learner update of a real session (bench_learner_update.session:
  run folder, ledger, Dispatcher on the local provider, 300 exploration steps) with
  `--gradient exact`, qtdnn beside it, round robin; median per update and policy_delay x mean
  per actor update.
CPU seconds count every thread of the process (the local provider's included); on this shared
2-core machine, wall-clock is CPU time plus the wait for a core (and for the ledger's disk),
so the wall-clock figures hold only at the load stated beside them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import machine_load  # noqa: E402
from _train_common import ROOT, write_results  # noqa: E402  (takes --results-dir / --update-results)
from bench_learner_update import session  # noqa: E402

from qhil import HDQNNAnsatz  # noqa: E402
from qhil.execution.registry import get_provider  # noqa: E402
from qhil.layers.hdqnn import ControlMap, exact_marginals  # noqa: E402
from qhil.quantum.simulator import Simulator  # noqa: E402
from qhil.rl.config import load_train_config  # noqa: E402
from qhil.rl.fidelity import GradientCheck  # noqa: E402
from qhil.rl.learner import build_td3  # noqa: E402
from tests.reference import fidelity_figures_before  # noqa: E402

SIZES = {"4x2": "configs/pendulum-pqc.toml", "10x10": "configs/pendulum-10x10.toml"}
BATCH = 256
METHODS = ("exact", "qtdnn")


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def measure(pair: dict, repeats: int, setup=lambda: None) -> dict:
    """Interleaved repeats of each job (one warm-up round): median wall and CPU seconds."""
    wall: dict[str, list[float]] = {k: [] for k in pair}
    cpu: dict[str, list[float]] = {k: [] for k in pair}
    for rep in range(repeats + 1):
        for name, fn in pair.items():
            arg = setup()
            w0, c0 = clocks()
            fn(arg)
            w1, c1 = clocks()
            if rep:
                wall[name].append(w1 - w0)
                cpu[name].append(c1 - c0)
    out = {"wall_s": {k: statistics.median(v) for k, v in wall.items()},
           "cpu_s": {k: statistics.median(v) for k, v in cpu.items()}, "repeats": repeats}
    out["speedup_cpu"] = out["cpu_s"]["before"] / out["cpu_s"]["now"]
    out["speedup_wall"] = out["wall_s"]["before"] / out["wall_s"]["now"]
    return out


def vjp_jobs(n: int, layers: int) -> dict:
    """exact_vjp: autograd through the simulator (before) and the adjoint walk (now)."""
    ansatz = HDQNNAnsatz(n, layers)
    g = torch.Generator().manual_seed(0)
    controls = ControlMap(ansatz)(torch.randn(BATCH, ansatz.control_dim, generator=g))
    upstream = torch.randn(BATCH, n, generator=g)
    sim = Simulator(n)

    def autograd_marginals(x: torch.Tensor) -> torch.Tensor:
        angles, cz = (torch.from_numpy(a) for a in ansatz.split(x.detach()))
        blocks = x.reshape(len(x), layers, ansatz.per_layer)
        return sim.marginals(blocks[:, :, :2 * n].reshape(angles.shape), cz)

    def vjp(marginals_of) -> torch.Tensor:
        x = controls.detach().clone().requires_grad_(True)
        return torch.autograd.grad((marginals_of(x) * upstream).sum(), x)[0]

    return {"before": lambda _: vjp(autograd_marginals),
            "now": lambda _: vjp(lambda x: exact_marginals(sim, ansatz, x))}


def fidelity_jobs(config_path: str) -> tuple[dict, object]:
    """fidelity_check on a TD3 of the config; setup runs an actor loss (not timed)."""
    config = load_train_config(ROOT / config_path)
    td3 = build_td3(config, 3, 1, np.array([-2.0]), np.array([2.0]), torch.device("cpu"))
    n = config.quantum.qubits
    obs = torch.randn(BATCH, 3, generator=torch.Generator().manual_seed(1))
    before_sim, now = Simulator(n, precision="complex128"), GradientCheck(td3, Simulator(n))

    def setup():
        return td3.actor_loss(obs, torch.Generator().manual_seed(0))

    jobs = {"before": lambda loss: fidelity_figures_before(td3, before_sim, loss, obs),
            "now": lambda loss: now.inspect(loss, obs)}
    return jobs, setup


def learner_updates(config_path: str, updates: int) -> dict:
    """Seconds per learner update, exact and qtdnn round robin on the local provider."""
    torch.set_num_threads(1)
    with get_provider("local") as provider, tempfile.TemporaryDirectory() as tmp:
        sessions = {m: session(config_path, m, provider, Path(tmp)) for m in METHODS}
        wall: dict[str, list[float]] = {m: [] for m in METHODS}
        cpu: dict[str, list[float]] = {m: [] for m in METHODS}
        for _ in range(updates):
            for m, s in sessions.items():
                w0, c0 = clocks()
                s.learner.update()
                w1, c1 = clocks()
                wall[m].append(w1 - w0)
                cpu[m].append(c1 - c0)
        delay = next(iter(sessions.values())).config.td3.policy_delay
        for s in sessions.values():
            s.explorer.close()
            s.sampler.dispatcher.ledger.close()
    return {m: {"wall_s_per_update": statistics.median(wall[m]),
                "cpu_s_per_update": statistics.median(cpu[m]),
                "wall_s_per_actor_update": delay * statistics.mean(wall[m]),
                "cpu_s_per_actor_update": delay * statistics.mean(cpu[m]),
                "updates": updates} for m in METHODS}


def markdown(data: dict) -> str:
    lines = ["# Exact gradients at 4 x 2 and 10 x 10: before and now", "",
             f"`{data['command']}`, one torch thread, batch {BATCH}. Load averages "
             f"{data['load_start']} at start, {data['load_end']} at end (2 CPUs, shared with "
             "other jobs: wall-clock holds only at that load; CPU seconds count the work).", "",
             "| size | job | before wall s | now wall s | before CPU s | now CPU s | speed-up (CPU) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for size, jobs in data["jobs"].items():
        for job, r in jobs.items():
            w, c = r["wall_s"], r["cpu_s"]
            lines.append(f"| {size} | {job} | {w['before']:.3f} | {w['now']:.3f} | {c['before']:.3f} | "
                         f"{c['now']:.3f} | {r['speedup_cpu']:.1f}x |")
    lines += ["", "exact_vjp: autograd through the simulator (before) vs the adjoint walk (now), "
              "complex64. fidelity_check: `GradientCheck.inspect` before (complex128, separate "
              "VJP and Jacobian walks, surrogate Jacobian of all 256 rows) and now (complex64, one "
              "walk, the surrogate's Jacobian of 64 rows in one vectorised backward); same "
              "figures (within 7e-8 at 10 x 10).", "",
              "## Learner seconds per update (local provider, round robin)", "",
              "| size | method | median wall s / update | median CPU s / update | "
              "wall s / actor update | CPU s / actor update |", "|---|---|---:|---:|---:|---:|"]
    for size, rows in data["learner_update"].items():
        for m, r in rows.items():
            lines.append(f"| {size} | {m} | {r['wall_s_per_update']:.3f} | {r['cpu_s_per_update']:.3f} | "
                         f"{r['wall_s_per_actor_update']:.3f} | {r['cpu_s_per_actor_update']:.3f} |")
    lines += ["", "An actor update is a critic update plus the actor step (policy_delay 2); the "
              "exact method's updates sample the provider (target values every update, actor "
              "values on actor updates) and walk the adjoint on actor updates."]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--updates", type=int, default=10, help="learner updates per method and size")
    args = p.parse_args()
    torch.set_num_threads(1)
    data = {"command": " ".join(["benchmarks/bench_exact_gradient.py", *sys.argv[1:]]),
            "load_start": machine_load(), "threads": 1, "jobs": {}, "learner_update": {}}
    for size, config_path in SIZES.items():
        n, layers = (int(v) for v in size.split("x"))
        fidelity, setup = fidelity_jobs(config_path)
        data["jobs"][size] = {"exact_vjp": measure(vjp_jobs(n, layers), args.repeats),
                              "fidelity_check": measure(fidelity, args.repeats, setup)}
        data["learner_update"][size] = learner_updates(config_path, args.updates)
    data["load_end"] = machine_load()
    write_results("bench_exact_gradient", data, markdown(data))


if __name__ == "__main__":
    main()
