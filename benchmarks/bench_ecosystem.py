"""qhil under the tools researchers use. PennyLane part (the Qiskit primitives part is separate):

1. `--suite`: PennyLane's own device test suite (`pennylane.devices.tests`, as
   `pl-device-test --device qhil --shots 20000 --skip-ops`) on `qml.device("qhil")` with the
   `local` provider: pass / fail / skip counts, the pass rate of the tests that apply (passed over
   passed + failed + errors), and every skip and expected failure with its reason
   -> pennylane_device_suite.md / .json.
2. A parameter-shift gradient of a QNode with P parameters on `braket-local` (Braket's
   LocalSimulator through qhil): jobs and circuits in the device's ledger per gradient, wall
   time; PennyLane's own Braket plugin on the same simulator beside it where it is installed
   (`braket.local.qubit`, one task per circuit) -> pennylane_gradient.md / .json.

    .venv/bin/python benchmarks/bench_ecosystem.py [--suite] [--layers 2] [--shots 1000]

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
    """The whole device suite on `local`; the record written beside the Markdown."""
    from qhil.pennylane.suite import run_suite

    start = time.perf_counter()
    outcome = run_suite([], shots=SUITE_SHOTS, extra=["--timeout", "300"])
    applicable = outcome.passed + outcome.failed + outcome.error
    return {"shots": SUITE_SHOTS, "provider": "local", "counts": outcome.counts,
            "applicable": applicable, "pass_rate": outcome.passed / max(applicable, 1),
            "reasons": outcome.reasons(), "wall_s": round(time.perf_counter() - start, 1),
            "failures": [line for line in outcome.output.splitlines()
                         if line.startswith(("FAILED", "ERROR"))],
            "machine_load": machine_load()}


def suite_markdown(record: dict) -> str:
    counts = ", ".join(f"{n} {k}" for k, n in record["counts"].items())
    lines = [
        "# PennyLane's device test suite on the qhil device", "",
        f"`pl-device-test --device qhil --shots {record['shots']} --skip-ops` "
        f"(`pennylane.devices.tests`), provider `{record['provider']}`; written by "
        "`benchmarks/bench_ecosystem.py --suite`.", "",
        f"- outcome: {counts} ({record['wall_s']} s, load {record['machine_load']})",
        f"- pass rate of the tests that apply: {record['pass_rate']:.1%} "
        f"({record['counts'].get('passed', 0)} of {record['applicable']})", "",
        "A test applies unless the suite itself skips it (analytic-only, backprop-only, old "
        "device interface, qutrit) or `--skip-ops` turns it into an expected failure "
        "(an operation or observable the device does not offer: continuous-variable ones).", "",
        "## Failures", "", *([f"- {f}" for f in record["failures"]] or ["none"]), "",
        "## Every skip, expected failure and unexpected pass, with its reason", "",
        *[f"- {line}" for line in record["reasons"]], ""]
    return "\n".join(lines)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="store_true", help="Also run the whole device suite.")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--shots", type=int, default=1000)
    args = parser.parse_args()
    _write("pennylane_gradient", gradient_record(args.layers, args.shots), gradient_markdown)
    if args.suite:
        _write("pennylane_device_suite", suite_record(), suite_markdown)


def _write(name: str, record: dict, markdown) -> None:
    (OUT / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    (OUT / f"{name}.md").write_text(markdown(record))
    print(f"wrote {OUT / name}.json and .md")


if __name__ == "__main__":
    main()
