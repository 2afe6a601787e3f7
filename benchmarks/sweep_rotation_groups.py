"""How the rotation group size changes the embedded simulator's time, per register width.

    .venv/bin/python benchmarks/sweep_rotation_groups.py [--qubits 13,14,16,18,20] [--sizes 3,4,5,6]

For each width n, both entanglers (one data-chosen CZ per layer, the CZ ring), L=10, S=100 and a
batch of 2**21 amplitudes (n=13: 256 circuits, n=16: 32; at least 8 circuits): median seconds of
`Simulator.sample` with the qubits split into groups of at most each size
(`default_groups`), the rest of the simulator as shipped. `rotation_groups` (qhil/quantum/
statevector.py) is chosen from this sweep. Prints a table; writes sweep_rotation_groups.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import machine_load, results_dir  # noqa: E402

from qhil.quantum import simulator, statevector  # noqa: E402

RESULTS = results_dir()


def workload(n: int, entangler: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    batch = max(8, 2 ** 21 // 2 ** n)
    g = torch.Generator().manual_seed(seed)
    angles = torch.rand(batch, 10, n, 2, generator=g) * 2 * torch.pi
    if entangler == "data":
        return angles, torch.randint(0, n, (batch, 10, 1, 2), generator=g)
    ring = torch.tensor([[j, (j + 1) % n] for j in range(n)])
    return angles, ring[None, None].expand(batch, 10, n, 2).clone()


def median_s(n: int, size: int, circuits: tuple, repeats: int) -> float:
    original = simulator.rotation_groups
    simulator.rotation_groups = lambda width: statevector.default_groups(width, size)
    try:
        sim = simulator.Simulator(n)
        times = []
        for _ in range(repeats + 1):  # the first call is a warm-up
            started = time.perf_counter()
            sim.sample(*circuits, 100, torch.Generator().manual_seed(1))
            times.append(time.perf_counter() - started)
        return statistics.median(times[1:])
    finally:
        simulator.rotation_groups = original


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--qubits", default="13,14,16,18,20")
    p.add_argument("--sizes", default="3,4,5,6")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows, load = [], machine_load()
    print(f"1-min load average {load[0]}; median ms per batch; group size -> groups")
    for n in (int(q) for q in args.qubits.split(",")):
        for entangler in ("data", "ring"):
            circuits = workload(n, entangler)
            ms = {s: 1e3 * median_s(n, s, circuits, args.repeats) for s in sizes}
            rows.append({"n_qubits": n, "entangler": entangler, "batch": len(circuits[0]),
                         "median_ms": ms, "groups": {s: statevector.default_groups(n, s) for s in sizes}})
            print(f"n={n:2d} {entangler:4s} B={len(circuits[0]):3d}  " + "  ".join(
                f"{s}{statevector.default_groups(n, s)}: {v:.1f}" for s, v in ms.items()))
    out = {"command": " ".join(["benchmarks/sweep_rotation_groups.py", *sys.argv[1:]]),
           "load_start": load, "load_end": machine_load(), "rows": rows}
    (RESULTS / "sweep_rotation_groups.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
