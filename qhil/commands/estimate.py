"""`qhil estimate`: shots, jobs, QPU time, wall time and dollars of a run, per gradient method.

    qhil estimate --provider NAME (--config FILE.toml | workload flags) [--method M|all] [--json]
    qhil estimate --from-run DIR [--json]

Flags given on the command line override the config file and the provider's calibration; with
no provider only what the flags give is used (zero where they say nothing).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from qhil.commands._args import (
    add_provider_flags,
    lazy_choice,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from qhil.config import find_profile, load_toml
from qhil.errors import ConfigError
from qhil.names import ENTANGLERS

if TYPE_CHECKING:  # the cost model imports torch; run() imports it, `--help` does not
    from qhil.cost import DeviceModel, Workload

FROM_CONFIG = " (default: --config's value, else the cost model's default)"
FROM_DEVICE = " (default: the provider's calibration, else 0)"

WORKLOAD_FLAGS = {  # flag dest -> Workload field
    "qubits": "n_qubits", "layers": "n_layers", "entangler": "entangler", "batch": "batch_size",
    "shots": "shots", "env_steps": "env_steps", "num_envs": "num_envs", "updates": "updates",
    "policy_delay": "policy_delay", "eval_episodes": "eval_episodes",
    "eval_steps": "eval_steps_per_episode", "eval_batch": "eval_batch", "depth": "circuit_depth",
    "shift_controls": "shift_controls", "learner_forward": "learner_forward",
    "explorers": "explorers",
}
DEVICE_FLAGS = {  # flag dest -> DeviceModel field (pricing keys go into its pricing)
    "gate_ns": "gate_1q_ns", "gate_2q_ns": "gate_2q_ns", "readout_ns": "readout_ns",
    "reset_ns": "reset_ns", "depth_factor": "depth_factor", "job_overhead_s": "job_overhead_s",
    "per_circuit_s": "per_circuit_s", "per_shot_s": "per_shot_s",
    "queue_p95_s": "queue_p95_s", "max_circuits_per_job": "max_circuits_per_job",
    "max_jobs_in_flight": "max_jobs_in_flight", "per_task_usd": "per_task_usd",
    "per_shot_usd": "per_shot_usd", "per_qpu_second_usd": "per_qpu_second_usd",
    "per_minute_usd": "per_minute_usd", "pricing": "model", "actors_start_s": "actors_start_s",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("estimate")
    add_provider_flags(p, None, "Provider profile (name or .toml) whose calibration to use "
                       "(default: the config's provider, else none: only the flags' figures).")
    p.add_argument("--calibration", help="A calibration snapshot (.toml) to use in place of the "
                   "provider's, e.g. one written by `qhil calibrate` (default: the provider's).")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--config", help="A `qhil train` config file (.toml) giving the workload "
                        "(default: none, the workload flags).")
    source.add_argument("--from-run", metavar="DIR", help="Set a finished run's measurement "
                        "beside the prediction (reads DIR/config.toml, summary.json, ledger.sqlite; "
                        "default: none).")
    p.add_argument("--method", type=lazy_choice("qhil.cost.model", "METHODS", ("all",)),
                   default="all", metavar="METHOD",
                   help="Gradient method to estimate: qtdnn, parameter-shift, ... (any method of "
                   "the cost model) or all (default all).")
    p.add_argument("--json", dest="as_json", action="store_true", help="Print one JSON object.")
    p.add_argument("--circuit", default=None, metavar="FILE.qasm",
                   help="Price your own circuit (OpenQASM 3) per batch and per QuantumLayer "
                   "training update, with --batch, --shots, --provider (default: none).")
    _workload_flags(p.add_argument_group("workload (override --config)"))
    _device_flags(p.add_argument_group("device (override the provider's calibration)"))
    p.set_defaults(func=run)


def _workload_flags(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--qubits", type=positive_int,
                   help="Qubits n (default: --config's; without a config required).")
    g.add_argument("--layers", type=positive_int,
                   help="Layers L (default: --config's; without a config required).")
    g.add_argument("--entangler", choices=ENTANGLERS, help="CZ pattern (default data).")
    g.add_argument("--batch", type=positive_int, help="Minibatch N_b (default 256).")
    g.add_argument("--shots", type=positive_int, help="Shots per circuit (default 100).")
    g.add_argument("--env-steps", type=non_negative_int, help="Vector-environment steps" + FROM_CONFIG)
    g.add_argument("--num-envs", type=positive_int, help="Environments per step (default 1).")
    g.add_argument("--updates", type=non_negative_int, help="Learner updates" + FROM_CONFIG)
    g.add_argument("--policy-delay", type=positive_int, help="Actor update every d updates "
                   "(default 1 from flags, [td3] policy_delay from a config).")
    g.add_argument("--eval-episodes", type=non_negative_int, help="Evaluation episodes in all"
                   + FROM_CONFIG)
    g.add_argument("--eval-steps", type=non_negative_int, help="Steps per evaluation episode"
                   + FROM_CONFIG)
    g.add_argument("--eval-batch", type=positive_int, help="Evaluation episodes side by side"
                   + FROM_CONFIG)
    g.add_argument("--depth", type=positive_int, help="Transpiled circuit depth in gate steps"
                   + FROM_CONFIG)
    g.add_argument("--shift-controls", choices=("all", "angles"),
                   help="Parameter-shift over all controls (the paper's 220) or the angles only"
                   + FROM_CONFIG)
    g.add_argument("--learner-forward", action="store_const", const=True,
                   help="Also count the learner's forward circuits for the direct methods "
                   "(default: off).")
    g.add_argument("--explorers", type=positive_int, help="Explorer actors sending exploration "
                   "jobs side by side, as `qhil train --explorers`" + FROM_CONFIG)


def _device_flags(g: argparse._ArgumentGroup) -> None:
    for flag, kind, text in (
            ("--gate-ns", non_negative_float, "Single-qubit gate time (ns)."),
            ("--gate-2q-ns", non_negative_float, "Two-qubit gate time (ns)."),
            ("--readout-ns", non_negative_float, "Readout time (ns)."),
            ("--reset-ns", non_negative_float, "Reset / repetition delay per shot (ns)."),
            ("--depth-factor", positive_float, "Transpiled / logical depth."),
            ("--job-overhead-s", non_negative_float, "Fixed time per job (s)."),
            ("--per-circuit-s", non_negative_float, "Time per circuit in a job (s)."),
            ("--per-shot-s", non_negative_float, "Measured time per shot (s)."),
            ("--queue-s", non_negative_float, "Typical queue wait per job (s)."),
            ("--actors-start-s", non_negative_float, "Start-up of a distributed run's actors "
             "before its first job (s), as `qhil calibrate --explorers N` measures it."),
            ("--queue-p95-s", non_negative_float, "95th-percentile queue wait (s)."),
            ("--max-circuits-per-job", positive_int, "Circuits one job may carry."),
            ("--max-jobs-in-flight", positive_int, "Jobs waiting together."),
            ("--per-task-usd", non_negative_float, "Fee per job / task ($)."),
            ("--per-shot-usd", non_negative_float, "Fee per shot ($)."),
            ("--per-qpu-second-usd", non_negative_float, "Fee per QPU second ($)."),
            ("--per-minute-usd", non_negative_float, "Fee per minute ($).")):
        g.add_argument(flag, type=kind, help=text.rstrip(".") + FROM_DEVICE)
    g.add_argument("--pricing", choices=("free", "per-shot", "per-qpu-second", "session"),
                   help="Billing model, session bills the run's wall clock (default: the "
                   "provider's calibration, else free).")


def run(args: argparse.Namespace) -> int:
    from qhil.cost import estimate
    from qhil.cost.report import estimate_table

    if args.circuit is not None:
        from qhil.commands._circuit import run_estimate

        return run_estimate(args)

    if args.from_run:
        return run_from_dir(args)
    result = estimate(build_workload(args), build_device(args), methods=_methods(args.method))
    print(json.dumps(result.to_json(), indent=2) if args.as_json else estimate_table(result))
    return 0


def run_from_dir(args: argparse.Namespace) -> int:
    """The `--from-run` branch: the run's own config, the flags on top, beside its ledger."""
    from qhil.cost.after_run import by_method_estimate, report_run, run_config, table
    from qhil.cost.report import estimate_table

    run_dir = Path(args.from_run)
    config = str(run_config(run_dir))
    device, workload = build_device(args, config, finished=True), build_workload(args, config)
    report = report_run(run_dir, workload, device, by_method=args.method == "all")
    if args.as_json:
        print(json.dumps(report, indent=2))
        return 0
    print(table(report))
    if "by_method" in report:
        print(f"\nthe same run on {device.name} by gradient method (what it would have cost):")
        print(estimate_table(by_method_estimate(run_dir, workload, device)))
    return 0


