"""`qhil calibrate`: probe a provider with jobs of several sizes, fit per-job overhead,
per-circuit and per-shot time, and write a calibration snapshot for `qhil estimate`.

    qhil calibrate --provider NAME [--out FILE] [--config RUN.toml] [--qubits N --layers L] [--circuits 1,8,64]
                   [--shots 10,100,1000] [--repeats 3] [--budget-usd X] [--budget-shots N] [--budget-jobs N]

The probes' cost is estimated from the profile's current calibration and checked against the
budget flags before anything is submitted; a provider that charges needs an explicit --budget-usd.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from qhil.commands._args import add_provider_flags, non_negative_int, positive_float, positive_int
from qhil.commands._budget import add_budget_flags
from qhil.errors import UserError
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
    p.add_argument("--config", help="A `qhil train` config: probe the qubits, layers, "
                   "entangler, job sizes and shots that run uses (default: none; the flags).")
    p.add_argument("--qubits", type=positive_int, help="Probe circuit qubits (default: "
                   "--config's, else 10).")
    p.add_argument("--layers", type=positive_int, help="Probe circuit layers (default: "
                   "--config's, else 10).")
    p.add_argument("--entangler", choices=ENTANGLERS, help="Probe CZ pattern (default: "
                   "--config's, else data).")
    p.add_argument("--circuits", type=size_list,
                   help="Circuits per probe job (default: the run's job sizes with --config, "
                   "else 1,8,64).")
    p.add_argument("--shots", type=size_list,
                   help="Shots per circuit (default: a tenth of and the run's shots with "
                   "--config, else 10,100,1000).")
    p.add_argument("--repeats", type=positive_int, default=3, help="Jobs per size.")
    p.add_argument("--seed", type=non_negative_int, default=0, help="Seed of the probe circuits.")
    p.add_argument("--timeout-s", type=positive_float, default=3600.0, help="Wait per probe job.")
    p.add_argument("--ledger", metavar="PATH", help="Keep the probes' ledger here (default: a "
                   "scratch file; probes are recorded like a run's jobs, so their time counts).")
    p.add_argument("--json", dest="as_json", action="store_true", help="Print the fit as JSON.")
    p.add_argument("--explorers", type=positive_int, help="With --config: also time how long a "
                   "distributed run's N explorer actors and its evaluation actor take to start on "
                   "a local Ray cluster (no job sent); `qhil estimate` adds it to the wall time "
                   "(default: not measured).")
    add_budget_flags(p)
    p.set_defaults(func=run)


RESIDUAL_WARN = 0.25  # a fit missing a probe size by more than this is flagged


def run(args: argparse.Namespace) -> int:
    from qhil.config import find_profile
    from qhil.cost.calibrate import ProbePlan, check_probe_budget
    from qhil.cost.device import DeviceModel
    from qhil.paths import check_ledger_path, check_out_file
    from qhil.quantum.ansatz import HDQNNAnsatz

    profile = find_profile(args.provider)
    if args.explorers and not args.config:
        raise UserError("--explorers needs --config: the actors are started with that run's "
                        "config")
    if args.explorers:
        from qhil.distributed.cluster import require_ray

        require_ray()  # before any probe is paid for
    qubits, layers, entangler, circuits, shots = probe_sizes(args)
    plan = ProbePlan(HDQNNAnsatz(qubits, layers, entangler), circuits, shots, args.repeats)
    out = check_out_file(args.out or Path.cwd() / f"{profile.name}-measured.toml", "--out")
    if args.ledger:
        check_ledger_path(args.ledger, "--ledger")
    cost = check_probe_budget(
        plan, DeviceModel.from_profile(profile), max_shots=args.budget_shots,
        max_jobs=args.budget_jobs, max_usd=args.budget_usd)
    probes, scratch = _probe(args, profile, plan, cost)
    what = f"{qubits} qubits x {layers} layers ({entangler}) on {profile.name}"
    report = _write(args, profile, plan, probes, what, out, cost)
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)  # only once the snapshot is written
    for line in report["warnings"]:
        print(f"qhil: warning: {line}", file=sys.stderr)
    print(json.dumps(report, indent=2) if args.as_json else _summary(report))
    return 0


def probe_sizes(args: argparse.Namespace) -> tuple[int, int, str, tuple[int, ...], tuple[int, ...]]:
    """Qubits, layers, entangler, circuits per job and shots: flags, then --config, then defaults."""
    if not args.config:
        return (args.qubits or 10, args.layers or 10, args.entangler or "data",
                args.circuits or (1, 8, 64), args.shots or (10, 100, 1000))
    from qhil.rl.config import load_train_config

    config = load_train_config(args.config)
    q = config.quantum
    jobs = sorted({config.num_envs, config.eval.episodes, *_learner_jobs(config)} - {0})
    sizes = tuple(jobs) if len(jobs) > 1 else (1, *jobs) if jobs != [1] else (1, 2)
    shots = tuple(sorted({max(1, q.shots // 10), q.shots}))
    return (args.qubits or q.qubits, args.layers or q.layers, args.entangler or q.entangler,
            args.circuits or sizes, args.shots or shots)


def _learner_jobs(config) -> list[int]:
    from qhil.quantum.ansatz import HDQNNAnsatz
    from qhil.rl.run import learner_batches

    q = config.quantum
    return learner_batches(config, HDQNNAnsatz(q.qubits, q.layers, q.entangler))


def _probe(args, profile, plan, cost):
    """Consent, then the probes through the Dispatcher; the scratch ledger (when no --ledger)
    is kept if anything after the probes fails, since they were paid for."""
    from qhil.cost.calibrate import run_probes
    from qhil.execution.budget import Budget
    from qhil.execution.consent import agree, open_dispatcher
    from qhil.execution.ledger import Ledger
    from qhil.execution.pricing import profile_bills
    from qhil.execution.registry import get_provider
    from qhil.execution.spend import Spend

    budget = Budget(shots=args.budget_shots, usd=args.budget_usd, jobs=args.budget_jobs)
    with get_provider(args.provider) as provider:
        agreed = agree(provider, Spend(f"{plan.jobs} probe jobs", (profile.name,),
                                       profile_bills(profile), plan.jobs, plan.total_shots, cost),
                       budget, yes=args.yes)
        scratch = None if args.ledger else Path(tempfile.mkdtemp(prefix="qhil-calibrate-"))
        with Ledger(args.ledger or scratch / "ledger.sqlite") as ledger:
            # the road a training run's jobs take: Dispatcher, budget, retries, ledger writes
            dispatcher = open_dispatcher(provider, ledger=ledger, agreement=agreed,
                                         reuse_results=False)
            try:
                return run_probes(dispatcher, plan, seed=args.seed,
                                  timeout_s=args.timeout_s), scratch
            except BaseException:
                if scratch is not None:  # paid probes are never thrown away
                    print(f"qhil: the probes' ledger is kept at {scratch / 'ledger.sqlite'}",
                          file=sys.stderr)
                raise


def _write(args, profile, plan, probes, what: str, out: Path, cost) -> dict:
    from qhil.calibration import load_calibration
    from qhil.cost.calibrate import calibrated, fit_timing, size_residuals, write_calibration

    fit = fit_timing(probes)
    base = load_calibration(profile.calibration) if profile.calibration else None
    actors = actors_start(args)
    path = write_calibration(calibrated(base, fit, device=profile.device or profile.name,
                                        what=what, actors=actors), out)
    return {"actors_start_s": actors[0], "actors_start_explorers": actors[1],"provider": profile.name, "out": str(path), "jobs": plan.jobs,
            "fitted_jobs": fit.probes, "shots": plan.total_shots, "probe_cost_usd": str(cost),
            **fit.__dict__, "warnings": residual_warnings(size_residuals(probes, fit))}


def actors_start(args) -> tuple[float, int]:
    """(seconds, explorers): `--explorers N` actors of --config's run started and timed."""
    if not args.explorers:
        return 0.0, 0
    from qhil.distributed.probe import actors_start_s
    from qhil.rl.config import load_train_config

    config = load_train_config(args.config).with_overrides(
        **{"distributed.explorers": args.explorers})
    return actors_start_s(config), args.explorers


