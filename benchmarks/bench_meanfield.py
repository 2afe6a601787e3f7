"""The mean-field prior of the hDQNN ansatz: today's `meanfield_marginals` against the frozen one.

    .venv/bin/python benchmarks/bench_meanfield.py [--repeats 30] [--calls 10] [--update-results]

The prior runs in every actor update (forward and backward through the controls) and target
action (forward, no grad) of a mean-field training run: issue 27 found it ~8.5% of a Humanoid
run's CPU samples. Cases: the Pendulum config (4 qubits x 2 layers) and the paper's Humanoid
scale (10 x 10), data entangler, batch 256, float32, 1 torch thread. `frozen_meanfield_marginals`
is the function as it was before the hand-written backward (commit bc90c1a), copied here so
both run in one process on the same inputs; repeats are interleaved (frozen, new, frozen, ...)
so load hits both alike, each repeat timing `calls` calls. Medians per call and their ratio are
written with the load average to bench_meanfield.{json,md}.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import machine_load  # noqa: E402
from _train_common import write_results  # noqa: E402  (takes --results-dir / --update-results)

from qhil import HDQNNAnsatz  # noqa: E402
from qhil.layers.meanfield import _pairs, _start, dephase, meanfield_marginals  # noqa: E402

CASES = {"pendulum 4x2": (4, 2), "humanoid 10x10": (10, 10)}
BATCH = 256


def frozen_meanfield_marginals(ansatz: HDQNNAnsatz, controls: torch.Tensor) -> torch.Tensor:
    """`meanfield_marginals` as of bc90c1a (autograd through ~14 small ops a layer): the baseline."""
    batch, n, layers = controls.shape[0], ansatz.n_qubits, ansatz.n_layers
    blocks = controls.reshape(batch, layers, ansatz.per_layer)
    angles = blocks[:, :, :2 * n]
    cos, sin = torch.cos(angles).unbind(1), torch.sin(angles).unbind(1)
    masks = _frozen_cz_masks(blocks[:, :, 2 * n:], n) if ansatz.entangler == "data" else None
    x, y, z = _start(batch, n, controls)
    for layer in range(layers):
        ca, cb = cos[layer][:, 0::2], cos[layer][:, 1::2]
        sa, sb = sin[layer][:, 0::2], sin[layer][:, 1::2]
        y, z = torch.addcmul(y * ca, z, sa, value=-1), torch.addcmul(y * sa, z, ca)  # RX
        x, z = torch.addcmul(x * cb, z, sb), torch.addcmul(z * cb, x, sb, value=-1)  # RY
        if masks is None:
            for i, k in _pairs(ansatz, None, batch, controls.device):
                x, y, z = dephase((x, y, z), i, k)
            continue
        factor = _frozen_cz_factor(z, *(m[layer] for m in masks))
        x, y = x * factor, y * factor
    return (1 - z) / 2


def _frozen_cz_masks(index: torch.Tensor, n: int):
    pairs = index.detach().round().clamp(0, n - 1).long()
    i, k = pairs[..., 0:1], pairs[..., 1:2]
    gate = (i != k).expand(-1, -1, n)
    qubits = torch.arange(n, device=index.device)
    on_i, on_k = (qubits == i) & gate, (qubits == k) & gate
    return i.unbind(1), k.unbind(1), on_i.unbind(1), on_k.unbind(1)


def _frozen_cz_factor(z, i, k, on_i, on_k) -> torch.Tensor:
    return torch.where(on_i, z.gather(1, k), torch.where(on_k, z.gather(1, i), 1.0))


VARIANTS = {"frozen": frozen_meanfield_marginals, "new": meanfield_marginals}


def inputs(qubits: int, layers: int, seed: int = 0) -> tuple[HDQNNAnsatz, torch.Tensor, torch.Tensor]:
    """The ansatz, (BATCH, control_dim) float32 controls shaped like a run's, and an upstream
    gradient (the random linear functional both backward passes take)."""
    ansatz = HDQNNAnsatz(qubits, layers)
    rng = np.random.default_rng(seed)
    controls = torch.tensor(ansatz.random_controls(BATCH, rng), dtype=torch.float32)
    return ansatz, controls.requires_grad_(), torch.tensor(rng.normal(size=(BATCH, qubits)),
                                                            dtype=torch.float32)


def agree(ansatz, controls, upstream) -> dict:
    """Largest differences of values and gradients, new against frozen (checked before timing)."""
    out = {}
    for name, fn in VARIANTS.items():
        value = fn(ansatz, controls)
        out[name] = (value.detach(), torch.autograd.grad((value * upstream).sum(), controls)[0])
    (v0, g0), (v1, g1) = out.values()
    return {"value": float((v0 - v1).abs().max()), "grad": float((g0 - g1).abs().max())}


def timed(fn, ansatz, controls, upstream, backward: bool, calls: int) -> float:
    """Seconds per call over `calls` calls: forward under no_grad, or forward + backward."""
    started = time.perf_counter()
    for _ in range(calls):
        if backward:
            torch.autograd.grad((fn(ansatz, controls) * upstream).sum(), controls)
        else:
            with torch.no_grad():
                fn(ansatz, controls)
    return (time.perf_counter() - started) / calls


def measure(qubits: int, layers: int, repeats: int, calls: int) -> dict:
    ansatz, controls, upstream = inputs(qubits, layers)
    times = {(v, m): [] for v in VARIANTS for m in ("forward", "forward_backward")}
    for rep in range(repeats + 2):  # two warm-up rounds, not kept
        for (variant, mode), kept in times.items():
            t = timed(VARIANTS[variant], ansatz, controls, upstream, mode != "forward", calls)
            if rep >= 2:
                kept.append(t)
    med = {f"{v}_{m}_us": statistics.median(t) * 1e6 for (v, m), t in times.items()}
    speedup = {m: med[f"frozen_{m}_us"] / med[f"new_{m}_us"] for m in ("forward", "forward_backward")}
    return {"median_us": med, "speedup": speedup, "max_abs_diff": agree(ansatz, controls, upstream)}


def markdown(data: dict) -> str:
    lines = ["# Mean-field prior: `meanfield_marginals` against the frozen baseline", "",
             f"`{data['command']}`; torch threads 1, batch {BATCH}, float32, data entangler; "
             f"load average {data['load_start']} at start, {data['load_end']} at end (2 CPUs, "
             f"shared). Medians per call of {data['repeats']} interleaved repeats of "
             f"{data['calls']} calls.", "",
             "| case | mode | frozen us | new us | speed-up |", "|---|---|---:|---:|---:|"]
    for name, r in data["cases"].items():
        m = r["median_us"]
        for mode in ("forward", "forward_backward"):
            lines.append(f"| {name} | {mode.replace('_', ' + ')} | {m[f'frozen_{mode}_us']:.0f} | "
                         f"{m[f'new_{mode}_us']:.0f} | {r['speedup'][mode]:.2f}x |")
    diffs = {name: r["max_abs_diff"] for name, r in data["cases"].items()}
    lines += ["", f"Largest |new - frozen| (values, gradients): {diffs}"]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--calls", type=int, default=10)
    args = p.parse_args()
    torch.set_num_threads(1)
    data = {"command": " ".join(["benchmarks/bench_meanfield.py", *sys.argv[1:]]),
            "repeats": args.repeats, "calls": args.calls, "load_start": machine_load()}
    data["cases"] = {name: measure(*case, args.repeats, args.calls) for name, case in CASES.items()}
    data["load_end"] = machine_load()
    write_results("bench_meanfield", data, markdown(data))


if __name__ == "__main__":
    main()
