"""`qhil calibrate`: probe a provider with jobs of several sizes, fit per-job overhead,
per-circuit and per-shot time, and write a calibration snapshot for `qhil estimate`.

    qhil calibrate --provider NAME [--out FILE] [--qubits N --layers L] [--circuits 1,8,64]
                   [--shots 10,100,1000] [--repeats 3] [--budget-usd X] [--budget-shots N] [--budget-jobs N]

The probes' cost is estimated from the profile's current calibration and checked against the
budget flags before anything is submitted; a provider that charges needs an explicit --budget-usd.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from qhil.commands._args import add_provider_flags, non_negative_int, positive_float, positive_int
from qhil.commands._budget import add_budget_flags
from qhil.names import ENTANGLERS


def size_list(text: str) -> tuple[int, ...]:
    """'1,8,64' -> (1, 8, 64); each a positive integer."""
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated positive integers, got '{text}'") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"must be comma-separated positive integers, got '{text}'")
    return values


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate")
    add_provider_flags(p, None, "Provider profile name or .toml path (default: none; "
                       "--provider or --profile is required).", required=True)
    p.add_argument("--out", help="Calibration file to write (default: NAME-measured.toml in the current directory).")
    p.add_argument("--qubits", type=positive_int, default=10, help="Probe circuit qubits.")
    p.add_argument("--layers", type=positive_int, default=10, help="Probe circuit layers.")
    p.add_argument("--entangler", choices=ENTANGLERS, default="data", help="Probe CZ pattern.")
    p.add_argument("--circuits", type=size_list, default=(1, 8, 64),
                   help="Circuits per probe job (default 1,8,64).")
    p.add_argument("--shots", type=size_list, default=(10, 100, 1000),
                   help="Shots per circuit (default 10,100,1000).")
    p.add_argument("--repeats", type=positive_int, default=3, help="Jobs per size.")
    p.add_argument("--seed", type=non_negative_int, default=0, help="Seed of the probe circuits.")
    p.add_argument("--timeout-s", type=positive_float, default=3600.0, help="Wait per probe job.")
    p.add_argument("--ledger", metavar="PATH", help="Keep the probes' ledger here (default: a "
                   "scratch file; probes are recorded like a run's jobs, so their time counts).")
    p.add_argument("--json", dest="as_json", action="store_true", help="Print the fit as JSON.")
    add_budget_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qhil.calibration import load_calibration
    from qhil.config import find_profile
    from qhil.cost.calibrate import (
        ProbePlan,
        calibrated,
        check_probe_budget,
        fit_timing,
        run_probes,
        write_calibration,
    )
    from qhil.cost.device import DeviceModel
    from qhil.execution.budget import Budget
    from qhil.execution.dispatcher import Dispatcher
    from qhil.execution.ledger import Ledger
    from qhil.execution.registry import get_provider
    from qhil.quantum.ansatz import HDQNNAnsatz

    profile = find_profile(args.provider)
    plan = ProbePlan(HDQNNAnsatz(args.qubits, args.layers, args.entangler), args.circuits,
                     args.shots, args.repeats)
    cost = check_probe_budget(
        plan, DeviceModel.from_profile(profile), max_shots=args.budget_shots,
        max_jobs=args.budget_jobs, max_usd=args.budget_usd)
    budget = Budget(shots=args.budget_shots, usd=args.budget_usd, jobs=args.budget_jobs)
    with tempfile.TemporaryDirectory(prefix="qhil-calibrate-") as scratch, \
            get_provider(args.provider) as provider, \
            Ledger(args.ledger or Path(scratch) / "ledger.sqlite") as ledger:
        # the road a training run's jobs take: Dispatcher, budget, retries, ledger writes
        dispatcher = Dispatcher(provider, ledger=ledger, budget=budget, reuse_results=False)
        probes = run_probes(dispatcher, plan, seed=args.seed, timeout_s=args.timeout_s)
    fit = fit_timing(probes)
    base = load_calibration(profile.calibration) if profile.calibration else None
    what = f"{args.qubits} qubits x {args.layers} layers ({args.entangler}) on {profile.name}"
    out = args.out or Path.cwd() / f"{profile.name}-measured.toml"
    path = write_calibration(calibrated(base, fit, device=profile.device or profile.name, what=what), out)
    report = {"provider": profile.name, "out": str(path), "jobs": plan.jobs,
              "shots": plan.total_shots, "probe_cost_usd": str(cost), **fit.__dict__}
    print(json.dumps(report, indent=2) if args.as_json else _summary(report))
    return 0


def _summary(r: dict) -> str:
    return (f"{r['provider']}: {r['jobs']} probe jobs, {r['shots']:,} shots (~${r['probe_cost_usd']})\n"
            f"per job {r['job_overhead_s'] * 1e3:.2f} ms + per circuit {r['per_circuit_s'] * 1e3:.3f} ms"
            f" + per shot {r['per_shot_s'] * 1e6:.3f} us; queue p50 {r['queue_p50_s']:.3f} s;"
            f" worst residual {r['rel_residual']:.1%}\nwrote {r['out']}")