def residual_warnings(residuals: list[dict]) -> list[str]:
    """One warning naming every probe size the fit misses by more than RESIDUAL_WARN."""
    bad = [r for r in residuals if abs(r["rel_residual"]) > RESIDUAL_WARN]
    if not bad:
        return []
    sizes = "; ".join(f"{r['circuits']} circuits x {r['shots']} shots measured "
                      f"{r['measured_s'] * 1e3:.2f} ms, fit {r['fitted_s'] * 1e3:.2f} ms "
                      f"({r['rel_residual']:+.0%})" for r in bad)
    return [f"the timing fit misses {len(bad)} of {len(residuals)} probe sizes by more than "
            f"{RESIDUAL_WARN:.0%}: {sizes}; its predictions are rough: probe the sizes your run "
            f"uses (--config FILE) or more --repeats"]


def _summary(r: dict) -> str:
    from decimal import Decimal

    from qhil.cost.report import usd

    actors = (f"\n{r['actors_start_explorers']} explorer actors and the evaluation actor start in "
              f"{r['actors_start_s']:.1f} s" if r.get("actors_start_explorers") else "")
    return (f"{r['provider']}: {r['jobs']} probe jobs (1 warm-up + {r['fitted_jobs']} fitted), "
            f"{r['shots']:,} shots (~{usd(Decimal(r['probe_cost_usd']))})\n"
            f"per job {r['job_overhead_s'] * 1e3:.2f} ms + per circuit {r['per_circuit_s'] * 1e3:.3f} ms"
            f" + per shot {r['per_shot_s'] * 1e6:.3f} us; queue p50 {r['queue_p50_s']:.3f} s;"
            f" worst residual {r['rel_residual']:.1%}"
            f"{' (see the warning above)' if r['warnings'] else ''}{actors}\nwrote {r['out']}")
