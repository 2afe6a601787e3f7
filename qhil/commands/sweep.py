"""`qhil sweep`: a grid (or search) of training runs over seeds, scheduled by Ray Tune.

    qhil sweep --config X --seeds 0-4 --grid block=pqc,fc --out sweeps/NAME [--address auto|HOST:PORT]
    qhil sweep --config X --search optuna --samples 8 --param "qtdnn.lr=loguniform(1e-4,1e-2)" ...
    qhil sweep --resume sweeps/NAME

Every trial is an ordinary run folder under sweeps/NAME/runs/. Before the first trial: the whole
sweep's estimate, its budget check and one consent; the budget is split into per-trial shares
that add up to at most --budget-*. Needs the optional extra qhil[ray].
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qhil.commands._args import non_negative_float, positive_float, positive_int
from qhil.commands._budget import add_budget_flags, budget_from_args
from qhil.errors import ConfigError
from qhil.runlock import claim
from qhil.sweep.cluster import address
from qhil.sweep.spec import SEARCHES, grid_axis, param, seed_list

NEW_ONLY = ("config", "seeds", "grid", "param", "search", "samples", "max_concurrent",
            "cpus_per_trial", "gpus_per_trial", "budget_shots", "budget_usd", "budget_jobs")
DEFAULTS = {"seeds": [0], "search": "grid", "samples": 1}  # of NEW_ONLY; the rest None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep")
    p.add_argument("--config", help="The training config (.toml) every trial starts from "
                   "(default: none; required for a new sweep).")
    p.add_argument("--seeds", type=seed_list, default=DEFAULTS["seeds"], help="Seeds of every cell: 0-4, 0,2,7 or 3 "
                   "(default: 0).")
    p.add_argument("--grid", type=grid_axis, action="append", metavar="KEY=V1,V2",
                   help="A config key and its values, e.g. block=pqc,fc or quantum.gradient=qtdnn,exact; "
                   "repeat for more keys (default: none, one cell).")
    p.add_argument("--search", choices=SEARCHES, default=DEFAULTS["search"],
                   help="grid: every combination; random: --samples points drawn from the --param "
                   "distributions; optuna: --samples suggestions maximising the evaluation return.")
    p.add_argument("--samples", type=positive_int, default=DEFAULTS["samples"],
                   help="Points (random) or suggestions (optuna), each run once per seed.")
    p.add_argument("--param", type=param, action="append", metavar="KEY=KIND(ARGS)",
                   help="A searched key: uniform(a,b), loguniform(a,b), randint(a,b) or "
                   "choice(x,y), e.g. 'qtdnn.lr=loguniform(1e-4,1e-2)' (default: none).")
    p.add_argument("--out", help="The sweep folder to create (default: none; --out or --resume).")
    p.add_argument("--resume", metavar="DIR", help="Continue the sweep in DIR: finished trials "
                   "are kept, interrupted ones continue their run folders (default: none).")
    p.add_argument("--address", type=address, help="Join a running Ray cluster: auto or "
                   "HOST:PORT of 'ray start --head' (default: none, a local cluster on this "
                   "machine, stopped after).")
    p.add_argument("--max-concurrent", type=positive_int,
                   help="Most trials at once (default: as many as the cluster's resources fit).")
    p.add_argument("--cpus-per-trial", type=positive_float, help="CPUs Ray reserves per trial, "
                   "fractions allowed (default: the config's loop.learner_threads, else 1).")
    p.add_argument("--gpus-per-trial", type=non_negative_float, help="GPUs Ray reserves per "
                   "trial (default: 1 when the config's loop.device is cuda, else 0).")
    add_budget_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qhil.sweep.cluster import require_tune

    require_tune()
    if args.resume and args.out:
        raise ConfigError("pass either --out DIR (a new sweep) or --resume DIR, not both")
    if not args.resume and not args.out:
        raise ConfigError("pass --out DIR for a new sweep (or --resume DIR to continue one)")
    return resume(args) if args.resume else start(args)


def start(args: argparse.Namespace) -> int:
    """A new sweep: everything checked and priced before Ray starts or a file is written."""
    from qhil.sweep.runner import run_sweep

    folder = new_folder(args.out)
    plan = new_plan(args)
    return run_sweep(folder, plan, args.address, budget_from_args(args), yes=args.yes, resume=False)


def new_folder(out: str):
    from qhil.paths import check_out_dir
    from qhil.sweep.plan import SweepFolder

    folder = SweepFolder(check_out_dir(out))
    if folder.path.exists() and any(folder.path.iterdir()):
        raise ConfigError(f"{out} is not empty; continue a sweep there with 'qhil sweep --resume "
                          f"{out}', or pick another --out")
    return folder


def new_plan(args: argparse.Namespace):
    """The SweepSpec the flags ask for, made into a checked plan (nothing written)."""
    from qhil.rl.config import load_train_config
    from qhil.sweep.plan import SweepSpec
    from qhil.sweep.setup import make_plan, with_absolute_provider

    if not args.config:
        raise ConfigError("pass --config FILE.toml: the training config every trial starts from")
    base = with_absolute_provider(load_train_config(args.config))
    budget = budget_from_args(args)
    return make_plan(SweepSpec(
        base=base, seeds=args.seeds, grid=args.grid or [], params=args.param or [],
        search=args.search, samples=args.samples, max_concurrent=args.max_concurrent,
        cpus_per_trial=args.cpus_per_trial or float(base.loop.learner_threads or 1),
        gpus_per_trial=_gpus(args, base), budget=budget.limit if budget else None))


def _gpus(args: argparse.Namespace, base) -> float:
    if args.gpus_per_trial is not None:
        return args.gpus_per_trial
    return 1.0 if base.loop.device == "cuda" else 0.0


def resume(args: argparse.Namespace) -> int:
    from qhil.sweep.plan import SweepFolder
    from qhil.sweep.runner import run_sweep

    given = [f"--{name.replace('_', '-')}" for name in NEW_ONLY
             if getattr(args, name) != DEFAULTS.get(name)]
    if given:
        raise ConfigError(f"--resume continues the sweep as its sweep.json says; drop "
                          f"{', '.join(given)}")
    folder = SweepFolder(Path(args.resume))
    with claim(folder.path if folder.path.is_dir() else None, "qhil sweep --resume"):
        plan = folder.read_plan()  # one writer per sweep folder, claimed before any read
        return run_sweep(folder, plan, args.address, _budget(plan), yes=args.yes, resume=True)


def _budget(plan):
    from qhil.execution.budget import Budget

    b = plan.spec.budget
    return None if b is None else Budget(shots=b.shots, usd=b.cost_usd, jobs=b.jobs)
