"""The learner never waits on the QPU: async loop against a synchronous loop, same run of this script.

    .venv/bin/python benchmarks/bench_train_learner_wait.py [--vector-steps 60] [--num-envs 16]

Provider `chaos-local-1s` (the local simulator behind 1.0 s of latency per job), 16 Pendulum
environments, one job per vector step carrying all 16 circuits. The same config runs twice:
`loop.mode = "async"` (explorer thread + learner) and `"sync"` (act, wait for the job, step,
`updates_per_step` = 1 update). Reported over the learning phase (after learning_starts):
the learner's busy fraction (target >= 95%) and updates per wall-second (target async >= 20x
sync). Writes benchmarks/results/bench_train_learner_wait.{json,md}.
"""

from __future__ import annotations

import argparse

import tomllib
from _train_common import ROOT, RUNS, qhil_train, write_results

from qhil.rl.config import TrainConfig, dump_toml  # noqa: E402


def config(num_envs: int, vector_steps: int, mode: str) -> TrainConfig:
    base = tomllib.loads((ROOT / "configs" / "pendulum.toml").read_text())
    warm = 4 * num_envs  # four vector steps of random actions, then learning
    return TrainConfig(**base).with_overrides(**{
        "provider": "chaos-local-1s", "num_envs": num_envs, "steps": vector_steps * num_envs,
        "td3.learning_starts": warm, "td3.batch_size": 64, "eval.final": False,
        "network.critic_hidden": [64, 64], "qtdnn.fidelity_every": 0, "qtdnn.n_tiny_batches": 8,
        "loop.mode": mode, "loop.learner_pace": "free", "loop.max_updates_per_transition": 1000.0, "loop.log_every_steps": num_envs})


def measure(mode: str, num_envs: int, vector_steps: int) -> dict:
    path = RUNS / f"learner-wait-{mode}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_toml(config(num_envs, vector_steps, mode)))
    s = qhil_train(RUNS / f"learner-wait-{mode}", "--config", str(path))
    learn_s = s["clock"]["learn_wall_s"]
    return {"mode": mode, "steps": s["steps"], "updates": s["updates"], "wall_s": s["wall_s"],
            "learn_wall_s": learn_s, "updates_per_s": s["updates"] / learn_s,
            "learner_busy_fraction": 1 - s["learner_wait_fraction"],
            "env_wait_fraction": s["env_wait_fraction"], "jobs": s["hw"]["jobs"],
            "latency_p50_s": s["hw"]["latency_p50_s"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vector-steps", type=int, default=60)
    p.add_argument("--num-envs", type=int, default=16)
    args = p.parse_args()
    rows = [measure(m, args.num_envs, args.vector_steps) for m in ("async", "sync")]
    a, s = rows
    ratio = a["updates_per_s"] / s["updates_per_s"]
    data = {"command": f"benchmarks/bench_train_learner_wait.py --vector-steps {args.vector_steps} "
                       f"--num-envs {args.num_envs}",
            "provider": "chaos-local-1s", "runs": rows, "async_over_sync_updates_per_s": ratio,
            "targets": {"learner_busy_fraction": ">= 0.95", "async_over_sync_updates_per_s": ">= 20"}}
    lines = ["# Learner never waits: chaos-local-1s (1.0 s per job), "
             f"{args.num_envs} envs, {args.vector_steps} jobs", "",
             "| loop | updates | learning wall s | updates/s | learner busy | env wait | job p50 s |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['updates']} | {r['learn_wall_s']:.1f} | "
                     f"{r['updates_per_s']:.2f} | {100 * r['learner_busy_fraction']:.1f}% | "
                     f"{100 * r['env_wait_fraction']:.1f}% | {r['latency_p50_s']:.2f} |")
    lines += ["", f"async / sync updates per wall-second: {ratio:.1f}x (target >= 20x); "
              f"async learner busy {100 * a['learner_busy_fraction']:.1f}% (target >= 95%)"]
    write_results("bench_train_learner_wait", data, "\n".join(lines))


if __name__ == "__main__":
    main()
