"""Qiskit Machine Learning through qhil: a SamplerQNN + TorchConnector classifier trained on
`qhil.qiskit.Sampler` against the same on Qiskit's reference `StatevectorSampler`.

Two angles per point, label "first angle > pi/2"; RY encoding, `real_amplitudes(2, reps=1)`
weights, P(qubit 0 reads 1) as the class; Adam 0.25, full batch of 40, 8 epochs, 1,024 shots,
tested on 100 points. Every row shares data, initial weights and seeds; only the sampler
differs. qhil's rows add the jobs, circuits and shots their ledger recorded.

    .venv/bin/python benchmarks/bench_qiskit_ml.py [--providers local,aer,braket-local]

Writes benchmarks/results/bench_qiskit_ml.{json,md} (with --update-results).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import machine_load, results_dir  # noqa: E402

RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)


def dataset(seed: int, n: int):
    """(x (n, 2) angles, y (n,) labels): whether the first angle exceeds pi/2."""
    import numpy as np
    import torch

    x = np.random.default_rng(seed).uniform(0, np.pi, (n, 2))
    return torch.tensor(x, dtype=torch.float32), torch.tensor((x[:, 0] > np.pi / 2).astype(int))


def classifier(sampler):
    """RY(x0), RY(x1), then real_amplitudes(2, reps=1); the class is qubit 0's reading."""
    import numpy as np
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector
    from qiskit.circuit.library import real_amplitudes
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.neural_networks import SamplerQNN

    x, weights = ParameterVector("x", 2), real_amplitudes(2, reps=1)
    circuit = QuantumCircuit(2)
    circuit.ry(x[0], 0)
    circuit.ry(x[1], 1)
    circuit.compose(weights, inplace=True)
    qnn = SamplerQNN(circuit=circuit, input_params=list(x), weight_params=list(weights.parameters),
                     interpret=lambda bits: bits & 1, output_shape=2, sampler=sampler)
    return TorchConnector(qnn, initial_weights=np.array([0.9, 0.1, 0.1, 0.1]))


def train(sampler, epochs: int = 8) -> tuple[float, list[float]]:
    """(test accuracy, training losses) of the classifier trained on `sampler`."""
    import torch

    (x, y), (x_test, y_test) = dataset(0, 40), dataset(1, 100)
    net = classifier(sampler)
    optimiser = torch.optim.Adam(net.parameters(), lr=0.25)
    losses = []
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = torch.nn.functional.nll_loss(torch.log(net(x) + 1e-9), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    with torch.no_grad():
        predicted = net(x_test).argmax(dim=1)
    return float((predicted == y_test).float().mean()), losses


def row(name: str, make_sampler) -> dict:
    started = time.perf_counter()
    sampler = make_sampler()
    accuracy, losses = train(sampler)
    out = {"sampler": name, "test_accuracy": accuracy, "first_loss": losses[0],
           "last_loss": losses[-1], "wall_s": time.perf_counter() - started}
    ledger = getattr(getattr(sampler, "dispatcher", None), "ledger", None)
    if ledger is not None:
        entries = ledger.entries()
        out.update(jobs=len(entries), circuits=sum(e.circuits for e in entries),
                   shots=sum(e.shots for e in entries))
    return out


def main() -> None:
    from qiskit.primitives import StatevectorSampler

    from qhil.qiskit import Sampler

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--providers", default="local,aer,braket-local")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    rows = [row("qiskit StatevectorSampler", lambda: StatevectorSampler(seed=1, default_shots=1024))]
    rows += [row(f"qhil.qiskit.Sampler({name!r})",
                 lambda name=name: Sampler(name, seed=1, default_shots=1024))
             for name in args.providers.split(",")]
    write(rows)


def write(rows: list[dict]) -> None:
    load = machine_load()
    lines = ["# Qiskit ML classifier: qhil.qiskit.Sampler against Qiskit's StatevectorSampler", "",
             f"Command: `python benchmarks/bench_qiskit_ml.py`; machine load {load}", "",
             "| sampler | test accuracy | loss first -> last | jobs | circuits | wall s |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['sampler']} | {r['test_accuracy']:.2f} | {r['first_loss']:.3f} -> "
              f"{r['last_loss']:.3f} | {r.get('jobs', '-')} | {r.get('circuits', '-')} | "
              f"{r['wall_s']:.1f} |" for r in rows]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_qiskit_ml.json").write_text(json.dumps({"load": load, "rows": rows}, indent=2))
    (RESULTS / "bench_qiskit_ml.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