def _methods(choice: str) -> tuple[str, ...]:
    from qhil.cost import METHODS

    return METHODS if choice == "all" else (choice,)


def build_workload(args: argparse.Namespace, config: str | None = None) -> Workload:
    """The workload: the config file (if any), then the flags given."""
    from qhil.cost import Workload

    given = {field: getattr(args, dest) for dest, field in WORKLOAD_FLAGS.items()}
    config = config or args.config
    if config:
        return Workload.from_train_config(config).with_overrides(**given)
    if given["n_qubits"] is None or given["n_layers"] is None:
        raise ConfigError("give --qubits and --layers (and the other workload flags), "
                          "or --config FILE.toml")
    return Workload(**{k: v for k, v in given.items() if v is not None})


def build_device(args: argparse.Namespace, config: str | None = None,
                 finished: bool = False) -> DeviceModel:
    """The device: the provider's calibration (--provider, else the config's), then the flags."""
    from qhil.calibration import load_calibration
    from qhil.cost import DeviceModel

    name = args.provider or _config_provider(config or args.config, finished)
    base = DeviceModel.from_profile(find_profile(name)) if name else DeviceModel()
    if args.calibration:
        profile = find_profile(name) if name else None
        base = DeviceModel.from_calibration(
            load_calibration(Path(args.calibration).resolve()), profile.limits if profile else None,
            name=name, max_jobs_in_flight=profile.max_jobs_in_flight if profile else 1)
    device = base.with_overrides(**{field: getattr(args, dest) for dest, field in DEVICE_FLAGS.items()})
    if args.queue_s is not None:  # the typical queue, in place of the snapshot's p50 and mean
        device = device.with_overrides(queue_p50_s=args.queue_s, queue_mean_s=0.0)
    return device


def _config_provider(path: str | None, finished: bool = False) -> str | None:
    """The config's provider: `[distributed] providers` when it names one, else `provider`. A
    forecast of several devices is refused; a finished run (`--from-run`, whose ledgers hold
    what each device was paid) is priced on its `provider`, as before explorers existed."""
    if not path:
        return None
    data = load_toml(Path(path))
    named = set(data.get("distributed", {}).get("providers", []))
    if len(named) > 1 and finished:
        return str(data["provider"]) if data.get("provider") else None
    if len(named) > 1:
        raise ConfigError(f"qhil estimate prices one device; [distributed] providers names "
                          f"{len(named)} ({', '.join(sorted(named))}): estimate each with --provider")
    provider = next(iter(named), None) or data.get("provider")
    return str(provider) if provider else None
