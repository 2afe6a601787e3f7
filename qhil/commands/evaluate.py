"""`qhil evaluate DIR`: the trained policy of a run folder, deterministic, quantum layer on a provider."""

from __future__ import annotations

import argparse
import json

from qhil.commands._args import add_provider_flags, positive_int
from qhil.commands._budget import add_budget_flags, budget_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate")
    p.add_argument("run_dir", metavar="DIR", help="Run folder written by `qhil train --out DIR`.")
    p.add_argument("--episodes", type=positive_int, help="Episodes (default: the run's eval.episodes).")
    add_provider_flags(p, None, "Provider to run the quantum layer on (default: the run's).")
    p.add_argument("--seed", type=int, default=None, help="Environment seed (default: run seed + 20000).")
    p.add_argument("--json", dest="as_json", action="store_true", help="Print one JSON object.")
    add_budget_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from qhil.execution.registry import get_provider
    from qhil.rl.explorer import evaluate
    from qhil.rl.hardware import HardwareSampler
    from qhil.rl.learner import build_td3
    from qhil.rl.run import env_dims, open_dispatcher, pick_device, preflight
    from qhil.rl.rundir import RunFolder

    folder = RunFolder(args.run_dir)
    config = folder.load_config().with_overrides(provider=args.provider)
    episodes = args.episodes or config.eval.episodes
    obs_dim, act_dim, low, high = env_dims(config.env)
    td3 = build_td3(config, obs_dim, act_dim, low, high, pick_device("cpu"))
    td3.load_state_dict(folder.load_checkpoint_state())
    seed = config.seed + 20_000 if args.seed is None else args.seed
    with get_provider(config.provider) as provider:
        config = config.with_overrides(**{"eval.episodes": episodes})
        preflight(config.with_overrides(num_envs=episodes), provider)
        dispatcher = open_dispatcher(folder, provider, budget_from_args(args))
        try:
            sampler = HardwareSampler(dispatcher, td3.actor.ansatz, config.quantum.shots, seed,
                                      config.loop.job_timeout_s)
            returns = evaluate(config, td3.actor.eval(), sampler, episodes, seed)
        finally:
            dispatcher.ledger.close()
    report = {"run_dir": str(folder.path), "env": config.env, "block": config.block,
              "provider": config.provider, "episodes": episodes, "returns": returns,
              "return_mean": float(np.mean(returns)), "return_std": float(np.std(returns)),
              "hw": sampler.stats.summary()}
    print(json.dumps(report) if args.as_json else
          f"{config.env} {config.block} on {config.provider}: return {report['return_mean']:.1f} "
          f"+/- {report['return_std']:.1f} over {episodes} episodes "
          f"({sampler.stats.jobs} jobs, {sampler.stats.shots} shots, ${sampler.stats.cost_usd:.2f})")
    return 0
