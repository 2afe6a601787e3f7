"""A roofline for the embedded simulator on this machine, and qhil's time per layer against it.

    PYTHONPATH=$PWD nice -n 10 .venv/bin/python benchmarks/bench_roofline.py [--quick] [--update-results]

1. Memory bandwidth of this process (torch, qhil's thread count): STREAM-style copy (b = a, 2
   arrays of traffic) and triad (a = b + s c, 3 arrays), float32 and complex64, median of repeats,
   on arrays well beyond the caches (256 MiB each) and on arrays of one simulator chunk
   (`CPU_CHUNK_BYTES`, 4 MiB: the simulator works chunk by chunk, so its state lives in L2/L3).
2. Complex64 batched-matmul throughput at the simulator's own shapes: per width n and group size k,
   `apply_leading_group` on one chunk, (b, 2**(n-k), 2**k) x (b, 2**k, 2**k).
3. qhil's time per layer: `Simulator(n).probabilities(angles, cz)` at L = 2 and L = 4 layers,
   per layer = (t4 - t2) / 2 (the product state and the probabilities cancel), batch B chosen so
   the states hold ~`--batch-mib` MiB (at least 8 circuits), ring and data entanglers.
4. The bound per layer from a byte and flop count of the kernel as written (`layer_traffic`):
   memory bound = bytes / complex64 triad bandwidth, compute bound = flops / matmul throughput
   (both ceilings are the best of the repeats: peaks, least disturbed by other processes),
   roofline = the larger; the reported fraction is roofline / measured (1.0 = at the bound).
Writes roofline.{json,md} (load at start and end, threads, CPU model, the command).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import machine_load, results_dir  # noqa: E402

from qhil.quantum.simulator import (  # noqa: E402
    CPU_CHUNK_BYTES,
    ROW_CZ_MIN_QUBITS,
    Simulator,
    chunk_rows,
)
from qhil.quantum.statevector import apply_leading_group, rotation_groups  # noqa: E402
from qhil.threads import usable_cpus, use_threads  # noqa: E402

COMMAND = " ".join(["benchmarks/bench_roofline.py", *sys.argv[1:]])  # before the results flags go
RESULTS = results_dir()
MIB = 2 ** 20
ITEM = 8  # bytes per complex64 amplitude
QUBITS = (10, 12, 14, 16, 18, 20)


def times_s(fn, repeats: int) -> list[float]:
    """Wall seconds of fn() over `repeats` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def median_time_s(fn, repeats: int) -> float:
    return statistics.median(times_s(fn, repeats))


