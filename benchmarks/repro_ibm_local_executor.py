"""Minimal reproduction, upstream-style, of why IBM's local testing mode got slower for batches
of many distinct circuits (issue: "IBM's local path no slower than before").

qiskit-ibm-runtime's client-side `executor_sampler.Sampler` in local testing mode runs its
QuantumProgram through `fake_provider/executor/run_quantum_program.py`, which calls
`aer_sampler.run([one SamplerPub]).result()` once per program item: every PUB is a separate Aer
execution, and every Aer execution serialises the whole noise model again
(`qiskit_aer.backends.backend_utils.cpp_execute_circuits` -> `NoiseModel.to_dict`), with no
parallelism across items. Aer's own `SamplerV2` given the same PUBs runs them in one execution.

This script needs nothing of qhil: K distinct 4-qubit circuits (a CZ pattern each, transpiled
for a noisy 4-qubit AerSimulator from Qiskit's GenericBackendV2), the same PUBs through
(a) the executor Sampler in local mode and (b) Aer's SamplerV2 in one call; wall time of each,
interleaved over rounds (medians), and how many times the noise model was serialised.

    .venv/bin/python benchmarks/repro_ibm_local_executor.py [--circuits 64] [--rounds 3]

Writes benchmarks/results/repro_ibm_local_executor.{json,md}.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.simplefilter("ignore")

from _results import machine_load, results_dir  # noqa: E402

RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)


def circuits(k: int, n: int = 4):
    """K distinct circuits: RY layers with a different pair of CZs each, measured."""
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    pairs = list(itertools.combinations(range(n), 2))
    out = []
    for i in range(k):
        theta = ParameterVector("t", 2 * n)
        qc = QuantumCircuit(n)
        for layer in range(2):
            for q in range(n):
                qc.ry(theta[layer * n + q], q)
            a, b = pairs[(i + layer * 7) % len(pairs)], pairs[(i // len(pairs) + layer) % len(pairs)]
            qc.cz(*a)
            if b != a:
                qc.cz(*b)
        qc.measure_all()
        out.append(qc)
    return out


def simulator():
    """A noisy 4-qubit AerSimulator (Qiskit's GenericBackendV2 and its noise model)."""
    from qiskit.providers.fake_provider import GenericBackendV2
    from qiskit_aer import AerSimulator

    return AerSimulator.from_backend(GenericBackendV2(num_qubits=4, seed=1))


def pubs(backend, k: int, seed: int = 0):
    import numpy as np
    from qiskit import transpile

    rng = np.random.default_rng(seed)
    isa = transpile(circuits(k), backend=backend, optimization_level=1, seed_transpiler=1)
    return [(c, rng.uniform(-3, 3, c.num_parameters)) for c in isa]


def count_serialisations():
    """Wrap NoiseModel.to_dict with a counter (returns the counter dict)."""
    from qiskit_aer.noise import NoiseModel

    counter = {"calls": 0}
    original = NoiseModel.to_dict

    def counted(self, *args, **kwargs):
        counter["calls"] += 1
        return original(self, *args, **kwargs)

    NoiseModel.to_dict = counted
    return counter


def executor_run(backend, batch, shots: int) -> float:
    from qiskit_ibm_runtime.executor_sampler import Sampler

    start = time.perf_counter()
    Sampler(mode=backend).run(batch, shots=shots).result()
    return time.perf_counter() - start


def aer_run(backend, batch, shots: int) -> float:
    from qiskit_aer.primitives import SamplerV2

    start = time.perf_counter()
    SamplerV2.from_backend(backend).run(batch, shots=shots).result()
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--circuits", type=int, default=64)
    p.add_argument("--shots", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    backend = simulator()
    batch = pubs(backend, args.circuits)
    counter = count_serialisations()
    times = {"executor": [], "aer": []}
    calls = {}
    for _ in range(args.rounds):
        for name, run in (("executor", executor_run), ("aer", aer_run)):
            before = counter["calls"]
            times[name].append(run(backend, batch, args.shots))
            calls[name] = counter["calls"] - before
    report(args, times, calls)


def report(args, times: dict, calls: dict) -> None:
    import qiskit_aer
    import qiskit_ibm_runtime

    med = {k: statistics.median(v) for k, v in times.items()}
    data = {"circuits": args.circuits, "shots": args.shots, "rounds": args.rounds,
            "median_s": med, "times_s": times, "noise_model_serialisations": calls,
            "ratio_executor_over_aer": med["executor"] / med["aer"], "load": machine_load(),
            "versions": {"qiskit-ibm-runtime": qiskit_ibm_runtime.__version__,
                         "qiskit-aer": qiskit_aer.__version__}, "cpus": os.cpu_count()}
    out = RESULTS
    out.mkdir(parents=True, exist_ok=True)
    (out / "repro_ibm_local_executor.json").write_text(json.dumps(data, indent=2))
    text = (f"# IBM local testing: executor Sampler vs Aer SamplerV2 on the same PUBs\n\n"
            f"Command: `python benchmarks/repro_ibm_local_executor.py --circuits {args.circuits}"
            f" --rounds {args.rounds}`; qiskit-ibm-runtime {data['versions']['qiskit-ibm-runtime']}"
            f", qiskit-aer {data['versions']['qiskit-aer']}; load {data['load']}\n\n"
            f"| path | median wall s | noise-model serialisations per run |\n|---|---|---|\n"
            f"| executor Sampler, local mode | {med['executor']:.2f} | {calls['executor']} |\n"
            f"| Aer SamplerV2, one call | {med['aer']:.2f} | {calls['aer']} |\n\n"
            f"Ratio executor / Aer: {data['ratio_executor_over_aer']:.2f}x\n")
    (out / "repro_ibm_local_executor.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
