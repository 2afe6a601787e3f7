"""`qhil train`: hDQNN-TD3 with the quantum layer on a provider; `--resume DIR` continues a run."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from qhil.commands._args import add_provider_flags, non_negative_int, positive_int
from qhil.commands._budget import add_budget_flags, budget_from_args
from qhil.commands.sample import announce_dry_run
from qhil.errors import ConfigError, ProviderError
from qhil.names import GRADIENTS
from qhil.paths import check_new_run_dir
from qhil.rl.config import BLOCKS, PRIORS, TrainConfig, load_train_config

if TYPE_CHECKING:  # torch and the vendor SDKs are imported by run(), not by `qhil train --help`
    from qhil.execution.consent import Agreement
    from qhil.quantum.request import SamplingRequest
    from qhil.rl.rundir import RunFolder
    from qhil.rl.summary import RunSummary

DEFAULTS = TrainConfig()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train")
    d = DEFAULTS
    p.add_argument("--config", help="Training config .toml (see configs/); flags override it "
                   "(default: none, the built-in config whose values the flags below show).")
    p.add_argument("--env", help=f"gymnasium environment id (default {d.env}).")
    add_provider_flags(p, None, f"Provider profile name or .toml path (default {d.provider}).")
    p.add_argument("--block", choices=BLOCKS, help=f"T-block: pqc, fc, rbg or zeros (default {d.block}).")
    p.add_argument("--steps", type=positive_int, help=f"Total environment steps (default {d.steps:,}).")
    p.add_argument("--num-envs", type=positive_int,
                   help=f"Vector environments, one job per step (default {d.num_envs}).")
    p.add_argument("--shots", type=positive_int, help=f"Shots per circuit (default {d.quantum.shots}).")
    p.add_argument("--gradient", choices=GRADIENTS,
                   help="How the actor's gradient crosses the PQC: the qtDNN surrogate, "
                   "parameter-shift or spsa circuits on the provider, or exact (simulator "
                   f"providers only) (default {d.quantum.gradient}).")
    p.add_argument("--prior", choices=PRIORS,
                   help="The qtDNN surrogate: mean-field (the circuit's mean-field simulation "
                   "plus a learned residual) or none (the black-box MLP: the paper's qtDNN with "
                   f"the built-in [qtdnn] settings) (default {d.qtdnn.prior}).")
    p.add_argument("--explorers", type=positive_int,
                   help="Explorer actors on Ray feeding one learner, each with its own "
                   "environments and ledger (needs qhil[ray]; default "
                   f"{d.distributed.explorers}: the single-process loop).")
    p.add_argument("--seed", type=non_negative_int, help=f"Seed of everything (default {d.seed}).")
    p.add_argument("--mode", choices=("async", "sync"), help=f"Loop: async (explorer and learner "
                   f"threads overlap; not bit-reproducible) or sync (default {d.loop.mode}).")
    p.add_argument("--deterministic", action="store_true",
                   help="Reproduce exactly: the same config and seed give the same run, metrics "
                   "and returns (the sync loop; same as --mode sync; default: off, the config's mode).")
    p.add_argument("--out", help="Run folder to create (default: none; --out or --resume is required).")
    p.add_argument("--resume", metavar="DIR",
                   help="Continue the run in DIR from its checkpoint (default: none, a new run).")
    p.add_argument("--json", dest="as_json", action="store_true", help="Print the summary as JSON.")
    add_budget_flags(p)
    p.add_argument("--stop-at-budget", action="store_true",
                   help="Start even when the budget pays for only part of the run: it stops "
                   "cleanly at the budget (exit 3) and --resume continues it (default: a run "
                   "whose estimate exceeds the budget is refused before it starts).")
    p.set_defaults(func=run)


def config_and_folder(args: argparse.Namespace) -> tuple[TrainConfig, RunFolder, bool]:
    """The config (file, then flags) and the run folder; a bad combination is a ConfigError."""
    from qhil.rl.rundir import RunFolder

    if args.resume and args.out:
        raise ConfigError("pass either --out DIR (a new run) or --resume DIR, not both")
    if not args.resume and not args.out:
        raise ConfigError("pass --out DIR for a new run (or --resume DIR to continue one)")
    if args.deterministic and args.mode == "async":
        raise ConfigError("--deterministic runs the sync loop; drop --mode async")
    folder = RunFolder(args.resume or args.out)
    if args.resume:
        if args.config:
            raise ConfigError("--resume uses the run's own config.toml; drop --config")
        refuse_qtrl_run(folder, f"continue it with 'qhil qtrl --resume {folder.path}'")
        base = folder.load_config()
    else:
        base = load_train_config(args.config) if args.config else TrainConfig()
    config = base.with_overrides(**{
        "env": args.env, "provider": args.provider, "block": args.block, "steps": args.steps,
        "num_envs": args.num_envs, "quantum.shots": args.shots, "seed": args.seed,
        "quantum.gradient": args.gradient, "qtdnn.prior": args.prior,
        "distributed.explorers": args.explorers,
        "loop.mode": "sync" if args.deterministic else args.mode})
    if args.resume:
        _check_resume(base, config, folder)
    else:
        check_new_run_dir(folder.path, "--out")
        _refuse_foreign_folder(folder)
    return config, folder, bool(args.resume)


def _refuse_foreign_folder(folder: RunFolder) -> None:
    """--out is a new folder, an empty one, or a run (which `create` refers to --resume): never
    a folder of other files, which the run's would land among."""
    path = folder.path
    if not path.is_dir() or folder.config_path.exists():
        return
    entries = sorted(p.name for p in path.iterdir())
    if entries:
        raise ConfigError(f"--out {path} is a folder of other files ({len(entries)}, e.g. "
                          f"{entries[0]}), not a run; pass a new or empty folder")


