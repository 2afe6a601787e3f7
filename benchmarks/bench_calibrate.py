"""Is a calibrated prediction of a run's wall time right? (issue 5, item 4)

For each provider: `qhil calibrate`'s probes and fit, then the cost model's prediction of a
sequence of sampling jobs shaped like a training run's exploration (one job of `envs` circuits
per step), then that sequence timed for real. Beside it, the prediction of the profile's own
(uncalibrated) snapshot. Prints medians and ratios; writes benchmarks/results/bench_calibrate.json
and .md.

    .venv/bin/python benchmarks/bench_calibrate.py [--providers local,local-noisy,chaos-local] [--steps 200]
        [--envs 8] [--shots 100] [--qubits 10] [--layers 10] [--rounds 5] [--repeats 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import results_dir  # noqa: E402  (benchmarks/ is on sys.path)

from qhil.config import find_profile  # noqa: E402
from qhil.cost import DeviceModel, Workload, estimate  # noqa: E402
from qhil.cost.calibrate import ProbePlan, calibrated, fit_timing, run_probes  # noqa: E402
from qhil.execution.dispatcher import Dispatcher  # noqa: E402
from qhil.execution.ledger import Ledger  # noqa: E402
from qhil.execution.registry import availability, get_provider  # noqa: E402
from qhil.quantum.ansatz import HDQNNAnsatz  # noqa: E402

RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--providers", default="local,local-noisy,chaos-local")
    p.add_argument("--steps", type=int, default=200, help="Exploration steps timed per round.")
    p.add_argument("--envs", type=int, default=8, help="Circuits per exploration job.")
    p.add_argument("--shots", type=int, default=100)
    p.add_argument("--qubits", type=int, default=10)
    p.add_argument("--layers", type=int, default=10)
    p.add_argument("--rounds", type=int, default=5, help="Timed sequences per provider.")
    p.add_argument("--probe-circuits", default="1,8,32")
    p.add_argument("--probe-shots", default="50,100,200",
                   help="Probe shot counts; bracket the run's (simulators are not linear in shots).")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1 keeps timings steady on a shared machine).")
    p.add_argument("--name", default="bench_calibrate")
    return p.parse_args()


def time_exploration(provider, ansatz: HDQNNAnsatz, steps: int, envs: int, shots: int,
                     rng: np.random.Generator) -> float:
    """Wall seconds of `steps` sequential jobs of `envs` circuits, as exploration sends them."""
    started = time.perf_counter()
    for _ in range(steps):
        request = ansatz.request(ansatz.random_controls(envs, rng), shots=shots,
                                 seed=int(rng.integers(2**31)))
        provider.submit(request).result(timeout_s=3600)
    return time.perf_counter() - started


def bench_provider(name: str, args: argparse.Namespace) -> dict:
    profile = find_profile(name)
    ansatz = HDQNNAnsatz(args.qubits, args.layers, "data")
    plan = ProbePlan(ansatz, tuple(int(c) for c in args.probe_circuits.split(",")),
                     tuple(int(s) for s in args.probe_shots.split(",")), args.repeats)
    workload = Workload(args.qubits, args.layers, shots=args.shots, env_steps=args.steps,
                        num_envs=args.envs)
    snapshot = DeviceModel.from_profile(profile)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as scratch, get_provider(name) as inner, \
            Ledger(Path(scratch) / "ledger.sqlite") as ledger:
        provider = Dispatcher(inner, ledger=ledger, reuse_results=False)  # a training run's road
        rounds = [calibrate_then_time(provider, profile, plan, workload, args, rng, seed)
                  for seed in range(args.rounds)]
    uncalibrated = estimate(workload, snapshot, methods=("qtdnn",)).methods["qtdnn"]
    median = statistics.median(r["measured_s"] for r in rounds)
    ratios = [r["predicted_s"] / r["measured_s"] for r in rounds]
    ratio = statistics.median(ratios)
    return {
        "provider": name, "probe_jobs": plan.jobs, "rounds": rounds, "ratios": ratios,
        "measured_median_s": median,
        "predicted_median_s": statistics.median(r["predicted_s"] for r in rounds),
        "ratio_predicted_to_measured": ratio, "error": abs(ratio - 1.0),
        "worst_error": max(abs(x - 1.0) for x in ratios),
        "uncalibrated_predicted_wall_s": uncalibrated.wall_s,
        "uncalibrated_ratio": uncalibrated.wall_s / median,
    }


def calibrate_then_time(provider, profile, plan: ProbePlan, workload: Workload,
                        args: argparse.Namespace, rng: np.random.Generator, seed: int) -> dict:
    """One round: probe and fit, predict the exploration sequence, then time it."""
    started = time.perf_counter()
    fit = fit_timing(run_probes(provider, plan, seed=seed))
    calibrate_s = time.perf_counter() - started
    cal = calibrated(None, fit, device=profile.device or profile.name, what="bench")
    device = DeviceModel.from_calibration(cal, profile.limits, name=profile.name)
    predicted = estimate(workload, device, methods=("qtdnn",)).methods["qtdnn"]
    measured = time_exploration(provider, plan.ansatz, args.steps, args.envs, args.shots, rng)
    return {"calibrate_s": calibrate_s, "fit": fit.__dict__, "predicted_s": predicted.wall_s,
            "predicted_band_s": [predicted.wall_s_low, predicted.wall_s_high],
            "measured_s": measured}


def markdown(report: dict) -> str:
    a = report["args"]
    lines = ["# bench_calibrate: calibrated wall-time prediction vs measurement",
             "", f"Exploration-shaped run: {a['steps']} jobs x {a['envs']} circuits x "
             f"{a['shots']} shots, {a['qubits']} qubits x {a['layers']} layers (data entangler); "
             f"{a['rounds']} rounds of (calibrate, then time the sequence); ratios are the median "
             f"over rounds. Machine: {report['machine']}.", "",
             "| provider | measured s (median) | predicted s (median) | predicted / measured "
             "(median of rounds) | error | worst round | uncalibrated predicted s | "
             "fit of last round: per job ms, per circuit ms, per shot us |",
             "|---|---|---|---|---|---|---|---|"]
    for r in report["providers"]:
        f = r["rounds"][-1]["fit"]
        lines.append(
            f"| {r['provider']} | {r['measured_median_s']:.3f} | {r['predicted_median_s']:.3f} | "
            f"{r['ratio_predicted_to_measured']:.3f} | {r['error']:.1%} | {r['worst_error']:.1%} | "
            f"{r['uncalibrated_predicted_wall_s']:.3g} | {f['job_overhead_s'] * 1e3:.2f}, "
            f"{f['per_circuit_s'] * 1e3:.3f}, {f['per_shot_s'] * 1e6:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.providers.split(","):
        try:
            status = availability(find_profile(name))
        except Exception as exc:  # an unknown profile is reported, not fatal
            print(f"{name}: skipped ({exc})")
            continue
        if not status.usable:
            print(f"{name}: skipped ({status.reason})")
            continue
        row = bench_provider(name, args)
        rows.append(row)
        print(f"{name}: measured {row['measured_median_s']:.3f} s, predicted "
              f"{row['predicted_median_s']:.3f} s, ratio {row['ratio_predicted_to_measured']:.3f} "
              f"(error {row['error']:.1%}); uncalibrated snapshot predicts "
              f"{row['uncalibrated_predicted_wall_s']:.3g} s")
    report = {"args": vars(args), "machine": f"{platform.machine()} {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.1f} at the end, python "
              f"{platform.python_version()}", "providers": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(report, indent=2))
    (RESULTS / f"{args.name}.md").write_text(markdown(report))


if __name__ == "__main__":
    main()
