"""`qhil evaluate DIR`: the trained policy of a run folder, deterministic, quantum layer on a provider."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal

from qhil.commands._args import add_provider_flags, non_negative_int, positive_int
from qhil.commands._budget import add_budget_flags, budget_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate")
    p.add_argument("run_dir", metavar="DIR", help="Run folder written by `qhil train --out DIR`.")
    p.add_argument("--episodes", type=positive_int, help="Episodes (default: the run's eval.episodes).")
    add_provider_flags(p, None, "Provider to run the quantum layer on (default: the run's).")
    p.add_argument("--seed", type=non_negative_int, default=None, help="Environment seed (default: run seed + 20000).")
    p.add_argument("--json", dest="as_json", action="store_true", help="Print one JSON object.")
    add_budget_flags(p)
    p.set_defaults(func=run)


EVALUATIONS = "evaluations"  # DIR/evaluations/: the evaluations' own ledger and one line each


def run(args: argparse.Namespace) -> int:
    from qhil.runlock import claim

    with claim(args.run_dir, "qhil evaluate"):  # it writes DIR/evaluations: one writer at a time
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    from qhil.commands._resume import check_checkpoint
    from qhil.commands.train import refuse_qtrl_run
    from qhil.execution.registry import get_provider
    from qhil.rl.explorer import evaluate
    from qhil.rl.learner import build_td3
    from qhil.rl.metrics import ledger_totals
    from qhil.rl.run import env_dims, pick_device, validate_run
    from qhil.rl.rundir import RunFolder
    from qhil.rl.sampler import HardwareSampler

    folder = RunFolder(args.run_dir)
    refuse_qtrl_run(folder, "qhil evaluate reads `qhil train` runs; a qtrl run's evaluation "
                    "returns are in its summary.json and metrics.csv")
    config = folder.load_config().with_overrides(provider=args.provider)
    episodes = args.episodes or config.eval.episodes
    if not folder.store.folders():  # a run from before atomic checkpoints: latest.pt
        check_checkpoint(folder.checkpoints / "latest.pt", folder.path, "train")
    section = _section(folder.path)
    obs_dim, act_dim, low, high = env_dims(config.env)
    td3 = build_td3(config, obs_dim, act_dim, low, high, pick_device("cpu"))
    td3.load_state_dict(folder.load_checkpoint_state())
    seed = config.seed + 20_000 if args.seed is None else args.seed
    with get_provider(config.provider) as provider:
        config = config.with_overrides(**{"eval.episodes": episodes})
        validate_run(config.with_overrides(num_envs=episodes), provider)
        if config.block == "pqc":
            from qhil.execution.reach import require_reachable

            require_reachable(provider.profile)
        dispatcher = _open_dispatcher(section, provider, _spend(config, episodes, provider.profile),
                                      budget_from_args(args), args.yes)
        try:
            before = ledger_totals(dispatcher)
            sampler = HardwareSampler(dispatcher, td3.actor.ansatz, config.quantum.shots, seed,
                                      config.loop.job_timeout_s)
            returns = evaluate(config, td3.actor.eval(), sampler, episodes, seed)
            hw = bought_since(dispatcher, before, sampler.stats)
        finally:
            dispatcher.ledger.close()
    report = {"run_dir": str(folder.path), "env": config.env, "block": config.block,
              "provider": config.provider, "episodes": episodes, "seed": seed, "returns": returns,
              "return_mean": float(np.mean(returns)), "return_std": float(np.std(returns)),
              "hw": hw.to_json(), "ledger": str(section / "ledger.sqlite")}
    _record(section, report)
    print(json.dumps(report) if args.as_json else
          f"{config.env} {config.block} on {config.provider}: return {report['return_mean']:.1f} "
          f"+/- {report['return_std']:.1f} over {episodes} episodes "
          f"({hw.jobs} jobs, {hw.shots} shots, ${hw.cost_usd:.2f}; "
          f"evaluation ledger {section / 'ledger.sqlite'}, apart from the training run's)")
    return 0


def bought_since(dispatcher, before, stats):
    """What this evaluation bought: the evaluation ledger's totals less `before` (a result the
    ledger reused costs nothing); latency from the sampler's round trips."""
    from qhil.rl.metrics import ledger_totals

    now, timed = ledger_totals(dispatcher), stats.summary()
    return timed.model_copy(update={
        "jobs": now.jobs - before.jobs, "circuits": now.circuits - before.circuits,
        "shots": now.shots - before.shots, "cost_usd": round(now.cost_usd - before.cost_usd, 6)})


def _section(run_dir):
    """DIR/evaluations, checked (not created) before anything is sent."""
    from qhil.paths import check_ledger_file, check_out_dir

    section = check_out_dir(run_dir / EVALUATIONS, "the evaluation folder")
    if (section / "ledger.sqlite").exists():
        check_ledger_file(section / "ledger.sqlite", "the evaluation ledger")
    return section


def _spend(config, episodes: int, profile):
    """The evaluation's estimate: one job of `episodes` circuits per episode step (nothing for
    the classical blocks, which never touch a provider)."""
    from qhil.cost import Workload, estimate
    from qhil.cost.device import DeviceModel
    from qhil.cost.workload import episode_steps
    from qhil.execution.spend import Spend

    what = f"evaluating {episodes} episodes"
    if config.block != "pqc":
        return Spend(f"{what} ({config.block} block: no circuits)", (profile.name,), False, 0, 0,
                     Decimal(0))
    q = config.quantum
    workload = Workload(q.qubits, q.layers, q.entangler, shots=q.shots, eval_episodes=episodes,
                        eval_batch=episodes, eval_steps_per_episode=episode_steps(config.env))
    return Spend.of_estimate(estimate(workload, DeviceModel.from_profile(profile), ("qtdnn",)),
                             "qtdnn", what)


def _open_dispatcher(section, provider, spend, budget, yes: bool):
    """The spending road (checked against the budget and, on a device that bills, agreed to
    before the evaluation folder exists), its ledger in DIR/evaluations."""
    from qhil.execution.consent import open_dispatcher

    dispatcher = open_dispatcher(provider, spend, budget, yes=yes, budget_required=False,
                                 ledger=section / "ledger.sqlite")
    dispatcher.resume()  # a killed evaluation's paid jobs land in the ledger and are reused
    return dispatcher


def _record(section, report: dict) -> None:
    from qhil.files import append_jsonl

    append_jsonl(section / "evaluations.jsonl", [{k: v for k, v in report.items()
                                                  if k not in ("returns", "run_dir")}])