def refuse_qtrl_run(folder: RunFolder, advice: str) -> None:
    """A `qhil qtrl` run folder (its config.toml has `episodes`) where a train run is read."""
    from qhil.config import load_toml

    if folder.config_path.is_file() and "episodes" in load_toml(folder.config_path):
        raise ConfigError(f"{folder.path} is a `qhil qtrl` run, not a train run; {advice}")


def _check_resume(base: TrainConfig, config: TrainConfig, folder: RunFolder) -> None:
    from qhil.commands._resume import check_steps, finished_steps

    fixed = ("env", "block", "num_envs", "seed", "quantum", "network", "qtdnn", "distributed")
    changed = [k for k in fixed if getattr(base, k) != getattr(config, k)]
    if changed:
        raise ConfigError(f"--resume cannot change {', '.join(changed)}; start a new run with --out")
    finished = finished_steps(folder.path)
    if finished is not None:
        check_steps("--steps", config.steps, finished, folder.path, "train")
    if finished is None or finished < config.steps:
        check_steps("--steps", config.steps, _progress(folder, config), folder.path, "train")
        _check_sizes(config, folder)


def _check_sizes(config: TrainConfig, folder: RunFolder) -> None:
    """The networks config.toml describes must fit the checkpoint's: a `qubits` (or layer,
    network) edit made after the run would otherwise end in a torch size-mismatch traceback."""
    state = folder.load_checkpoint()
    if state is None:
        return
    expected = _fresh_networks(config)
    for name, tensors in expected.items():
        for key, tensor in tensors.items():
            saved = state["td3"].get(name, {}).get(key)
            if saved is not None and tuple(saved.shape) != tuple(tensor.shape):
                raise ConfigError(
                    f"{folder.config_path} does not fit the run's checkpoint ({name}.{key} is "
                    f"{tuple(saved.shape)} there, {tuple(tensor.shape)} by config.toml): was it "
                    f"edited after the run? Restore its sizes (qubits, layers, networks) or start "
                    f"a new run with --out")


def _fresh_networks(config: TrainConfig) -> dict:
    """The state dicts of the actor and critics `config` builds (the global RNG left as it was)."""
    import torch

    from qhil.rl.learner import build_td3
    from qhil.rl.run import env_dims

    with torch.random.fork_rng(devices=[]):
        td3 = build_td3(config, *env_dims(config.env), torch.device("cpu"))
    return {name: getattr(td3, name).state_dict() for name in ("actor", "qf1", "qf2")}


def _progress(folder: RunFolder, config: TrainConfig) -> int:
    """Steps the run already did: its journal's (a damaged journal or ledger is refused); a run
    from before the journal has only its checkpoint (latest.pt), which must then be readable."""
    from qhil.commands._resume import check_run_files
    from qhil.paths import check_ledger_file
    from qhil.rl.journal import stored_transitions

    done = stored_transitions(folder.journal_path, config.num_envs)
    if done is not None:
        if (folder.path / "ledger.sqlite").exists():
            check_ledger_file(folder.path / "ledger.sqlite", "the run's ledger")
        _check_checkpoint_safe(folder)
        return done
    if (folder.checkpoints / "latest.pt").exists():
        state = check_run_files(folder.path, folder.checkpoints / "latest.pt", "train")
        return int(state.get("transitions", 0))
    return 0  # killed before its first step: nothing to go on from


