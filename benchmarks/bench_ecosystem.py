"""qhil under the tools researchers use. PennyLane part (the Qiskit primitives part is separate):

1. `--suite`: PennyLane's own device test suite (`pennylane.devices.tests`, as
   `pl-device-test --device qhil --shots 20000 --skip-ops`, then with `--shots None`, analytic
   mode) on `qml.device("qhil")` with the `local` provider: pass / fail / skip counts, the pass rate of the tests that apply (passed over
   passed + failed + errors), and every skip and expected failure with its reason
   -> pennylane_device_suite.md / .json.
2. A parameter-shift gradient of a QNode with P parameters on `braket-local` (Braket's
   LocalSimulator through qhil): jobs and circuits in the device's ledger per gradient, wall
   time; PennyLane's own Braket plugin on the same simulator beside it where it is installed
   (`braket.local.qubit`, one task per circuit) -> pennylane_gradient.md / .json.
3. `--classifier`: a `qml.qnn.TorchLayer` classifier trained with `diff_method="qtdnn"` (qhil's
   surrogate) and with `diff_method="parameter-shift"` on the same qhil device (`local`):
   accuracy, jobs, circuits and wall time side by side -> pennylane_surrogate.md / .json.

    .venv/bin/python benchmarks/bench_ecosystem.py [--suite] [--layers 2] [--shots 1000]
    .venv/bin/python benchmarks/bench_ecosystem.py --classifier [--epochs 10] [--seed 0]

(the suite needs pytest-mock and flaky; the peer needs amazon-braket-pennylane-plugin)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _results import machine_load, results_dir  # noqa: E402  (benchmarks/ is on sys.path)

OUT = results_dir()
SUITE_SHOTS = 20_000


def suite_record() -> dict:
    """The whole device suite on `local`, with shots and in analytic mode (shots=None)."""
    return {**_suite_run(SUITE_SHOTS), "analytic": _suite_run(None)}


def _suite_run(shots: int | None) -> dict:
    from qhil.pennylane.suite import run_suite

    start = time.perf_counter()
    outcome = run_suite([], shots=shots, extra=["--timeout", "300"])
    applicable = outcome.passed + outcome.failed + outcome.error
    return {"shots": shots, "provider": "local", "counts": outcome.counts,
            "applicable": applicable, "pass_rate": outcome.passed / max(applicable, 1),
            "reasons": outcome.reasons(), "wall_s": round(time.perf_counter() - start, 1),
            "failures": outcome.failures(), "machine_load": machine_load()}


def suite_markdown(record: dict) -> str:
    lines = ["# PennyLane's device test suite on the qhil device", "",
             "`pl-device-test --device qhil --shots N --skip-ops` (`pennylane.devices.tests`), "
             "provider `local`, with shots and in analytic mode (`--shots None`: exact "
             "probabilities from `local`); written by `benchmarks/bench_ecosystem.py --suite`.",
             "",
             "A test applies unless the suite itself skips it (analytic-only, shots-only, "
             "backprop-only, old device interface, qutrit) or `--skip-ops` turns it into an "
             "expected failure (an operation or observable the device does not offer: "
             "continuous-variable ones).", ""]
    for run in (record, record["analytic"]):
        lines += _suite_section(run)
    return "\n".join(lines)


def _suite_section(run: dict) -> list[str]:
    counts = ", ".join(f"{n} {k}" for k, n in run["counts"].items())
    mode = "analytic (shots=None)" if run["shots"] is None else f"{run['shots']} shots"
    note = ([] if run["shots"] is not None else [
        "", "The failures ask for `qml.state()` (or a custom state measurement): qhil's "
        "providers give probabilities, not amplitudes, so the device offers no state."])
    return [f"## {mode}", "",
            f"- outcome: {counts} ({run['wall_s']} s, load {run['machine_load']})",
            f"- pass rate of the tests that apply: {run['pass_rate']:.1%} "
            f"({run['counts'].get('passed', 0)} of {run['applicable']})", "",
            "### Failures, with their errors", "",
            *([f"- {f}" for f in run["failures"]] or ["none"]), *note, "",
            "### Every skip, expected failure and unexpected pass, with its reason", "",
            *[f"- {line}" for line in run["reasons"]], ""]


def gradient_record(layers: int, shots: int) -> dict:
    """Jobs, circuits and wall time of one parameter-shift gradient on braket-local."""
    import pennylane as qml
    from pennylane import numpy as pnp

    from qhil.pennylane import QhilDevice

    wires = 4
    shape = qml.StronglyEntanglingLayers.shape(n_layers=layers, n_wires=wires)
    weights = pnp.array(pnp.random.default_rng(0).uniform(0, 6.28, shape), requires_grad=True)

    def energy(w):
        qml.StronglyEntanglingLayers(w, wires=range(wires))
        return qml.expval(qml.Z(0) @ qml.Z(1) + 0.5 * qml.X(2))

    qml.device("default.qubit")  # PennyLane's first device build, outside both timings
    rows = [_gradient_row("qhil (braket-local)",
                          QhilDevice(wires=wires, shots=shots, provider="braket-local", seed=0),
                          energy, weights)]
    for parallel in (False, True):  # the plugin's default, then its batched run_batch path
        try:
            peer = qml.device("braket.local.qubit", wires=wires, shots=shots, parallel=parallel)
        except Exception as exc:  # the plugin is not installed here
            rows.append({"device": "braket.local.qubit", "skipped": str(exc).splitlines()[0]})
            break
        rows.append(_gradient_row(f"PennyLane-Braket plugin {_plugin_version()} "
                                  f"(braket.local.qubit, parallel={parallel})", peer, energy,
                                  weights))
    return {"parameters": int(weights.size), "wires": wires, "shots": shots, "rows": rows,
            "machine_load": machine_load()}


def _plugin_version() -> str:
    from importlib.metadata import version

    return version("amazon-braket-pennylane-plugin")


def _gradient_row(name: str, dev, energy, weights) -> dict:
    import pennylane as qml

    node = qml.QNode(energy, dev, diff_method="parameter-shift")
    node(weights)  # warm up: imports, first compilation
    try:
        with qml.Tracker(dev) as tracker:
            wall = _timed_gradient(node, weights)
    except AttributeError as exc:  # plugin 1.36.1, parallel=True: its tracker update fails
        return {"device": name, "wall_s": round(_timed_gradient(node, weights), 3),
                "jobs": None, "circuits": None, "note": f"untracked: {exc}"}
    history = tracker.history
    jobs = history.get("jobs") or history.get("braket_task_id")  # the plugin: a task a circuit
    return {"device": name, "wall_s": round(wall, 3), "device_calls": len(history["batches"]),
            "jobs": len(jobs) if "jobs" not in history else sum(jobs),
            "circuits": sum(history.get("circuits") or history["executions"])}


def _timed_gradient(node, weights) -> float:
    import pennylane as qml

    start = time.perf_counter()
    qml.grad(node)(weights)
    return time.perf_counter() - start


def gradient_markdown(record: dict) -> str:
    lines = ["# One parameter-shift gradient through the qhil device", "",
             f"A QNode of {record['parameters']} parameters (StronglyEntanglingLayers, "
             f"{record['wires']} wires, expval of Z0 Z1 + 0.5 X2), {record['shots']} shots, "
             f"`qml.grad` with `diff_method=\"parameter-shift\"` (forward pass + gradient); "
             f"load {record['machine_load']}.", "",
             "Jobs: qhil jobs as its tracker and ledger count them; for the plugin, Braket tasks "
             "(one per circuit).", "",
             "| device | jobs (forward + gradient) | circuits | wall s |", "| --- | --- | --- | --- |"]
    for row in record["rows"]:
        if "skipped" in row:
            lines.append(f"| {row['device']} | not run: {row['skipped']} | | |")
        else:
            note = f" ({row['note']})" if "note" in row else ""
            lines.append(f"| {row['device']} | {row['jobs'] or 'one task a circuit'}{note} | "
                         f"{row['circuits'] or ''} | {row['wall_s']} |")
    return "\n".join(lines) + "\n"


# --- 3. a TorchLayer classifier: diff_method="qtdnn" against "parameter-shift" ---------------

CLASSIFIER = {"qubits": 3, "train": 160, "test": 160, "batch": 16, "lr": 0.05, "shots": 1000,
              "refit_steps": 50, "refit_lr": 0.01}
"""Two moons (scikit-learn, noise 0.15): Linear(2, n) -> pi tanh -> TorchLayer (RY angles, CNOT
ring, RY weights, <Z> of every qubit) -> Linear(n, 2), Adam, cross-entropy; the surrogate's
refit (QtDNNGradient) at 50 steps of lr 0.01 (the QuantumLayer defaults, 20 and 0.003, reach
0.84 after 10 epochs)."""


def classifier_record(epochs: int, seed: int) -> dict:
    """The same classifier, seed and data trained twice on `local`: the device's surrogate as the
    QNode's gradient, then PennyLane's parameter-shift on the qhil device."""
    rows = [_train_classifier(method, epochs, seed) for method in ("qtdnn", "parameter-shift")]
    return {**CLASSIFIER, "epochs": epochs, "seed": seed, "provider": "local", "rows": rows,
            "machine_load": machine_load()}


def _moons(count: int, seed: int):
    import torch
    from sklearn.datasets import make_moons

    x, y = make_moons(count, noise=0.15, random_state=seed)
    return torch.tensor(x - x.mean(0), dtype=torch.float32), torch.tensor(y)


def _classifier(dev, method: str):
    import math

    import pennylane as qml
    import torch

    n = CLASSIFIER["qubits"]

    @qml.qnode(dev, diff_method=method)
    def circuit(inputs, weights):
        qml.AngleEmbedding(inputs, wires=range(n), rotation="Y")
        for q in range(n):
            qml.CNOT([q, (q + 1) % n])
        for q in range(n):
            qml.RY(weights[q], q)
        return [qml.expval(qml.Z(q)) for q in range(n)]

    class Angles(torch.nn.Module):
        def forward(self, z):
            return math.pi * torch.tanh(z)

    # parameter-shift cannot differentiate broadcast parameters (PennyLane #4462): one tape a
    # row, all of them still one job on the device
    quantum = qml.qnn.TorchLayer(qml.transforms.broadcast_expand(circuit), {"weights": n})
    return torch.nn.Sequential(torch.nn.Linear(2, n), Angles(), quantum, torch.nn.Linear(n, 2))


def _train_classifier(method: str, epochs: int, seed: int) -> dict:
    import pennylane as qml
    import torch

    from qhil.pennylane import QhilDevice
    from qhil.pennylane.surrogate import QtDNNGradient

    x, y = _moons(CLASSIFIER["train"], seed)
    x_test, y_test = _moons(CLASSIFIER["test"], seed + 1)
    torch.manual_seed(seed)
    dev = QhilDevice(wires=CLASSIFIER["qubits"], shots=CLASSIFIER["shots"], seed=seed,
                     qtdnn=QtDNNGradient(CLASSIFIER["refit_steps"],
                                         CLASSIFIER["refit_lr"], seed=seed))
    model = _classifier(dev, method)
    optimizer = torch.optim.Adam(model.parameters(), lr=CLASSIFIER["lr"])
    start = time.perf_counter()
    with qml.Tracker(dev) as tracker:
        loss = _epochs(model, optimizer, x, y, epochs, torch.Generator().manual_seed(seed))
    wall = time.perf_counter() - start
    with torch.no_grad():
        accuracy = float((model(x_test).argmax(1) == y_test).float().mean())
    totals = dev.dispatcher.ledger.totals()
    cosine = _probe_fidelity(dev, model, x) if method == "qtdnn" else None
    dev.close()
    return {"diff_method": method, "test_accuracy": round(accuracy, 4),
            "final_train_loss": round(loss.item(), 4), "jobs": totals.jobs,
            "circuits": totals.circuits, "tracker_circuits": sum(tracker.history["circuits"]),
            "wall_s": round(wall, 1),
            "jacobian_cosine_after_training": cosine}


def _epochs(model, optimizer, x, y, epochs: int, order) -> object:
    """Adam on shuffled batches; the last batch's loss."""
    import torch

    for _ in range(epochs):
        for batch in torch.randperm(len(x), generator=order).split(CLASSIFIER["batch"]):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
    return loss


