"""Cost of building hDQNN SamplingRequests and translating them for the cloud adapters.

Measures, for 10 qubits x 10 layers (the paper's size):
  - construction: `SamplingRequest.from_hdqnn(angles, cz, shots)` at B = 256, 4096, 65536 rows,
    data-dependent entangler (every row its own CZ structure) and ring (one structure);
    the digest of the same request (what the ledger keys on);
  - translation of a B = 256 data-entangler request: Qiskit PUBs (`qiskit_circuits.translate`)
    and Braket OpenQASM programs (`braket_circuits.bindings` + `Binding.to_program`);
  - one `local` provider sample of that request and of a 4,096-row one (1,000 shots), end to end
    (request construction included).
Best of `--repeats` runs for construction and digest (they are milliseconds), one run for the
rest. The script also runs on trees from before `from_hdqnn` (it then times the hDQNN
constructor `SamplingRequest(angles, cz, shots)`), which is how the before/after table was made.

    .venv/bin/python benchmarks/bench_request.py [--repeats 5] [--label after]

Writes benchmarks/results/bench_request_<label>.json (and prints it); once both a "before" and an
"after" file are there, bench_request.md tables them side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from _results import machine_load, results_dir  # noqa: E402

from qhil import HDQNNAnsatz  # noqa: E402
from qhil.quantum.request import SamplingRequest  # noqa: E402

RESULTS = results_dir()
QUBITS, LAYERS = 10, 10


def controls(ansatz: HDQNNAnsatz, batch: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blocks = rng.uniform(0, 2 * np.pi, (batch, ansatz.n_layers, ansatz.per_layer))
    if ansatz.entangler == "data":
        blocks[:, :, 2 * ansatz.n_qubits:] = rng.integers(0, ansatz.n_qubits, (batch, ansatz.n_layers, 2))
    return blocks.reshape(batch, -1)


def build(angles: np.ndarray, cz: np.ndarray, shots: int) -> SamplingRequest:
    if hasattr(SamplingRequest, "from_hdqnn"):
        return SamplingRequest.from_hdqnn(angles, cz, shots)
    return SamplingRequest(angles, cz, shots)


def best_s(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def construction(repeats: int) -> list[dict]:
    rows = []
    for entangler in ("data", "ring"):
        ansatz = HDQNNAnsatz(QUBITS, LAYERS, entangler)
        for batch in (256, 4096, 65536):
            rows.append(construction_row(ansatz, batch, repeats))
    return rows


def construction_row(ansatz: HDQNNAnsatz, batch: int, repeats: int) -> dict:
    angles, cz = ansatz.split(controls(ansatz, batch))
    request = build(angles, cz, 100)
    return {"entangler": ansatz.entangler, "batch": batch, "structures": len(request.structures()),
            "construct_ms": 1e3 * best_s(lambda: build(angles, cz, 100), repeats),
            "digest_ms": 1e3 * best_s(lambda: build(angles, cz, 100).digest(), repeats)}


def translation() -> dict:
    from qhil.adapters.braket_circuits import bindings
    from qhil.adapters.qiskit_circuits import translate

    ansatz = HDQNNAnsatz(QUBITS, LAYERS, "data")
    request = ansatz.request(controls(ansatz, 256), shots=1000, seed=1)
    start = time.perf_counter()
    pubs = translate(request)
    qiskit_s = time.perf_counter() - start
    start = time.perf_counter()
    programs = [b.to_program() for b in bindings(request)]
    braket_s = time.perf_counter() - start
    big = ansatz.request(controls(ansatz, 4096), shots=1000, seed=1)
    return {"batch": 256, "qiskit_pubs": len(pubs), "qiskit_translate_s": qiskit_s,
            "braket_programs": len(programs), "braket_translate_s": braket_s,
            "local_sample_s": local_sample_s(request), "local_sample_4096_s": local_sample_s(big)}


def local_sample_s(request: SamplingRequest) -> float:
    from qhil.execution.registry import get_provider

    provider = get_provider("local")
    provider.submit(request).result()  # warm the simulator cache
    start = time.perf_counter()
    provider.submit(build(*hdqnn_arrays(request), 1000)).result()
    return time.perf_counter() - start


def hdqnn_arrays(request: SamplingRequest) -> tuple[np.ndarray, np.ndarray]:
    arrays = getattr(request, "hdqnn_arrays", None)
    return arrays if arrays is not None else (request.angles, request.cz)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--label", default="after")
    args = parser.parse_args()
    out = {"label": args.label, "load_before": machine_load(),
           "construction": construction(args.repeats), "translation": translation(),
           "load_after": machine_load()}
    (RESULTS / f"bench_request_{args.label}.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    runs = [RESULTS / f"bench_request_{label}.json" for label in ("before", "after")]
    if all(path.exists() for path in runs):
        text = markdown(*(json.loads(path.read_text()) for path in runs))
        (RESULTS / "bench_request.md").write_text(text)


def markdown(before: dict, after: dict) -> str:
    lines = ["# hDQNN SamplingRequest: construction and translation, before and after one kind", "",
             f"10 qubits x 10 layers. Load (1/5/15 min) before: {before['load_before']}, after: "
             f"{after['load_before']}. Construction and digest: best of the repeats; the rest one run, "
             "the translations cold (the first call in the process, imports and caches included).",
             "", "| entangler | B | structures | construct ms before | after | digest ms before | after |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for old, new in zip(before["construction"], after["construction"], strict=True):
        lines.append(f"| {old['entangler']} | {old['batch']} | {new['structures']} | "
                     f"{old['construct_ms']:.2f} | {new['construct_ms']:.2f} | "
                     f"{old['digest_ms']:.2f} | {new['digest_ms']:.2f} |")
    lines += ["", "| B = 256 (4096 where named), data entangler | before | after |",
              "| --- | ---: | ---: |"]
    for key in ("qiskit_translate_s", "braket_translate_s", "local_sample_s", "local_sample_4096_s"):
        lines.append(f"| {key} | {before['translation'][key]:.3f} | {after['translation'][key]:.3f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