def _check_checkpoint_safe(folder: RunFolder) -> None:
    """The checkpoint the resume will load, read now (safely: a file holding pickled objects is
    refused with how to convert it), before anything is written or bought."""
    from qhil.rl.checkpoints import CheckpointStore

    CheckpointStore(folder.checkpoints, warn=lambda line: None).load()  # restore() warns


def run(args: argparse.Namespace) -> int:
    from qhil.runlock import claim

    with claim(args.resume, "qhil train --resume"):  # one writer per run folder, before any read
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from qhil.config import find_profile
    from qhil.execution.reach import require_reachable
    from qhil.execution.registry import get_provider
    from qhil.rl.progress import ProgressPrinter
    from qhil.rl.run import check_gradient

    config, folder, resume = config_and_folder(args)
    if distributed(config):
        from qhil.distributed.cluster import check_distributed

        check_distributed(config)  # exit 2 (e.g. naming qhil[ray]) before anything is asked or written
    if resume and _finished(config, folder):
        return 0
    # the provider first (a retired or unusable one is refused before the cost question), then
    # the service's free dry run, then the estimate and consent; nothing is spent before that
    check_gradient(config, find_profile(config.provider))  # before any provider, estimate or spend
    with get_provider(config.provider) as provider:
        if config.block == "pqc":
            require_reachable(provider.profile)  # before the run folder exists
            announce_dry_run(provider.dry_run(first_batch(config)))
        agreement = confirm_cost(config, provider, args)
        progress = ProgressPrinter()
        existed = folder.path.exists()
        try:
            summary = trainer(config)(config, folder, provider, resume=resume,
                                      progress=progress, budget=budget_from_args(args),
                                      agreement=agreement)
        except ProviderError:
            if not resume and not existed:
                remove_unpaid_run(folder.path)
            raise
        finally:
            progress.close()
    print(json.dumps(summary.to_json(), indent=2) if args.as_json else describe(summary, folder))
    return 0


def distributed(config: TrainConfig) -> bool:
    """Explorer actors on Ray ([distributed] explorers > 1, or providers named)?"""
    return config.distributed.explorers > 1 or bool(config.distributed.providers)


def trainer(config: TrainConfig):
    """The single-process run, or the distributed one (qhil.distributed)."""
    if distributed(config):
        from qhil.distributed.run import train_distributed

        return train_distributed
    from qhil.rl.run import run_training

    return run_training


def remove_unpaid_run(path) -> None:
    """A new run that failed at the provider before any job was paid leaves no folder behind
    (it would block the same --out); one with paid jobs in any ledger (a distributed run's
    explorers keep their own) is kept for --resume."""
    import shutil

    from qhil.execution.ledger import Ledger

    for ledger in path.glob("ledger*.sqlite"):
        with Ledger(ledger) as book:
            if book.totals().jobs:
                return
    shutil.rmtree(path, ignore_errors=True)


def _finished(config: TrainConfig, folder: RunFolder) -> bool:
    """A finished run is reported and left alone: nothing is sent or rewritten."""
    import sys

    from qhil.commands._resume import finished_steps

    done = finished_steps(folder.path)
    if done is None or done < config.steps:
        return False
    print(f"qhil: {folder.path} already finished ({done:,} of {config.steps:,} steps, summary.json "
          f"written); nothing was sent; to train further: qhil train --resume {folder.path} "
          f"--steps N with N > {done}", file=sys.stderr)
    return True


def confirm_cost(config: TrainConfig, provider, args: argparse.Namespace) -> Agreement:
    """Before anything is written or spent: the run's estimate by its own gradient method,
    refused when it exceeds the budget on any provider (exit 2; `--stop-at-budget` lets it start
    and stop cleanly there instead), and on a device that bills printed and asked about (`--yes`
    skips the question)."""
    from qhil.cost import train_spend
    from qhil.execution.consent import agree

    budget = None if args.stop_at_budget else budget_from_args(args)
    return agree(provider, train_spend(config, provider.profile), budget, yes=args.yes,
                 budget_required=False)


