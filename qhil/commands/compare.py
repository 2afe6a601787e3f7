"""`qhil compare`: the same probe workload on several providers, side by side.

Writes report.html (self-contained), report.md and report.json in --out DIR. Progress goes to
stderr. Every flag, profile, config and run folder is checked before the first job is sent.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qhil.commands._args import non_negative_int, positive_float, positive_int, profile_path
from qhil.commands._budget import add_budget_flags, budget_from_args
from qhil.config import ProviderProfile, find_profile, load_toml
from qhil.errors import ConfigError

if TYPE_CHECKING:  # the report modules import numpy and torch; run() imports them
    from qhil.report.session import ComparisonPlan


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare")
    p.add_argument("--providers", type=provider_list, default=[],
                   help="Comma-separated provider profile names or .toml paths (default: none; "
                   "give --providers, --profile or both).")
    p.add_argument("--profile", dest="profiles", action="append", type=profile_path, default=[],
                   metavar="PATH", help="A provider profile file anywhere; repeat for several "
                   "(default: none; added after --providers).")
    p.add_argument("--config", type=Path, default=None,
                   help="Training config (TOML): probe size and the run whose cost is predicted "
                   "(default: none).")
    p.add_argument("--qubits", type=positive_int, default=None, help="Qubits (default: config, else 4).")
    p.add_argument("--layers", type=positive_int, default=None, help="Layers (default: config, else 4).")
    p.add_argument("--batch", type=positive_int, default=8, help="Circuits per probe job.")
    p.add_argument("--shots", type=positive_int, default=None,
                   help="Shots per circuit (default: config, else 1000).")
    p.add_argument("--repeats", type=positive_int, default=3,
                   help="Times each probe is submitted per provider.")
    p.add_argument("--out", type=Path, default=Path("compare-report"),
                   help="Folder for report.html, report.md, report.json; an existing report "
                   "there is kept unless --force (default: compare-report).")
    p.add_argument("--force", action="store_true",
                   help="Replace the report already in --out (default: refuse).")
    p.add_argument("--dry-run", action="store_true",
                   help="Predict from calibration data only; submit nothing.")
    p.add_argument("--runs", nargs="+", default=[], metavar="RUN_DIR",
                   help="Training run folders whose return per dollar and per hour to add "
                   "(default: none).")
    p.add_argument("--seed", type=non_negative_int, default=0, help="Seed of the probe circuits.")
    p.add_argument("--timeout-s", type=positive_float, default=1800.0,
                   help="Give up on one probe job after this many seconds.")
    p.add_argument("--circuit", default=None, metavar="FILE.qasm",
                   help="Your own circuit (OpenQASM 3), run as a probe beside the built-in ones "
                   "with random inputs (default: none).")
    add_budget_flags(p)
    p.set_defaults(func=run)


def provider_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("needs at least one provider name, e.g. local,local-noisy")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"lists a provider twice: {text}")
    return names


def run(args: argparse.Namespace) -> int:
    from qhil.report.render import write_report
    from qhil.report.session import run_comparison

    plan = build_plan(args)
    report = run_comparison(plan, progress, lambda probes: _consent(plan, probes, args.yes))
    paths = write_report(report, args.out)
    progress(f"wrote {paths['html']}, {paths['md'].name}, {paths['json'].name}")
    return 0


def build_plan(args: argparse.Namespace) -> ComparisonPlan:
    """Resolve and check everything up front (exit 2 on bad input, nothing sent)."""
    from qhil.report.probes import ProbeSize
    from qhil.report.runs import load_run
    from qhil.report.session import ComparisonPlan

    if not args.providers and not args.profiles:
        raise ConfigError("name the providers to compare: --providers a,b and/or --profile PATH")
    profiles: list[ProviderProfile] = [find_profile(n) for n in [*args.providers, *args.profiles]]
    names = [p.name for p in profiles]
    if len(set(names)) != len(names):
        raise ConfigError(f"--providers names one profile twice ({', '.join(names)})")
    quantum = _quantum_table(args.config)
    size = ProbeSize(n_qubits=args.qubits or int(quantum.get("qubits", 4)),
                     n_layers=args.layers or int(quantum.get("layers", 4)),
                     batch=args.batch, shots=args.shots or int(quantum.get("shots", 1000)))
    runs = [load_run(d) for d in args.runs]
    _check_out(args.out, args.force)
    _check_memory(size)
    circuit = _circuit(args.circuit, size.batch)
    return ComparisonPlan(circuit=circuit, profiles=profiles, size=size, repeats=args.repeats, dry_run=args.dry_run,
                timeout_s=args.timeout_s, seed=args.seed, config_path=args.config,
                workload=_workload(args.config), runs=runs, budget=budget_from_args(args))


_STARTED = time.monotonic()


def progress(line: str) -> None:
    """One line on stderr, with the seconds since the command started (none with --quiet)."""
    from qhil.progress import is_quiet

    if is_quiet():
        return
    print(f"compare: [{time.monotonic() - _STARTED:7.1f} s] {line}", file=sys.stderr, flush=True)


def _quantum_table(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    quantum = load_toml(path).get("quantum", {})
    if not isinstance(quantum, dict):
        raise ConfigError(f"{path}: [quantum] must be a table")
    for key in ("qubits", "layers", "shots"):
        value = quantum.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ConfigError(f"{path}: quantum.{key} must be a positive integer, got {value!r}")
    return quantum


def _workload(path: Path | None):
    if path is None:
        return None
    from qhil.cost import Workload

    return Workload.from_train_config(path)


def _circuit(path: str | None, batch: int):
    """The user's circuit probe; its exact reference is a complex128 state vector per row."""
    if path is None:
        return None
    from qhil.commands._circuit import load_template
    from qhil.guards import check_simulator_memory

    circuit = load_template(path)
    check_simulator_memory(circuit.n_qubits, batch, "complex128",
                           f"--circuit {path}: the exact reference of its {batch} probe circuits")
    return circuit


def _check_out(out: Path, force: bool) -> None:
    from qhil.paths import check_out_dir

    check_out_dir(out, "--out")
    kept = [name for name in REPORT_FILES if (out / name).exists()]
    if kept and not force:
        raise ConfigError(f"--out {out} already holds a report ({', '.join(kept)}); pass another "
                          f"--out, or --force to replace it")


REPORT_FILES = ("report.json", "report.md", "report.html")


def _check_memory(size) -> None:
    """The exact reference of the probes is a complex128 state vector per circuit."""
    from qhil.guards import check_simulator_memory

    check_simulator_memory(size.n_qubits, size.batch, "complex128",
                           "the probes' exact reference distributions")


def _consent(plan: ComparisonPlan, probes: list, yes: bool):
    """The probes' spend on every usable provider, checked against the budget and agreed to
    before the first job is sent (the spending road); None when no provider is usable."""
    from qhil.execution.consent import agree
    from qhil.execution.registry import availability
    from qhil.execution.spend import request_spend

    usable = [profile for profile in plan.profiles if availability(profile).usable]
    spends = [request_spend("the comparison probes", profile, [p.request for p in probes],
                            plan.repeats) for profile in usable]
    if not spends:
        return None
    return agree(usable, sum(spends[1:], spends[0]), plan.budget, yes=yes, budget_required=False)
