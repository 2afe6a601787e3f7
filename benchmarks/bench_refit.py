"""The qtDNN refit: the hand-written step (qhil.layers.refit) against autograd, in ONE run.

    .venv/bin/python benchmarks/bench_refit.py [--repeats 15] [--threads 2]

Paper scale (Humanoid, Table 2): qtDNN [220, 2048, 10], Leaky ReLU, raw controls, 32 tiny
batches of 32 pairs drawn from 512 (q_i, q_o) pairs, AdamW (fused) lr 1e-3. Both trainers start
from the same weights; repeats are interleaved (fast, autograd, fast, ...) so load hits both
alike; medians and their ratio are reported with the machine load. Also the Pendulum config's
qtDNN ([128, 128] GELU on trig features, 4 tiny batches of 64). Writes bench_refit.{json,md}.
"""

from __future__ import annotations

import argparse
import copy
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
from qhil.layers.hdqnn import ControlMap, QtDNN, QtDNNTrainer, TrigFeatures  # noqa: E402

# name: (qubits, layers, hidden, activation, trig features, tiny batches, tiny batch size)
CASES = {"humanoid": (10, 10, [2048], "leaky_relu", False, 32, 32),
         "pendulum": (4, 2, [128, 128], "gelu", True, 4, 64)}


def trainers(case: tuple, seed: int = 0) -> tuple[QtDNNTrainer, QtDNNTrainer, tuple]:
    """(fast, autograd) trainers of identical qtDNNs, and 512 (q_i, q_o) pairs."""
    qubits, layers, hidden, act, trig, n_tiny, tiny = case
    ansatz = HDQNNAnsatz(qubits, layers)
    torch.manual_seed(seed)
    net = QtDNN(ansatz.control_dim, qubits, hidden, act, TrigFeatures(ansatz) if trig else None)
    fast = QtDNNTrainer(net, 1e-3, n_tiny, tiny)
    slow = QtDNNTrainer(copy.deepcopy(net), 1e-3, n_tiny, tiny)
    slow.fast_step = None
    g = torch.Generator().manual_seed(seed)
    pairs = (ControlMap(ansatz)(torch.randn(512, ansatz.control_dim, generator=g)),
             torch.rand(512, qubits, generator=g))
    return fast, slow, pairs


def measure(case: tuple, repeats: int) -> dict:
    fast, slow, pairs = trainers(case)
    times: dict[str, list[float]] = {"fast": [], "autograd": []}
    gens = {k: torch.Generator().manual_seed(1) for k in times}
    for rep in range(repeats + 2):  # two warm-up rounds, not kept
        for name, trainer in (("fast", fast), ("autograd", slow)):
            started = time.perf_counter()
            trainer.refit(*pairs, gens[name])
            if rep >= 2:
                times[name].append(time.perf_counter() - started)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    return {"median_ms": med, "speedup": med["autograd"] / med["fast"], "repeats": repeats}


def markdown(data: dict) -> str:
    lines = ["# qtDNN refit: hand-written step against autograd", "",
             f"Torch threads {data['threads']}; 1-min load average {data['load_start'][0]} at "
             f"start, {data['load_end'][0]} at end (2 CPUs, shared). Medians of interleaved "
             "repeats.", "", "| case | fast ms | autograd ms | speed-up |", "|---|---:|---:|---:|"]
    for name, r in data["cases"].items():
        m = r["median_ms"]
        lines.append(f"| {name} | {m['fast']:.1f} | {m['autograd']:.1f} | {r['speedup']:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data = {"command": " ".join(["benchmarks/bench_refit.py", *sys.argv[1:]]),
            "threads": args.threads, "load_start": machine_load()}
    data["cases"] = {name: measure(case, args.repeats) for name, case in CASES.items()}
    data["load_end"] = machine_load()
    write_results("bench_refit", data, markdown(data))


if __name__ == "__main__":
    main()