def first_batch(config: TrainConfig) -> SamplingRequest:
    """A batch shaped like one exploration step's (num_envs circuits of the run's PQC), for the
    service's dry run: random controls, since the policy has not acted yet."""
    import numpy as np

    from qhil.quantum.ansatz import HDQNNAnsatz

    q = config.quantum
    ansatz = HDQNNAnsatz(q.qubits, q.layers, q.entangler)
    controls = ansatz.random_controls(config.num_envs, np.random.default_rng(config.seed))
    return ansatz.request(controls, shots=q.shots, seed=config.seed)


def describe(s: RunSummary, folder: RunFolder) -> str:
    hw = s.hw
    lat = "-" if hw.latency_p50_s is None else f"{hw.latency_p50_s * 1e3:.1f} ms"
    evaluation = ("no final evaluation (eval.final = false)" if s.eval_return_mean is None else
                  f"evaluation return {s.eval_return_mean:.1f} +/- {s.eval_return_std:.1f} "
                  f"over {len(s.eval_returns)} episodes")
    return "\n".join([
        f"{s.env}  block {s.block}  provider {s.provider}  seed {s.seed}",
        f"{s.steps} steps, {s.updates} updates in {s.wall_s:.1f} s",
        evaluation,
        f"hardware: {hw.jobs} jobs, {hw.circuits} circuits, {hw.shots} shots, "
        f"${hw.cost_usd:.2f}, latency p50 {lat}",
        f"learner waited {_pct(s.learner_wait_fraction)} of learning time; "
        f"envs waited {_pct(s.env_wait_fraction)}; QPU idle {_pct(s.qpu_idle_fraction)}",
        *fidelity_lines(s),
        *explorer_lines(s),
        mode_line(s),
        *[f"warning: {w}" for w in s.warnings],
        f"run folder {folder.path} (summary.json, metrics.jsonl, returns.png, latency.png, "
        f"events.out.tfevents.* for TensorBoard, metrics.csv)",
    ])


def explorer_lines(s: RunSummary) -> list[str]:
    """A distributed run's explorers: steps, jobs, latency and policy lag of each."""
    lines = []
    bound = "" if s.policy_lag_bound is None else f" (bound {s.policy_lag_bound})"
    for e in s.explorers:
        lat = "-" if e.latency_p50_s is None else f"{e.latency_p50_s * 1e3:.1f} ms"
        lag = "-" if e.policy_lag_p50 is None else \
            f"{e.policy_lag_p50:.0f} / {e.policy_lag_p95:.0f} / {e.policy_lag_max or 0:.0f} updates"
        lines.append(f"explorer {e.explorer} on {e.provider}: {e.steps} steps, "
                     f"{e.jobs} jobs, latency p50 {lat}, policy lag p50 / p95 / max {lag}{bound}")
    return lines


def mode_line(s: RunSummary) -> str:
    if s.mode == "sync" and s.reproducible:
        return "mode: sync (deterministic: the same config and seed reproduce this run exactly)"
    if s.mode == "sync":
        return ("mode: sync, with periodic evaluations beside the loop (eval.every_steps): they "
                "share the job seeds, so reruns differ slightly; every_steps = 0 reproduces exactly")
    return ("mode: async (explorer and learner threads: the same seed gives slightly different "
            "returns; --deterministic reproduces a run exactly)")


def fidelity_lines(s: RunSummary) -> list[str]:
    """The gradient method and, for every method but exact, how well its gradient matched."""
    if s.block != "pqc":
        return []
    head = f"gradient: {s.gradient}"
    if s.surrogate_grad_cosine is None:
        return [head + ("" if s.gradient == "exact" else " (no fidelity check ran)")]
    ref = "shadow estimate: ideal simulator at the same controls" \
        if s.fidelity_reference == "shadow" else "exact simulator"
    return [f"{head}; vs the {ref}, median of the second half of {s.fidelity_checks} checks: "
            f"PreDNN-gradient cosine {s.surrogate_grad_cosine:.3f}, relative error "
            f"{s.surrogate_grad_rel_error:.3f}; Jacobian cosine {s.surrogate_jacobian_cosine:.3f}"
            + ("" if s.surrogate_pqc_grad_cosine is None else
               f"; through the PQC alone {s.surrogate_pqc_grad_cosine:.3f}")]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"