def _probe_fidelity(dev, model, x, batches: int = 3) -> float:
    """The surrogate's Jacobians against the exact ones on a few training batches after the
    timed run (no step taken): mean cosine per circuit (qhil.layers.fidelity)."""
    dev.qtdnn.track_fidelity = True
    cosines = []
    for batch in x.split(CLASSIFIER["batch"])[:batches]:
        model(batch).sum().backward()
        cosines.append(dev.qtdnn.last_fidelity.jacobian_cosine)
    return round(sum(cosines) / len(cosines), 3)


def classifier_markdown(record: dict) -> str:
    command = f"benchmarks/bench_ecosystem.py --classifier --epochs {record['epochs']}"
    lines = ["# A TorchLayer classifier: qhil's surrogate against parameter-shift as the QNode's "
             "gradient", "",
             f"`{command}`; load {record['machine_load']} (2 cores shared with other jobs: "
             f"compare the two rows, measured in one run).", "",
             f"Two moons ({record['train']} training and {record['test']} test points), "
             f"Linear(2, {record['qubits']}) -> pi tanh -> `qml.qnn.TorchLayer` ("
             f"{record['qubits']} qubits: RY angle embedding, CNOT ring, RY weights, <Z> of "
             f"each) -> Linear({record['qubits']}, 2); Adam lr {record['lr']}, batch "
             f"{record['batch']}, {record['epochs']} epochs, seed {record['seed']}, "
             f"`qml.device(\"qhil\", provider=\"{record['provider']}\", shots="
             f"{record['shots']})`. qtdnn: `diff_method=\"qtdnn\"`, refit {record['refit_steps']} "
             f"steps at lr {record['refit_lr']}; parameter-shift: `diff_method="
             f"\"parameter-shift\"` on the same device (one job per forward, one per gradient). "
             "Both QNodes are wrapped in `qml.transforms.broadcast_expand` (parameter-shift "
             "cannot differentiate broadcast inputs); the device sends each batch's tapes as one "
             "job either way.", "",
             "| diff_method | test accuracy | final train loss | jobs | circuits | wall s | "
             "Jacobian cosine after training |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in record["rows"]:
        cosine = row["jacobian_cosine_after_training"]
        lines.append(f"| {row['diff_method']} | {row['test_accuracy']:.3f} | "
                     f"{row['final_train_loss']} | {row['jobs']} | {row['circuits']} | "
                     f"{row['wall_s']} | {'' if cosine is None else cosine} |")
    lines += ["", "Jobs and circuits: the device's ledger (training and the test evaluation). "
              "Wall: the training loop only. The Jacobian cosine: the surrogate's Jacobians "
              "against the exact ones (`QtDNNGradient(track_fidelity=True)`, default.qubit) on "
              "three training batches after the timed run.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="store_true", help="Also run the whole device suite.")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--classifier", action="store_true",
                        help="Only the TorchLayer classifier, qtdnn against parameter-shift.")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.classifier:
        _write("pennylane_surrogate", classifier_record(args.epochs, args.seed),
               classifier_markdown)
        return
    _write("pennylane_gradient", gradient_record(args.layers, args.shots), gradient_markdown)
    if args.suite:
        _write("pennylane_device_suite", suite_record(), suite_markdown)


def _write(name: str, record: dict, markdown) -> None:
    (OUT / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    (OUT / f"{name}.md").write_text(markdown(record))
    print(f"wrote {OUT / name}.json and .md")


if __name__ == "__main__":
    main()
