"""IBM local testing mode: one batch of hDQNN circuits through `ibm-fake-torino` with each local
sampler, in one run (issue 27, item 3: "IBM's local path no slower than before").

`local_sampler = "executor"` is qiskit-ibm-runtime's client-side Sampler's own local path: one Aer
execution per PUB, the noise model serialised again for each (the SDK's share:
benchmarks/repro_ibm_local_executor.py). `local_sampler = "aer"` (the default) runs the job's PUBs
in one Aer SamplerV2 execution. Each repeat builds a fresh provider (cold transpile cache), as the
16.5 s / 40.4 s figures of bench_ibm_batching did; the two samplers alternate, medians reported,
with the time split into transpilation and the sampler's run. The marginals of both are compared
(same circuits, different seeds' shot noise).

    .venv/bin/python benchmarks/bench_ibm_local.py [--batch 256] [--repeats 3] [--update-results]

Writes ibm_local.{json,md} (runs/benchmarks/, or benchmarks/results/ with --update-results).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.simplefilter("ignore", DeprecationWarning)

import numpy as np  # noqa: E402
from _results import machine_load, results_dir  # noqa: E402

RESULTS = results_dir()  # before bench_ibm_batching's own call takes --update-results off argv
from bench_ibm_batching import LAYERS, QUBITS, SHOTS, controls  # noqa: E402

from qhil import HDQNNAnsatz  # noqa: E402
from qhil.adapters.qiskit_circuits import translate  # noqa: E402
from qhil.execution.registry import find_profile, provider_for  # noqa: E402

SAMPLERS = ("aer", "executor")


def provider(local_sampler: str):
    profile = find_profile("ibm-fake-torino")
    options = {**profile.options, "local_sampler": local_sampler}
    return provider_for(profile.model_copy(update={"options": options}))


def one_batch(local_sampler: str, request) -> dict:
    """Wall time of one batch on a fresh provider, split into transpilation and the sampler's run."""
    with provider(local_sampler) as p:
        start = time.perf_counter()
        for pub in translate(request):
            p.transpile_cache.get(pub.key, pub.circuit)
        transpiled = time.perf_counter()
        result = p.submit(request).result(timeout_s=3600)
        end = time.perf_counter()
    return {"wall_s": end - start, "transpile_s": transpiled - start, "run_s": end - transpiled,
            "marginals": result.marginals}


def measure(batch: int, repeats: int) -> dict:
    ansatz = HDQNNAnsatz(QUBITS, LAYERS, "data")
    request = ansatz.request(controls(ansatz, batch, np.random.default_rng(1)), shots=SHOTS)
    runs: dict[str, list[dict]] = {s: [] for s in SAMPLERS}
    for i in range(repeats):
        for s in (SAMPLERS if i % 2 == 0 else SAMPLERS[::-1]):
            runs[s].append(one_batch(s, request))
            print(f"repeat {i + 1} {s}: {runs[s][-1]['wall_s']:.1f} s", flush=True)
    diff = float(np.abs(runs["aer"][0]["marginals"] - runs["executor"][0]["marginals"]).max())
    medians = {s: statistics.median(r["wall_s"] for r in runs[s]) for s in SAMPLERS}
    return {"batch": batch, "pubs": len(request.structures()), "shots": SHOTS, "repeats": repeats,
            "wall_s": {s: [round(r["wall_s"], 2) for r in runs[s]] for s in SAMPLERS},
            "median_wall_s": medians,
            "median_transpile_s": {s: statistics.median(r["transpile_s"] for r in runs[s]) for s in SAMPLERS},
            "median_run_s": {s: statistics.median(r["run_s"] for r in runs[s]) for s in SAMPLERS}, "ratio_executor_over_aer": medians["executor"] / medians["aer"],
            "max_abs_marginal_diff": diff, "shot_sigma": 0.5 / SHOTS ** 0.5}


def markdown(out: dict) -> str:
    m = out["median_wall_s"]
    return "\n".join([
        "# IBM local testing mode: the two local samplers on one batch", "",
        f"Command: `python benchmarks/bench_ibm_local.py --batch {out['batch']} --repeats "
        f"{out['repeats']}`; load (1, 5, 15 min) {out['load_start']} at the start, {out['load_end']} "
        "at the end (2 CPUs, shared).", "",
        f"{out['batch']} circuits ({QUBITS} qubits x {LAYERS} layers, data entangler, {out['pubs']} "
        f"PUBs), {SHOTS} shots, `ibm-fake-torino` restricted to the layout's qubits, a fresh "
        "provider (cold transpile cache) per repeat, the samplers alternating.", "",
        "| local_sampler | median wall s | of which transpile s | of which sampler run s | runs s |",
        "|---|---:|---:|---:|---|",
        *(f"| {s} | {m[s]:.2f} | {out['median_transpile_s'][s]:.2f} | {out['median_run_s'][s]:.2f} | "
          f"{', '.join(map(str, out['wall_s'][s]))} |" for s in SAMPLERS), "",
        "Peer settings: `executor` is qiskit-ibm-runtime 0.51's client-side Sampler in local mode, which has no setting that batches PUBs (its `run_quantum_program` runs program items one by one); both paths use the same restricted noisy AerSimulator and the same ISA circuits.", "",
        f"executor / aer: **{out['ratio_executor_over_aer']:.2f}x**. Target: no slower than 16.5 s "
        f"(build 2's figure on this machine): aer's median {m['aer']:.1f} s "
        f"({'met' if m['aer'] <= 16.5 else 'MISSED'}, at the load above).", "",
        f"Largest marginal difference between the two: {out['max_abs_marginal_diff']:.3f} over "
        f"{out['batch'] * QUBITS} marginals (the difference of two independent {SHOTS}-shot draws has "
        f"sigma up to {out['shot_sigma'] * 2 ** 0.5:.3f}; the samplers draw different shots; "
        "`tests/adapters/test_qiskit_backends.py` checks their agreement at 4,000 shots).",
    ]) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    load_start = machine_load()
    out = measure(args.batch, args.repeats)
    out.update(load_start=load_start, load_end=machine_load())
    (RESULTS / "ibm_local.json").write_text(json.dumps(out, indent=2) + "\n")
    (RESULTS / "ibm_local.md").write_text(markdown(out))
    print(markdown(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
