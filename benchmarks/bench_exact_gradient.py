"""Exact gradients of the marginals: autograd through the simulator against the adjoint walk.

    .venv/bin/python benchmarks/bench_exact_gradient.py [--repeats 3] [--threads 1]

Two jobs per circuit size (4 x 2 and the paper's 10 x 10, data entangler, batch 256):
- exact VJP (the `exact` gradient strategy's update, complex64): marginals of 256 controls and
  dL/d controls for one upstream gradient; today `exact_marginals` + autograd, new
  `qhil.quantum.adjoint.adjoint_marginals` + the same autograd call.
- fidelity check (complex128, as the learner's reference simulator; and complex64): the exact
  PreDNN-gradient's VJP at batch 256 plus the exact Jacobian of 64 samples (`JACOBIAN_SAMPLES`);
  today `exact_marginals` + `exact_jacobian` (one backward per qubit), new `adjoint_marginals`
  + `marginal_jacobian` (one bra per qubit).
One torch thread by default: on this shared 2-core machine under load 8-11, 2 threads ran 5-20x
slower than 1 and erratically (autograd's 10 x 10 VJP 4.2 s against 0.55 s; threads wait on
each other), so `--threads 1,2` compares thread counts where the machine is idle.
Repeats are interleaved (autograd, adjoint, autograd, ...) after one warm-up round, so load hits
both alike; medians, their ratio and the machine load are written to bench_exact_gradient.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import machine_load  # noqa: E402
from _train_common import write_results  # noqa: E402  (takes --results-dir / --update-results)

from qhil import HDQNNAnsatz  # noqa: E402
from qhil.layers.hdqnn import ControlMap, exact_jacobian, exact_marginals  # noqa: E402
from qhil.quantum.adjoint import adjoint_marginals, marginal_jacobian  # noqa: E402
from qhil.quantum.simulator import Simulator  # noqa: E402

SIZES = {"4x2": (4, 2), "10x10": (10, 10)}
BATCH, JACOBIAN_SAMPLES = 256, 64


def adjoint_exact(ansatz: HDQNNAnsatz, controls: torch.Tensor, precision: str) -> torch.Tensor:
    """The wiring the exact strategy gets: marginals differentiable in the angle controls."""
    n, layers = ansatz.n_qubits, ansatz.n_layers
    blocks = controls.reshape(len(controls), layers, ansatz.per_layer)
    angles = blocks[:, :, :2 * n].reshape(len(controls), layers, n, 2)
    cz = torch.from_numpy(ansatz.split(controls)[1])
    return adjoint_marginals(angles, cz, precision)


def vjp(marginals_of, controls: torch.Tensor, upstream: torch.Tensor) -> torch.Tensor:
    x = controls.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad((marginals_of(x) * upstream).sum(), x)
    return grad


def jobs(n: int, layers: int, seed: int = 0) -> dict:
    """name -> {"autograd": fn, "adjoint": fn} for one circuit size."""
    ansatz = HDQNNAnsatz(n, layers)
    g = torch.Generator().manual_seed(seed)
    controls = ControlMap(ansatz)(torch.randn(BATCH, ansatz.control_dim, generator=g))
    upstream = torch.randn(BATCH, n, generator=g)
    sim64 = Simulator(n)
    return {"exact_vjp": {
                "autograd": lambda: vjp(lambda x: exact_marginals(sim64, ansatz, x), controls, upstream),
                "adjoint": lambda: vjp(lambda x: adjoint_exact(ansatz, x, "complex64"), controls,
                                       upstream)},
            "fidelity_check": fidelity_jobs(ansatz, controls.double(), upstream.double(), "complex128"),
            "fidelity_check_c64": fidelity_jobs(ansatz, controls, upstream, "complex64")}


def fidelity_jobs(ansatz: HDQNNAnsatz, controls: torch.Tensor, upstream: torch.Tensor,
                  precision: str) -> dict:
    """The fidelity check's exact side: a VJP at the full batch and the Jacobian of a few."""
    sim = Simulator(ansatz.n_qubits, precision=precision)
    cols, few = ControlMap(ansatz).angle_columns(), controls[:JACOBIAN_SAMPLES]
    few_angles, few_cz = (torch.from_numpy(a) for a in ansatz.split(few))
    few_angles = few_angles.to(controls.dtype)
    return {"autograd": lambda: (vjp(lambda x: exact_marginals(sim, ansatz, x), controls, upstream),
                                 exact_jacobian(sim, ansatz, few, cols)),
            "adjoint": lambda: (vjp(lambda x: adjoint_exact(ansatz, x, precision), controls, upstream),
                                marginal_jacobian(few_angles, few_cz, precision))}


def measure(pair: dict, repeats: int) -> dict:
    times: dict[str, list[float]] = {name: [] for name in pair}
    for rep in range(repeats + 1):  # one warm-up round, not kept
        for name, fn in pair.items():
            started = time.perf_counter()
            fn()
            if rep:
                times[name].append(time.perf_counter() - started)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"median_s": med, "speedup": med["autograd"] / med["adjoint"], "repeats": repeats}


def markdown(data: dict) -> str:
    lines = ["# Exact gradients: autograd through the simulator against the adjoint walk", "",
             f"`{data['command']}`. Load averages "
             f"{data['load_start']} at start, {data['load_end']} at end (2 CPUs, shared). "
             f"Batch {BATCH}, Jacobian of {JACOBIAN_SAMPLES} samples in the fidelity check; "
             "medians of interleaved repeats.", "",
             "| threads | size | job | autograd s | adjoint s | speed-up |",
             "|---:|---|---|---:|---:|---:|"]
    for threads, sizes in data["threads"].items():
        for size, jobs_ in sizes.items():
            for job, r in jobs_.items():
                m = r["median_s"]
                lines.append(f"| {threads} | {size} | {job} | {m['autograd']:.3f} | "
                             f"{m['adjoint']:.3f} | {r['speedup']:.1f}x |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", default="1", help="torch thread counts, comma-separated")
    args = p.parse_args()
    data = {"command": " ".join(["benchmarks/bench_exact_gradient.py", *sys.argv[1:]]),
            "load_start": machine_load(), "threads": {}}
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        data["threads"][threads] = {size: {job: measure(pair, args.repeats)
                                           for job, pair in jobs(*nl).items()}
                                    for size, nl in SIZES.items()}
    data["load_end"] = machine_load()
    write_results("bench_exact_gradient", data, markdown(data))


if __name__ == "__main__":
    main()
