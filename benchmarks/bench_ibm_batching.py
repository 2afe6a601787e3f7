"""IBM jobs per batch of hDQNN circuits, the local-mode restriction, and the transpile cache.

Part 1: a batch of 256 hDQNN circuits (4 qubits x 3 layers, data-dependent and fixed entangler,
100 shots) through `ibm-fake-torino` (client-side Sampler, local testing mode): qhil sends one job with one
PUB per distinct structure; the peer sends one job per circuit, transpiling each circuit anew
(what PennyLane's Qiskit plugin does), on the same restricted simulator so the difference is the
batching alone. Counts are exact; wall times are one run each.

Part 2: local testing mode on FakeTorino as the SDK runs it (noise model over all 133 qubits)
against qhil's restriction to the qubits the layout uses: same ISA circuits, wall time and the
largest marginal difference.

Part 3: transpile-cache hit rate in a training-like stream: 50 batches of 16 data-dependent
circuits (4 qubits x 3 layers) whose CZ-index controls come from a policy that drifts slowly
(Gaussian around per-layer means), plus the fixed-entangler stream.

    .venv/bin/python benchmarks/bench_ibm_batching.py [--batch 256] [--full-batch 8]

Writes benchmarks/results/ibm_batching.json and .md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
warnings.simplefilter("ignore", DeprecationWarning)

import numpy as np  # noqa: E402
from _results import results_dir  # noqa: E402  (benchmarks/ is on sys.path)

from qhil import HDQNNAnsatz, get_provider  # noqa: E402
from qhil.adapters.qiskit_backends import active_qubits, compact_circuit, fake_backend  # noqa: E402
from qhil.adapters.qiskit_circuits import translate  # noqa: E402
from qhil.adapters.qiskit_clients import sampler  # noqa: E402
from qhil.adapters.qiskit_runtime import IBMProvider  # noqa: E402

QUBITS, LAYERS, SHOTS = 4, 3, 100
RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)


def controls(ansatz: HDQNNAnsatz, batch: int, rng: np.random.Generator,
             cz_mean: np.ndarray | None = None, cz_sigma: float = 0.0) -> np.ndarray:
    blocks = rng.uniform(0, 2 * np.pi, (batch, ansatz.n_layers, ansatz.per_layer))
    if ansatz.entangler == "data":
        n = ansatz.n_qubits
        if cz_mean is None:
            blocks[:, :, 2 * n:] = rng.integers(0, n, (batch, ansatz.n_layers, 2))
        else:
            blocks[:, :, 2 * n:] = cz_mean + rng.normal(0, cz_sigma, (batch, ansatz.n_layers, 2))
    return blocks.reshape(batch, -1)


def qhil_batch(provider: IBMProvider, request) -> dict:
    runs_before = provider.transpile_cache.misses
    start = time.perf_counter()
    result = provider.submit(request).result(timeout_s=3600)
    return {"jobs": 1, "pubs": len(request.structures()), "wall_s": time.perf_counter() - start,
            "transpiles": provider.transpile_cache.misses - runs_before,
            "marginals_shape": list(result.marginals.shape)}


def peer_batch(provider: IBMProvider, request) -> dict:
    """One job per circuit, each circuit transpiled for its own job (no cache)."""
    from qhil.adapters.qiskit_backends import TranspileCache

    client = provider.client
    start = time.perf_counter()
    for row in range(request.batch_size):
        (pub,) = translate(request.subset([row]))
        isa = TranspileCache(client.backend()).get(pub.key, pub.circuit)
        client.run([(isa, pub.values)], request.shots, None).result()
    return {"jobs": request.batch_size, "pubs": request.batch_size,
            "wall_s": time.perf_counter() - start, "transpiles": request.batch_size}


def part1(batch: int) -> list[dict]:
    rows = []
    for entangler in ("data", "ring"):
        ansatz = HDQNNAnsatz(QUBITS, LAYERS, entangler)
        request = ansatz.request(controls(ansatz, batch, np.random.default_rng(1)), shots=SHOTS)
        with get_provider("ibm-fake-torino") as provider:
            ours = qhil_batch(provider, request)
            peer = peer_batch(provider, request)
        rows.append({"entangler": entangler, "batch": batch, "qhil": ours, "peer_one_job_per_circuit": peer,
                     "jobs_ratio": peer["jobs"] / ours["jobs"],
                     "wall_ratio": peer["wall_s"] / ours["wall_s"]})
        print(f"[1] {entangler}: qhil {ours['jobs']} job / {ours['pubs']} PUBs {ours['wall_s']:.1f} s; "
              f"peer {peer['jobs']} jobs {peer['wall_s']:.1f} s", flush=True)
    return rows


def part2(batch: int, repeats: int = 3) -> dict:
    backend = fake_backend("FakeTorino")
    ansatz = HDQNNAnsatz(QUBITS, LAYERS)
    request = ansatz.request(controls(ansatz, batch, np.random.default_rng(2)), shots=4000)
    with get_provider("ibm-fake-torino") as provider:
        pubs = [(provider.transpile_cache.get(p.key, p.circuit), p.values) for p in translate(request)]
        reduced = provider.client._reduced
    active = active_qubits(c for c, _ in pubs)
    compact = [(compact_circuit(c, active), v) for c, v in pubs]
    simulator = reduced.simulator(active)
    t_restricted = [_timed(lambda: sampler(simulator).run(compact, shots=4000).result())
                    for _ in range(repeats)]
    start = time.perf_counter()
    full = sampler(backend).run(pubs, shots=4000).result()
    t_full = time.perf_counter() - start
    small = sampler(simulator).run(compact, shots=4000).result()
    diff = max(float(np.abs(_marg(a) - _marg(b)).max()) for a, b in zip(full, small, strict=True))
    out = {"circuits": batch, "shots": 4000, "active_qubits": len(active), "device_qubits": backend.num_qubits,
           "full_s": t_full, "restricted_s": statistics.median(t_restricted),
           "speedup": t_full / statistics.median(t_restricted), "max_abs_marginal_diff": diff}
    print(f"[2] full {t_full:.1f} s, restricted {out['restricted_s']:.2f} s, x{out['speedup']:.0f}, "
          f"max |diff| {diff:.3f}", flush=True)
    return out


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _marg(pub_result) -> np.ndarray:
    return pub_result.data.meas.to_bool_array(order="big").mean(axis=1)


def part3(batches: int = 50, batch: int = 16) -> list[dict]:
    rows = []
    for entangler in ("data", "ring"):
        ansatz = HDQNNAnsatz(QUBITS, LAYERS, entangler)
        rng = np.random.default_rng(3)
        mean = rng.uniform(0, QUBITS - 1, (LAYERS, 2))
        distinct: set[bytes] = set()
        with get_provider("ibm-fake-torino") as provider:
            for _ in range(batches):
                mean = np.clip(mean + rng.normal(0, 0.05, mean.shape), 0, QUBITS - 1)
                request = ansatz.request(controls(ansatz, batch, rng, mean, 0.35), shots=SHOTS)
                distinct.update(request.structures())
                provider.submit(request).result(timeout_s=3600)
            cache = provider.transpile_cache
            rows.append({"entangler": entangler, "batches": batches, "batch": batch,
                         "lookups": cache.hits + cache.misses, "hits": cache.hits,
                         "misses": cache.misses, "hit_rate": cache.hit_rate,
                         "distinct_structures": len(distinct)})
        print(f"[3] {entangler}: hit rate {cache.hit_rate:.3f} ({cache.hits}/{cache.hits + cache.misses}), "
              f"{len(distinct)} distinct structures", flush=True)
    return rows


def write(report: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ibm_batching.json").write_text(json.dumps(report, indent=2))
    lines = ["# IBM batching (ibm-fake-torino, client-side Sampler, local testing mode)", "",
             f"Command: `{report['command']}`", "",
             "| entangler | circuits | qhil jobs | qhil PUBs | qhil wall s | peer jobs | peer wall s | jobs ratio | wall ratio |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in report["jobs_per_batch"]:
        q, p = r["qhil"], r["peer_one_job_per_circuit"]
        lines.append(f"| {r['entangler']} | {r['batch']} | {q['jobs']} | {q['pubs']} | {q['wall_s']:.2f} | "
                     f"{p['jobs']} | {p['wall_s']:.2f} | {r['jobs_ratio']:.0f}x | {r['wall_ratio']:.1f}x |")
    f = report["restriction"]
    lines += ["", "| local mode | circuits | wall s | max abs marginal diff |", "|---|---|---|---|",
              f"| full FakeTorino ({f['device_qubits']} qubits) | {f['circuits']} | {f['full_s']:.1f} | |",
              f"| restricted to {f['active_qubits']} layout qubits | {f['circuits']} | {f['restricted_s']:.2f} | "
              f"{f['max_abs_marginal_diff']:.3f} (4000 shots) |",
              f"| speed-up | | {f['speedup']:.0f}x | |", "",
              "| stream | batches x circuits | distinct structures | cache hits / lookups | hit rate |",
              "|---|---|---|---|---|"]
    for r in report["transpile_cache"]:
        lines.append(f"| {r['entangler']} | {r['batches']} x {r['batch']} | {r['distinct_structures']} | "
                     f"{r['hits']} / {r['lookups']} | {r['hit_rate']:.3f} |")
    (RESULTS / "ibm_batching.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=256, help="circuits per batch in part 1")
    p.add_argument("--full-batch", type=int, default=8, help="circuits in part 2 (full device is slow)")
    args = p.parse_args()
    command = "python benchmarks/bench_ibm_batching.py " + " ".join(sys.argv[1:])
    report = {"command": command.strip(), "qubits": QUBITS, "layers": LAYERS, "shots": SHOTS,
              "jobs_per_batch": part1(args.batch), "restriction": part2(args.full_batch),
              "transpile_cache": part3()}
    write(report)
    print((RESULTS / "ibm_batching.md").read_text())


if __name__ == "__main__":
    main()
