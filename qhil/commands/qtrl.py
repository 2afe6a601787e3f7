"""`qhil qtrl`: Quantum-Train policies trained by N agents on torch.distributed (Dist-QTRL).

Run folder: config.toml, metrics.jsonl (also as TensorBoard events and metrics.csv), summary.json, checkpoints/latest.pt, returns.png, agents/.
Multi-node: torchrun --nnodes M --nproc-per-node P --rdzv-backend c10d --rdzv-endpoint HOST:PORT
-m qhil qtrl --agents M*P ... (every node with the same arguments). Agent 0 writes the run
folder; `--resume` across nodes needs DIR on a filesystem every node sees.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from qhil.commands._args import (
    add_provider_flags,
    lazy_choice,
    non_negative_int,
    positive_float,
    positive_int,
)
from qhil.commands._budget import add_budget_flags, budget_from_args
from qhil.config import find_profile
from qhil.errors import ConfigError, RunInterruptedError
from qhil.qtrl.config import QTRLConfig

if TYPE_CHECKING:  # torch, gymnasium and the SDKs load in run(), not for `qhil qtrl --help`
    from qhil.execution.budget import BudgetState
    from qhil.qtrl.runfolder import QTRLRunFolder
    from qhil.qtrl.summary import QTRLSummary


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("qtrl")
    p.add_argument("--env", type=lazy_choice("qhil.qtrl.envs", "ENVS"), metavar="ENV",
                   help="Environment, a MiniGrid id (default MiniGrid-Empty-5x5-v0).")
    p.add_argument("--agents", type=positive_int, help="Agents N, one process each (default 1).")
    p.add_argument("--blocks", type=positive_int, help="U3-plus-entangler blocks L (default 3).")
    p.add_argument("--entangler", choices=["cu3", "cz"],
                   help="cu3 (default): the paper's ring of controlled-U3 gates; cz: a CZ ring.")
    p.add_argument("--episodes", type=positive_int, help="Episodes per agent (default 200).")
    p.add_argument("--policy", choices=["qt", "classical"], help="qt (default) or the classical baseline.")
    add_provider_flags(p, None, "Estimate p_i from shots on this provider profile "
                       "(default: none, exact p_i).")
    p.add_argument("--shots", type=positive_int, help="Shots per p_i estimate (default 10000).")
    p.add_argument("--lr", type=positive_float, help="Adam learning rate (default 0.003).")
    p.add_argument("--seed", type=non_negative_int, help="Seed (default 0).")
    p.add_argument("--checkpoint-every", type=positive_int,
                   help="Episodes between checkpoints (default 10).")
    p.add_argument("--timeout-s", type=positive_float, help="Collective timeout (default 120).")
    p.add_argument("--backend", choices=["auto", "gloo", "nccl"],
                   help="torch.distributed backend (default auto: nccl with CUDA, else gloo).")
    p.add_argument("--out", help="Run folder to create, new or empty (default: none; --out or "
                   "--resume is required).")
    p.add_argument("--resume", metavar="DIR",
                   help="Continue the run in DIR from its checkpoint (default: none, a new run).")
    p.add_argument("--json", dest="as_json", action="store_true", help="Print summary.json.")
    add_budget_flags(p)
    p.add_argument("--stop-at-budget", action="store_true",
                   help="Start even when the budget pays for only part of the run: every agent "
                   "stops cleanly at the budget (exit 3), --resume continues (default: refused "
                   "before any agent starts).")
    p.add_argument("--force", action="store_true",
                   help="Start more agents than this machine's cores run well (never more than "
                   "its memory holds) (default: refused).")
    p.set_defaults(func=run)


FLAGS = ["env", "agents", "blocks", "entangler", "episodes", "policy", "provider", "shots", "lr", "seed",
         "checkpoint_every", "timeout_s", "backend"]


def run(args: argparse.Namespace) -> int:
    from qhil.guards import check_agents

    if args.agents is not None and not _torchrun_env():
        check_agents(args.agents, args.force)  # before torch loads: refused at once
    from qhil.qtrl.launch import under_torchrun
    from qhil.runlock import claim

    rank0 = not under_torchrun() or os.environ.get("RANK", "0") == "0"
    with claim(args.resume if rank0 else None, "qhil qtrl --resume"):  # one writer per folder
        folder, config = _prepare(args, rank0)
        if not under_torchrun():
            check_agents(config.agents, args.force)
        if args.resume is not None and _finished(folder, config):
            return 0
        _check(config)
        limits = _limits(args)
        _check_budget(config, limits, folder, args, rank0)
        if rank0 and args.resume is None:
            folder.create(config)
        with claim(folder.root if rank0 else None, "qhil qtrl"):
            return _train(args, config, folder, limits, rank0)


def _train(args: argparse.Namespace, config: QTRLConfig, folder: QTRLRunFolder,
           limits: BudgetState | None, rank0: bool) -> int:
    """The agents, then (agent 0's process) the plot, csv and summary."""
    from qhil.qtrl.launch import run_agents
    from qhil.qtrl.summary import build_summary

    if rank0 and args.resume is not None:
        state = folder.load_checkpoint()
        folder.truncate_metrics(state["episode"] if state else 0)
    run_agents(config, folder, limits)
    if not rank0:
        return 0
    folder.plot(f"{config.env}: {config.policy} L={config.blocks}, {config.agents} agents")
    folder.export_csv()
    summary = build_summary(config, folder)
    folder.write_json(folder.summary_path, summary.to_json())
    print(json.dumps(summary.to_json()) if args.as_json else _line(summary))
    if summary["stopped"]:
        raise RunInterruptedError(
            f"{summary['stopped']} of {config.episodes}; checkpoint at episode "
            f"{summary['episodes']} in {folder.checkpoint.parent}; to go on, raise the budget: "
            f"qhil qtrl --resume {folder.root} --budget-shots/--budget-usd/--budget-jobs ...")
    return 0


def _torchrun_env() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ or {"RANK", "WORLD_SIZE"} <= set(os.environ)


def _finished(folder: QTRLRunFolder, config: QTRLConfig) -> bool:
    """A run that already trained every episode is reported and left alone."""
    import sys

    try:
        summary = json.loads(folder.summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    done = summary.get("episodes") if isinstance(summary, dict) else None
    if not isinstance(done, int) or summary.get("stopped") or done < config.episodes:
        return False
    print(f"qhil: {folder.root} already finished ({done} of {config.episodes} episodes); nothing "
          f"was sent; to train further: qhil qtrl --resume {folder.root} --episodes N with "
          f"N > {done}", file=sys.stderr)
    return True


def _prepare(args: argparse.Namespace, rank0: bool) -> tuple[QTRLRunFolder, QTRLConfig]:
    from qhil.qtrl.runfolder import QTRLRunFolder

    given = {k: getattr(args, k) for k in FLAGS if getattr(args, k) is not None}
    if args.resume is not None:
        if args.out is not None:
            raise ConfigError("give either --out DIR (new run) or --resume DIR, not both")
        folder = QTRLRunFolder(args.resume)
        base = folder.read_config().model_dump()
        fixed = {k: v for k, v in given.items() if k != "episodes" and base.get(k) != v}
        if fixed:
            raise ConfigError(f"--resume keeps the run's settings; only --episodes may change "
                              f"(got --{next(iter(fixed)).replace('_', '-')})")
        from qhil.commands._resume import check_steps

        done = _check_checkpoint(folder)
        check_steps("--episodes", given.get("episodes", base["episodes"]), done, folder.root,
                    "qtrl")
        return folder, QTRLConfig(**{**base, **given})
    if args.out is None:
        raise ConfigError("--out DIR is required: the run folder to create (or --resume DIR)")
    out = Path(args.out)
    if rank0 and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out {out} exists and is not empty; choose a new folder or --resume it")
    if rank0:
        from qhil.paths import check_new_run_dir

        check_new_run_dir(out, "--out")
    return QTRLRunFolder(out), QTRLConfig(**given)


def _check_checkpoint(folder: QTRLRunFolder) -> int:
    """A resume reads the checkpoint and the ledger: both must be sound before anything runs.
    Returns the episodes the checkpoint holds."""
    from qhil.commands._resume import check_checkpoint
    from qhil.paths import check_ledger_file

    if (folder.root / "ledger.sqlite").exists():
        check_ledger_file(folder.root / "ledger.sqlite", "the run's ledger")
    if not folder.checkpoint.exists():
        return 0
    return int(check_checkpoint(folder.checkpoint, folder.root, "qtrl").get("episode", 0))


def _check(config: QTRLConfig) -> None:
    """Everything that can be wrong, before any process starts or a shot is spent."""
    from qhil.execution.registry import availability
    from qhil.qtrl.envs import make_env
    from qhil.qtrl.generator import QTGenerator

    make_env(config.env).close()
    if config.provider is not None:
        if config.policy != "qt":
            raise ConfigError("--provider needs --policy qt (the classical policy has no PQC)")
        profile = find_profile(config.provider)
        status = availability(profile)
        if not status.usable:
            raise ConfigError(f"provider '{config.provider}' is not usable here: {status.reason}")
        from qhil.execution.reach import require_reachable

        require_reachable(profile)
        qubits = QTGenerator.qubits_for(_weights(config))
        if qubits > profile.limits.max_qubits:
            raise ConfigError(f"the QT circuit needs {qubits} qubits; '{profile.name}' has "
                              f"{profile.limits.max_qubits}")
        if not profile.limits.min_shots <= config.shots <= profile.limits.max_shots:
            raise ConfigError(f"--shots {config.shots} is outside '{profile.name}' range "
                              f"{profile.limits.min_shots}..{profile.limits.max_shots}")


def _limits(args: argparse.Namespace) -> BudgetState | None:
    budget = budget_from_args(args)
    return None if budget is None else budget.limit


def _check_budget(config: QTRLConfig, limits: BudgetState | None, folder: QTRLRunFolder,
                  args: argparse.Namespace, rank0: bool) -> None:
    """With --provider every agent sends one job per episode: before any process starts, the
    rest of the run's spend is checked against the budget (the limits cover the whole run
    folder; `--stop-at-budget` only needs one episode paid) and, on a device that bills, agreed
    to; during the run a budget stops every agent at the same episode."""
    if config.provider is None:
        return
    from qhil.execution.consent import agree
    from qhil.execution.pricing import profile_bills
    from qhil.execution.registry import get_provider
    from qhil.execution.spend import Spend
    from qhil.qtrl.agent import build_model
    from qhil.qtrl.spending import JobCost, refuse_if_unaffordable, remaining, spent_in

    profile = find_profile(config.provider)
    with get_provider(config.provider) as provider:
        cost = JobCost.of(provider, build_model(config)[1], config.shots)
    left = None if limits is None else remaining(limits, spent_in(folder.root, profile.name))
    if left is not None:
        refuse_if_unaffordable(left, cost, config.agents)
    jobs = config.agents * (config.episodes - _episodes_done(folder))
    spend = Spend(f"{jobs // config.agents} episodes x {config.agents} agents", (profile.name,),
                  profile_bills(profile), jobs * cost.tasks,
                  jobs * cost.shots, jobs * cost.cost_usd)
    if rank0:  # the agents open their Dispatchers under this agreement (qtrl/spending.py)
        agree(profile, spend, None if args.stop_at_budget else left, yes=args.yes,
              budget_required=False)


def _episodes_done(folder: QTRLRunFolder) -> int:
    if not folder.checkpoint.is_file():
        return 0
    state = folder.load_checkpoint()
    return int(state.get("episode", 0)) if state else 0


def _weights(config: QTRLConfig) -> int:
    from qhil.qtrl.agent import build_model

    return build_model(config)[0].n_weights


def _line(s: QTRLSummary) -> str:
    return (f"{s['env']} {s['policy']} L={s['blocks']} agents={s['agents']}: "
            f"{s['episodes']} episodes/agent, final return {s['final_return_mean']:.3f}, "
            f"{s['trainable_parameters']} trainable vs {s['policy_parameters']} policy parameters, "
            f"{s['hw']['shots']} shots (${s['hw']['cost_usd']:.2f}), {s['wall_s']:.1f} s")
