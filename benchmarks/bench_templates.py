"""Circuit templates (issue 16): correctness on 200 random templates, and the hDQNN path's speed.

    .venv/bin/python benchmarks/bench_templates.py            # all (--update-results: results/)
    .venv/bin/python benchmarks/bench_templates.py --quick    # smoke: 20 templates, 3 repeats

1. exact: the embedded simulator (complex128) against Qiskit's Statevector on 200
   seeded random templates (2-8 qubits, 5-60 gates over the whole gate set): max |difference|.
2. sampled: the same templates (2 parameter rows each, 2000 shots) on local, aer, braket-local
   and ibm-fake-torino; z = |sampled - exact| / sigma (shot noise, tests/reference.py). The
   noisy ibm-fake-torino (its fake backend's noise model) gets the conformance suite's noise
   tolerance, 0.2, on top: its figure is how often the noise-free 4-sigma bound holds.
3. round trips: Qiskit -> template -> Qiskit the same unitary (Operator.equiv); OpenQASM 3 ->
   template -> OpenQASM 3 the same text and the same template.
4. speed (issue 23): the hDQNN workloads (n=10 B=256 and n=16 B=32, L=10, data and ring
   entanglers) through the one `Simulator` against today's dedicated kernel frozen at BASELINE
   (benchmarks/_frozen_kernel.py; target <= 1.05x), and a random template of the same qubits,
   gate count and parameter count through the Simulator against the hDQNN one (target <= 1.2x);
   interleaved repeats in one process, wall and CPU-time medians. Writes templates.{json,md}.
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

from _frozen_kernel import BASELINE, main_kernel  # noqa: E402
from _results import results_dir  # noqa: E402  (benchmarks/ is on sys.path)
from qiskit.quantum_info import Operator, Statevector  # noqa: E402

from qhil import get_provider  # noqa: E402
from qhil.quantum.request import SamplingRequest  # noqa: E402
from qhil.quantum.simulator import Simulator  # noqa: E402
from qhil.quantum.template import CircuitTemplate  # noqa: E402
from qhil.quantum.template_io import qiskit_values  # noqa: E402
from qhil.quantum.template_random import random_params, random_template  # noqa: E402

SAMPLED = {"local": 0.0, "aer": 0.0, "braket-local": 0.0, "ibm-fake-torino": 0.2}
N_PARAMS, SHOTS, ROWS = 30, 2000, 2


def templates(count: int, seed: int = 16) -> list[tuple[CircuitTemplate, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        t = random_template(rng, int(rng.integers(2, 9)), int(rng.integers(5, 61)), N_PARAMS)
        out.append((t, random_params(rng, t, ROWS)))
    return out


def shot_noise_sigma(ideal: np.ndarray, shots: int) -> np.ndarray:
    """Binomial sigma of a sampled marginal, its variance floored at one count in `shots`
    (tests/reference.py's Gaussian band, which the tests replaced by the exact binomial band)."""
    return np.sqrt(np.clip(ideal * (1 - ideal), 1 / shots, None) / shots)


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


SPEED_WORKLOADS = [(10, 256), (16, 32)]  # (qubits, batch), L = 10, 100 shots, marginals only
SPEED_TARGETS = {"simulator_over_main_kernel": 1.05, "random_over_hdqnn": 1.2}


def speed(repeats: int, layers: int = 10, shots: int = 100) -> dict:
    """The one Simulator against today's dedicated kernel (frozen, benchmarks/_frozen_kernel.py)
    on the hDQNN workloads, and a random template of the same size through the Simulator."""
    out = {}
    for n, batch in SPEED_WORKLOADS:
        for entangler in ("data", "ring"):
            calls = speed_calls(n, layers, batch, shots, entangler)
            out[f"n{n}-{entangler}"] = timed_calls(calls, repeats) | {
                "n_qubits": n, "layers": layers, "batch": batch, "entangler": entangler}
    return {"workload": f"L={layers}, {shots} shots, complex64, marginals only "
                        f"(sample_marginals: the local provider's counts=False path), 2 threads",
            "repeats": repeats, "baseline": f"BatchedSimulator at {BASELINE}", **out}


def speed_calls(n: int, layers: int, batch: int, shots: int, entangler: str) -> dict:
    """name -> a call: main's kernel and the Simulator on the same hDQNN circuits (the ring as
    one template, data-chosen pairs as the arrays the local provider batches them into), and a
    random template with the same qubits, gate count and parameter count."""
    rng = np.random.default_rng(n)
    angles = torch.from_numpy(rng.uniform(-np.pi, np.pi, (batch, layers, n, 2))).float()
    ring = np.array([[(j, (j + 1) % n) for j in range(n)]] * layers)
    pairs = np.stack([rng.choice(n, 2, replace=False) for _ in range(batch * layers)])
    cz = torch.from_numpy(np.broadcast_to(ring, (batch, *ring.shape)).copy() if entangler == "ring"
                          else pairs.reshape(batch, layers, 1, 2))
    kernel, sim = main_kernel()(n), Simulator(n)
    hdqnn = ((CircuitTemplate.from_hdqnn(n, ring), angles.reshape(batch, -1))
             if entangler == "ring" else (angles, cz))
    gates = layers * 2 * n + int(cz.shape[1] * cz.shape[2])
    template = random_template(rng, n, gates, n_params=layers * n * 2)
    params = torch.from_numpy(random_params(rng, template, batch)).float()
    draw = lambda s, c, v: s.sample_marginals(c, v, shots, torch.Generator().manual_seed(1))  # noqa: E731
    return {"main_kernel": lambda: draw(kernel, angles, cz), "simulator": lambda: draw(sim, *hdqnn),
            "random_template": lambda: draw(sim, template, params)}


def timed_calls(calls: dict, repeats: int) -> dict:
    """Interleaved repeats after one warm-up each: wall and CPU medians, and their ratios."""
    wall: dict[str, list[float]] = {k: [] for k in calls}
    cpu: dict[str, list[float]] = {k: [] for k in calls}
    with torch.inference_mode():
        for repeat in range(repeats + 1):
            for name, call in calls.items():
                started, cpu_started = time.perf_counter(), time.process_time()
                call()
                if repeat:
                    wall[name].append(time.perf_counter() - started)
                    cpu[name].append(time.process_time() - cpu_started)
    out = {}
    for clock, times in (("wall", wall), ("cpu", cpu)):
        med = {k: statistics.median(v) for k, v in times.items()}
        out[f"median_{clock}_s"] = med
        out[f"ratios_{clock}"] = {
            "simulator_over_main_kernel": med["simulator"] / med["main_kernel"],
            "random_over_hdqnn": med["random_template"] / med["simulator"]}
    out["met"] = {k: out["ratios_wall"][k] <= target for k, target in SPEED_TARGETS.items()}
    return out


def verdict(wall_ratio: float, target: float) -> str:
    """The target judged on the wall-clock ratio."""
    return "(met)" if wall_ratio <= target else "(MISSED)"


def speed_markdown(report: dict) -> str:
    s = report["hdqnn_speed"]
    lines = ["# Templates benchmark (benchmarks/bench_templates.py)", "",
             f"Load (1-min average) {report['machine_load'][0]:.1f} at start, "
             f"{report['machine_load_after'][0]:.1f} at end, 2 CPUs. Speed: {s['workload']}; "
             f"{s['repeats']} interleaved repeats, medians; baseline: {s['baseline']} "
             "(benchmarks/_frozen_kernel.py, same process).", "",
             "| workload | main kernel ms | Simulator ms | random template ms | Simulator / main "
             "(wall, cpu; target <= 1.05) | random / hDQNN (wall, cpu; target <= 1.2) |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, w in ((k, v) for k, v in s.items() if isinstance(v, dict)):
        m, rw, rc = w["median_wall_s"], w["ratios_wall"], w["ratios_cpu"]
        lines.append(f"| {name} (B={w['batch']}) | {m['main_kernel'] * 1e3:.1f} | "
                     f"{m['simulator'] * 1e3:.1f} | {m['random_template'] * 1e3:.1f} | "
                     f"{rw['simulator_over_main_kernel']:.3f}, {rc['simulator_over_main_kernel']:.3f} "
                     f"{verdict(rw['simulator_over_main_kernel'], 1.05)} | "
                     f"{rw['random_over_hdqnn']:.2f}, {rc['random_over_hdqnn']:.2f} "
                     f"{verdict(rw['random_over_hdqnn'], 1.2)} |")
    extra = {k: report[k] for k in ("exact_vs_qiskit_statevector", "round_trips") if k in report}
    return "\n".join([*lines, "", f"Other checks: `{json.dumps(extra)}`", ""])


RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-sampled", action="store_true")
    parser.add_argument("--speed-only", action="store_true", help="only the speed section")
    parser.add_argument("--repeats", type=int, default=9, help="timed repeats (speed)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    report = {"machine_load": os.getloadavg()}
    if not args.speed_only:
        cases = templates(20 if args.quick else 200)
        exact, exact_rows = exact_check(cases)
        report |= {"exact_vs_qiskit_statevector": exact, "round_trips": round_trips(cases[:50])}
        if not args.skip_sampled:
            report["sampled"] = sampled_check(cases, exact_rows)
    report["hdqnn_speed"] = speed(3 if args.quick else args.repeats)
    report["machine_load_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))
    if not args.quick:
        (RESULTS / "templates.json").write_text(json.dumps(report, indent=2) + "\n")
        (RESULTS / "templates.md").write_text(speed_markdown(report))


if __name__ == "__main__":
    main()
