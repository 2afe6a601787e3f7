"""Braket tasks per batch of hDQNN circuits: qhil's program sets against one task per circuit.

Part 1 (the cloud path, counted at the SDK boundary): a batch of 256 circuits (10 qubits x 10
layers, data-dependent and fixed entangler) is submitted through `BraketProvider` to an IQM
Garnet-shaped device whose properties (program-set limits) are served by botocore's Stubber. The
CreateQuantumTask calls the adapter makes are counted: qhil packs program sets chunked by the
device's maximumExecutables / maximumTotalShots; the peer is one task per circuit (what run_batch
and PennyLane's Qiskit plugin do), measured through the same adapter on the same device without
the program-set action. Fees from calibration/braket-iqm-garnet.toml ($0.30 per task).

Part 2 (LocalSimulator wall time, the evidence for `local_mode`): the same kind of batch run on
Braket's LocalSimulator as bound circuits one by one (qhil's default locally), as ProgramSets, and
with LocalSimulator.run_batch. Medians of a few repeats.

    .venv/bin/python benchmarks/bench_braket_batching.py [--local-batch 32] [--repeats 3]

Writes benchmarks/results/braket_batching.json and .md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from _results import results_dir  # noqa: E402  (benchmarks/ is on sys.path)
from braket.devices import LocalSimulator  # noqa: E402

from qhil import HDQNNAnsatz  # noqa: E402
from qhil.adapters.braket import BraketProvider, device_limits  # noqa: E402
from qhil.adapters.braket_circuits import bindings, chunk_bindings, program_set  # noqa: E402
from qhil.calibration import load_calibration  # noqa: E402
from qhil.config import ProviderProfile  # noqa: E402
from tests.adapters.braket_fakes import BUCKET, GARNET_ARN, FakeBraket  # noqa: E402

BATCH, QUBITS, LAYERS = 256, 10, 10
SHOTS = (100, 1000, 5000)
RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)


def controls(ansatz: HDQNNAnsatz, batch: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blocks = rng.uniform(0, 2 * np.pi, (batch, ansatz.n_layers, ansatz.per_layer))
    if ansatz.entangler == "data":
        blocks[:, :, 2 * ansatz.n_qubits:] = rng.integers(0, ansatz.n_qubits, (batch, ansatz.n_layers, 2))
    return blocks.reshape(batch, -1)


def count_tasks(entangler: str, shots: int, program_sets: bool) -> dict:
    """Submit one batch through BraketProvider against the stubbed device; count the tasks."""
    fake = FakeBraket()
    fake.device(program_sets=program_sets)
    for i in range(BATCH):
        fake.create(i)
    profile = ProviderProfile(name="garnet-bench", kind="braket", device=GARNET_ARN,
                              limits={"max_qubits": 20, "max_shots": 20000},
                              options={"s3_bucket": BUCKET, "s3_prefix": "qhil"})
    ansatz = HDQNNAnsatz(QUBITS, LAYERS, entangler)
    request = ansatz.request(controls(ansatz, BATCH), shots=shots)
    with BraketProvider(profile, aws_session=fake.session) as provider:
        started = time.perf_counter()
        job = provider.submit(request)
        submit_s = time.perf_counter() - started
        limits = device_limits(provider.aws_device().properties)
    action_bytes = [len(s["action"]) for s in fake.sent]
    return {"tasks": len(job.tasks), "circuit_structures": len(request.structures()),
            "max_executables": limits.max_executables, "max_total_shots": limits.max_total_shots,
            "largest_action_bytes": max(action_bytes), "submit_s": submit_s}


def cloud_rows() -> list[dict]:
    pricing = load_calibration("calibration/braket-iqm-garnet.toml").pricing
    rows = []
    for entangler in ("data", "ring"):
        peer = count_tasks(entangler, SHOTS[0], program_sets=False)  # 1 task per circuit, any shots
        for shots in SHOTS:
            qhil = count_tasks(entangler, shots, program_sets=True)
            saved = (peer["tasks"] - qhil["tasks"]) * pricing.per_task_usd
            shot_fee = BATCH * shots * pricing.per_shot_usd
            rows.append({"entangler": entangler, "shots": shots, "batch": BATCH,
                         "qhil_tasks": qhil["tasks"], "peer_tasks": peer["tasks"],
                         "task_ratio": peer["tasks"] / qhil["tasks"],
                         "circuit_structures": qhil["circuit_structures"],
                         "max_executables": qhil["max_executables"],
                         "max_total_shots": qhil["max_total_shots"],
                         "largest_action_bytes": qhil["largest_action_bytes"],
                         "qhil_submit_s": qhil["submit_s"], "peer_submit_s": peer["submit_s"],
                         "task_fee_saved_usd": str(saved),
                         "qhil_total_usd": str(qhil["tasks"] * pricing.per_task_usd + shot_fee),
                         "peer_total_usd": str(peer["tasks"] * pricing.per_task_usd + shot_fee)})
    return rows


def local_timings(batch: int, shots: int, repeats: int) -> dict:
    """Median wall seconds for one batch on LocalSimulator, three ways."""
    ansatz = HDQNNAnsatz(QUBITS, LAYERS, "data")
    request = ansatz.request(controls(ansatz, batch, seed=1), shots=shots)
    device = LocalSimulator("default")
    parts = bindings(request)
    circuits = [p.program(i) for p in parts for i in range(len(p.rows))]  # as BraketProvider runs them
    limit = device_limits(device.properties).max_executables
    ways = {
        "circuits_one_by_one": lambda: [device.run(c, shots=shots).result() for c in circuits],
        "program_set": lambda: [device.run(program_set(chunk, shots)).result()
                                for chunk in chunk_bindings(parts, limit)],
        "run_batch": lambda: device.run_batch(circuits, shots=shots).results(),
    }
    ways["circuits_one_by_one"]()  # warm-up (imports, first compile)
    return {name: statistics.median(_timed(fn) for _ in range(repeats)) for name, fn in ways.items()}


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def markdown(report: dict) -> str:
    lines = [f"# Braket tasks per batch of {BATCH} hDQNN circuits ({QUBITS} qubits x {LAYERS} layers)",
             "", f"Command: `{report['command']}`  ", f"Date: {report['date']}", "",
             "| entangler | shots | structures | qhil tasks | one task per circuit | ratio | "
             "task fee saved (USD) | qhil total (USD) | per-circuit total (USD) | largest action (bytes) "
             "| qhil submit s | per-circuit submit s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["cloud"]:
        lines.append(f"| {r['entangler']} | {r['shots']} | {r['circuit_structures']} | {r['qhil_tasks']} | "
                     f"{r['peer_tasks']} | {r['task_ratio']:.0f}x | {r['task_fee_saved_usd']} | "
                     f"{r['qhil_total_usd']} | {r['peer_total_usd']} | {r['largest_action_bytes']} | "
                     f"{r['qhil_submit_s']:.1f} | {r['peer_submit_s']:.1f} |")
    local = report["local"]
    lines += ["", f"Device limits (stubbed IQM Garnet-shaped properties): maximumExecutables "
              f"{report['cloud'][0]['max_executables']}, maximumTotalShots {report['cloud'][0]['max_total_shots']}.",
              "", f"LocalSimulator, {local['batch']} circuits x {local['shots']} shots, median of "
              f"{local['repeats']} (s):", "", "| way | median s | vs one by one |", "|---|---|---|"]
    base = local["median_s"]["circuits_one_by_one"]
    for name, value in local["median_s"].items():
        lines.append(f"| {name} | {value:.2f} | {value / base:.2f}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local-batch", type=int, default=32)
    parser.add_argument("--local-shots", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    report = {"command": "python benchmarks/bench_braket_batching.py " + " ".join(sys.argv[1:]),
              "date": time.strftime("%Y-%m-%d"), "cloud": cloud_rows(),
              "local": {"batch": args.local_batch, "shots": args.local_shots, "repeats": args.repeats,
                        "median_s": local_timings(args.local_batch, args.local_shots, args.repeats)}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "braket_batching.json").write_text(json.dumps(report, indent=2, default=str))
    text = markdown(report)
    (RESULTS / "braket_batching.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