def stream_gbs(array_bytes: int, dtype: torch.dtype, repeats: int) -> dict[str, float]:
    """Copy and triad bandwidth (GB/s, 1e9 bytes) on arrays of `array_bytes` each."""
    count = array_bytes // torch.empty((), dtype=dtype).element_size()
    a, b, c = (torch.randn(count, dtype=dtype) for _ in range(3))
    scalar = 3.0 + 0.5j if dtype.is_complex else 3.0
    calls = max(1, 64 * MIB // array_bytes)  # small arrays: several calls per timed sample

    def copy():
        for _ in range(calls):
            b.copy_(a)

    def triad():
        for _ in range(calls):
            torch.add(b, c, alpha=scalar, out=a)

    copy_s, triad_s = times_s(copy, repeats), times_s(triad, repeats)
    gbs = lambda arrays, ts: arrays * calls * array_bytes / ts / 1e9  # noqa: E731
    return {"copy_gbs": gbs(2, statistics.median(copy_s)), "triad_gbs": gbs(3, statistics.median(triad_s)),
            "copy_best_gbs": gbs(2, min(copy_s)), "triad_best_gbs": gbs(3, min(triad_s))}


def bandwidth(array_mib: int, repeats: int) -> dict[str, dict]:
    """Copy/triad GB/s per dtype, beyond cache ('dram') and at one chunk's size ('chunk')."""
    sizes = {"dram": array_mib * MIB, "chunk": CPU_CHUNK_BYTES}
    return {level: {str(d).removeprefix("torch."): stream_gbs(size, d, repeats)
                    for d in (torch.float32, torch.complex64)} for level, size in sizes.items()}


def matmul_gflops(n: int, k: int, batch: int, repeats: int) -> float:
    """Peak (best of repeats) complex64 GFLOP/s (8 real flops per complex multiply-add) of one
    group's matmul on a chunk: a ceiling, so the least disturbed figure."""
    rows = chunk_rows(n, batch)
    state = torch.randn(rows, 2 ** n, dtype=torch.complex64)
    kron_t = torch.randn(rows, 2 ** k, 2 ** k, dtype=torch.complex64)
    calls = max(1, (32 * MIB) // (rows * 2 ** n * ITEM))  # ~32 MiB of state per timed call

    def run():
        for _ in range(calls):
            apply_leading_group(state, kron_t, k)

    return 8 * calls * rows * 2 ** n * 2 ** k / min(times_s(run, repeats)) / 1e9


def batch_for(n: int, batch_mib: int) -> int:
    """Circuits whose states hold ~batch_mib MiB, at least 8."""
    return max(8, batch_mib * MIB // (ITEM * 2 ** n))


def workload(n: int, batch: int, layers: int, entangler: str,
             seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """hDQNN arrays: angles (B, L, n, 2); CZ one data-chosen pair per layer, or the ring."""
    g = torch.Generator().manual_seed(seed)
    angles = torch.rand(batch, layers, n, 2, generator=g) * 2 * torch.pi
    if entangler == "data":
        return angles, torch.randint(0, n, (batch, layers, 1, 2), generator=g)
    ring = torch.tensor([[j, (j + 1) % n] for j in range(n)])
    return angles, ring[None, None].expand(batch, layers, n, 2).clone()


def layer_seconds(n: int, batch: int, entangler: str, repeats: int) -> dict[str, float]:
    """Median (and best) seconds of probabilities() at L=2 and L=4, and per layer: half the
    difference (best: of the best times, the figure least disturbed by other processes). The two
    depths alternate call by call, so a change in the machine's load hits both alike."""
    sim = Simulator(n)
    circuits = {layers: workload(n, batch, layers, entangler) for layers in (2, 4)}
    times: dict[int, list[float]] = {2: [], 4: []}
    with torch.no_grad():
        for layers in (2, 4):
            sim.probabilities(*circuits[layers])  # warm-up
        for _ in range(repeats):
            for layers in (2, 4):
                started = time.perf_counter()
                sim.probabilities(*circuits[layers])
                times[layers].append(time.perf_counter() - started)
    out = {f"l{layers}_{kind}": fn(t) for layers, t in times.items()
           for kind, fn in (("s", statistics.median), ("best_s", min))}
    out["per_layer_s"] = (out["l4_s"] - out["l2_s"]) / 2
    out["per_layer_best_s"] = (out["l4_best_s"] - out["l2_best_s"]) / 2
    return out


def cz_bytes_per_state(n: int, entangler: str) -> float:
    """Bytes one layer's CZ moves per circuit, as `Simulator._apply_cz` runs it (CPU, no grad).

    Ring (shared, n > 4 pairs): one in-place multiply by the cached sign vector: read state, read
    signs, write state (3 S). Data, one pair: from 13 qubits an in-place negation of a quarter of
    the row (read + write S / 4; a pair (i, i), probability 1 / n, is skipped); below, a gathered
    sign row (read table row, write signs) and the multiply (read state and signs, write): 5 S.
    """
    state = ITEM * 2 ** n
    if entangler == "ring":
        return 3 * state
    if n >= ROW_CZ_MIN_QUBITS:
        return (1 - 1 / n) * state / 2
    return 5 * state


def layer_traffic(n: int, entangler: str) -> dict[str, float]:
    """Bytes and flops of one layer per circuit: the CZ, then one matmul per rotation group.

    Each group's `apply_leading_group` reads the state and writes a new one (2 S) and reads its
    (2**k, 2**k) matrix, which `kron_pair` / `group_factors` wrote (2 * 4**k * 8 bytes); it does
    2**n * 2**k complex multiply-adds (8 real flops each).
    """
    groups = rotation_groups(n)
    rotation = sum(2 * ITEM * 2 ** n + 2 * ITEM * 4 ** k for k in groups)
    return {"groups": list(groups), "passes": len(groups) + 1,
            "bytes": rotation + cz_bytes_per_state(n, entangler),
            "flops": sum(8 * 2 ** n * 2 ** k for k in groups)}


def bound_row(n: int, batch: int, entangler: str, timing: dict, gbs: dict, gflops: dict) -> dict:
    """One table row: measured per layer, the bounds and the achieved fraction of the roofline."""
    traffic = layer_traffic(n, entangler)
    compute_s = batch * sum(8 * 2 ** n * 2 ** k / (gflops[k] * 1e9) for k in traffic["groups"])
    mem = {level: batch * traffic["bytes"] / (gbs[level]["complex64"]["triad_best_gbs"] * 1e9)
           for level in ("dram", "chunk")}
    roof = {level: max(mem[level], compute_s) for level in mem}
    per_layer = timing["per_layer_s"]
    return {"n_qubits": n, "entangler": entangler, "batch": batch, "state_mib": batch * ITEM * 2 ** n / MIB,
            **traffic, **timing, "layer_mib": batch * traffic["bytes"] / MIB,
            "layer_gflop": batch * traffic["flops"] / 1e9, "matmul_gflops": gflops,
            "memory_bound_dram_s": mem["dram"], "memory_bound_chunk_s": mem["chunk"],
            "compute_bound_s": compute_s,
            "fraction_of_roofline_dram": roof["dram"] / per_layer if per_layer > 0 else None,
            "fraction_of_roofline_chunk": roof["chunk"] / per_layer if per_layer > 0 else None,
            "fraction_of_roofline_chunk_best": (roof["chunk"] / timing["per_layer_best_s"]
                                                if timing["per_layer_best_s"] > 0 else None)}


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def measure(args: argparse.Namespace, bw: dict) -> list[dict]:
    rows = []
    for n in args.qubits:
        batch = batch_for(n, args.batch_mib)
        gflops = {k: matmul_gflops(n, k, batch, args.repeats) for k in sorted(set(rotation_groups(n)))}
        for entangler in ("ring", "data"):
            timing = layer_seconds(n, batch, entangler, args.repeats)
            rows.append(bound_row(n, batch, entangler, timing, bw, gflops))
            print(format_row(rows[-1]), flush=True)
    return rows


HEADER = ("| n | entangler | B | state MiB | groups | ms/layer | best ms/layer | MiB/layer | mem bound DRAM ms "
          "| mem bound chunk ms | compute bound ms | fraction (DRAM roof) | fraction (chunk roof) "
          "| fraction (chunk roof, best) |")


def format_row(r: dict) -> str:
    frac = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    return (f"| {r['n_qubits']} | {r['entangler']} | {r['batch']} | {r['state_mib']:.0f} | "
            f"{tuple(r['groups'])} | {1e3 * r['per_layer_s']:.1f} | {1e3 * r['per_layer_best_s']:.1f} | {r['layer_mib']:.0f} | "
            f"{1e3 * r['memory_bound_dram_s']:.1f} | {1e3 * r['memory_bound_chunk_s']:.1f} | "
            f"{1e3 * r['compute_bound_s']:.1f} | {frac(r['fraction_of_roofline_dram'])} | "
            f"{frac(r['fraction_of_roofline_chunk'])} | {frac(r['fraction_of_roofline_chunk_best'])} |")


def markdown(out: dict) -> str:
    bw = out["bandwidth"]
    lines = ["# Roofline of the embedded simulator (complex64, CPU)", "",
             f"Command: `{out['command']}`  ", f"CPU: {out['cpu_model']}, torch threads "
             f"{out['torch_threads']}; load average at start {out['load_start']}, end {out['load_end']}.",
             "", "| arrays | dtype | copy GB/s (median) | triad GB/s (median) | copy best | triad best |",
             "|---|---|---|---|---|---|"]
    for level, per_dtype in bw.items():
        for dtype, v in per_dtype.items():
            lines.append(f"| {level} | {dtype} | {v['copy_gbs']:.1f} | {v['triad_gbs']:.1f} | "
                         f"{v['copy_best_gbs']:.1f} | {v['triad_best_gbs']:.1f} |")
    lines += ["", "Per layer: (t(L=4) - t(L=2)) / 2 of `Simulator(n).probabilities`; bounds from "
              "the byte/flop count in `layer_traffic` (bench_roofline.py) over the best complex64 triad "
              "bandwidth (DRAM-sized or chunk-sized arrays) and the best matmul throughput at the "
              "simulator's chunk shape; fraction = max(memory, compute bound) / measured "
              "(median; 'best' uses the best L=2 and L=4 times).", "",
              HEADER, "|" + "---|" * 14]
    return "\n".join(lines + [format_row(r) for r in out["rows"]]) + "\n"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run: small arrays, n=10 and 14, 1 repeat")
    p.add_argument("--qubits", default=",".join(map(str, QUBITS)))
    p.add_argument("--batch-mib", type=int, default=128, help="state batch size per width, MiB")
    p.add_argument("--array-mib", type=int, default=256, help="stream array size, MiB")
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    if args.quick:
        args.qubits, args.batch_mib, args.array_mib, args.repeats = "10,14", 2, 16, 1
    args.qubits = [int(q) for q in args.qubits.split(",")]
    return args


def main() -> None:
    args = parse_args()
    use_threads(usable_cpus())
    load = machine_load()
    bw = bandwidth(args.array_mib, args.repeats)
    print(json.dumps(bw, indent=1), flush=True)
    rows = measure(args, bw)
    out = {"command": COMMAND, "quick": args.quick, "cpu_model": cpu_model(),
           "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
           "load_start": load, "load_end": machine_load(), "batch_mib": args.batch_mib,
           "array_mib": args.array_mib, "repeats": args.repeats, "bandwidth": bw, "rows": rows}
    (RESULTS / "roofline.json").write_text(json.dumps(out, indent=2) + "\n")
    (RESULTS / "roofline.md").write_text(markdown(out))
    print(markdown(out))


if __name__ == "__main__":
    main()
