"""Circuit templates (issue 16): correctness on 200 random templates, and the hDQNN path's speed.

    .venv/bin/python benchmarks/bench_templates.py            # all (--update-results: results/)
    .venv/bin/python benchmarks/bench_templates.py --quick    # smoke: 20 templates, 3 repeats

1. exact: the embedded template simulator (complex128) against Qiskit's Statevector on 200
   seeded random templates (2-8 qubits, 5-60 gates over the whole gate set): max |difference|.
2. sampled: the same templates (2 parameter rows each, 2000 shots) on local, aer, braket-local
   and ibm-fake-torino; z = |sampled - exact| / sigma (shot noise, tests/reference.py). The
   noisy ibm-fake-torino (its fake backend's noise model) gets the conformance suite's noise
   tolerance, 0.2, on top: its figure is how often the noise-free 4-sigma bound holds.
3. round trips: Qiskit -> template -> Qiskit the same unitary (Operator.equiv); OpenQASM 3 ->
   template -> OpenQASM 3 the same text and the same template.
4. speed: the hDQNN path through templates (`HDQNNAnsatz.template_request`) against today's
   (`HDQNNAnsatz.request`) on the `local` provider at n=10, B=256 (request built + sampled,
   marginals only), interleaved repeats in one process; medians and ratio (target <= 1.10).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import results_dir  # noqa: E402  (benchmarks/ is on sys.path)
from qiskit.quantum_info import Operator, Statevector  # noqa: E402

from qhil import HDQNNAnsatz, get_provider  # noqa: E402
from qhil.execution.request import SamplingRequest  # noqa: E402
from qhil.quantum.template import CircuitTemplate  # noqa: E402
from qhil.quantum.template_io import qiskit_values  # noqa: E402
from qhil.quantum.template_random import random_params, random_template  # noqa: E402
from qhil.quantum.simulator import Simulator  # noqa: E402
from tests.reference import shot_noise_sigma  # noqa: E402

SAMPLED = {"local": 0.0, "aer": 0.0, "braket-local": 0.0, "ibm-fake-torino": 0.2}
N_PARAMS, SHOTS, ROWS = 30, 2000, 2


def templates(count: int, seed: int = 16) -> list[tuple[CircuitTemplate, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        t = random_template(rng, int(rng.integers(2, 9)), int(rng.integers(5, 61)), N_PARAMS)
        out.append((t, random_params(rng, t, ROWS)))
    return out


def qiskit_marginals(template: CircuitTemplate, params: np.ndarray) -> np.ndarray:
    qc = template.to_qiskit(measure=False)
    n = template.n_qubits
    bits = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
    return np.array([Statevector(qc.assign_parameters(v)).probabilities() @ bits
                     for v in qiskit_values(template, qc, params)])


def exact_check(cases) -> dict:
    sim = Simulator(precision="complex128")
    worst, exact = 0.0, []
    for template, params in cases:
        ours = sim.marginals(template, torch.from_numpy(params)).numpy()
        worst = max(worst, float(np.abs(ours - qiskit_marginals(template, params)).max()))
        exact.append(ours)
    return {"templates": len(cases), "max_abs_diff": worst, "target": 1e-5,
            "met": worst < 1e-5}, exact


def by_width(cases, exact):
    """One request per register width (templates of one width share a request)."""
    groups: dict[int, list[int]] = {}
    for i, (t, _) in enumerate(cases):
        groups.setdefault(t.n_qubits, []).append(i)
    for width, members in sorted(groups.items()):
        request = SamplingRequest.from_templates(
            [cases[i][0] for i in members], np.concatenate([cases[i][1] for i in members]),
            SHOTS, seed=width, template_index=np.repeat(np.arange(len(members)), ROWS))
        yield request, np.concatenate([exact[i] for i in members])


def sampled_check(cases, exact) -> dict:
    out = {}
    for name, tolerance in SAMPLED.items():
        started, z_all, within = time.perf_counter(), [], []
        with get_provider(name) as provider:
            for request, ideal in by_width(cases, exact):
                got = provider.submit(request).result(timeout_s=3600).marginals
                sigma = shot_noise_sigma(ideal, SHOTS)
                z_all.append((np.abs(got - ideal) / sigma).ravel())
                within.append((np.abs(got - ideal) <= 4 * sigma + tolerance).ravel())
        z, ok = np.concatenate(z_all), np.concatenate(within)
        out[name] = {"marginals": int(z.size), "within_4_sigma_plus_tolerance": float(ok.mean()),
                     "noise_tolerance": tolerance, "within_4_sigma": float((z <= 4).mean()),
                     "max_z": float(z.max()), "seconds": time.perf_counter() - started}
    return out


def round_trips(cases) -> dict:
    unitary = qasm_text = 0
    for template, params in cases:
        qc = template.to_qiskit(measure=False)
        back = CircuitTemplate.from_qiskit(qc).to_qiskit(measure=False)
        def bind(c, t=template, v=params):
            return c.assign_parameters(qiskit_values(t, c, v)[0])

        unitary += bool(Operator(bind(qc)).equiv(Operator(bind(back))))
        text = template.to_qasm()
        again = CircuitTemplate.from_qasm(text)
        qasm_text += bool(again == template and again.to_qasm() == text)
    return {"templates": len(cases), "qiskit_same_unitary": unitary, "qasm_same_text": qasm_text}


def speed(repeats: int, n: int = 10, layers: int = 10, batch: int = 256) -> dict:
    out = {}
    for entangler in ("data", "ring"):
        ansatz = HDQNNAnsatz(n, layers, entangler)
        rng = np.random.default_rng(0)
        controls = rng.uniform(0, n - 1, (batch, ansatz.control_dim))
        paths = {"today": ansatz.request, "templates": ansatz.template_request}
        times: dict[str, list[float]] = {k: [] for k in paths}
        with get_provider("local") as provider:
            for repeat in range(repeats + 1):  # the first round is a warm-up
                for name, build in paths.items():
                    started = time.perf_counter()
                    request = build(controls, shots=100, seed=repeat)
                    provider.submit(_marginals_only(request)).result()
                    if repeat:
                        times[name].append(time.perf_counter() - started)
        medians = {k: statistics.median(v) for k, v in times.items()}
        out[entangler] = {"median_s": medians, "ratio_templates_over_today":
                          medians["templates"] / medians["today"], "target_ratio": 1.10,
                          "met": medians["templates"] / medians["today"] <= 1.10}
    return {"workload": f"n={n}, L={layers}, B={batch}, 100 shots, local provider "
                        f"(complex64, marginals only)", "repeats": repeats, **out}


def _marginals_only(request: SamplingRequest) -> SamplingRequest:
    from dataclasses import replace

    return replace(request, counts=False)


RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-sampled", action="store_true")
    args = parser.parse_args()
    cases = templates(20 if args.quick else 200)
    exact, exact_rows = exact_check(cases)
    report = {"machine_load": os.getloadavg(), "exact_vs_qiskit_statevector": exact,
              "round_trips": round_trips(cases[:50])}
    if not args.skip_sampled:
        report["sampled"] = sampled_check(cases, exact_rows)
    report["hdqnn_speed"] = speed(3 if args.quick else 9)
    report["machine_load_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))
    if not args.quick:
        out = RESULTS / "bench_templates.json"
        out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
