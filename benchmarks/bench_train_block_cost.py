"""Cost of the quantum block: wall time of `pqc` against `fc` at equal steps on `local`.

    .venv/bin/python benchmarks/bench_train_block_cost.py [--steps 5000] [--seed 0]

Both runs are `qhil train --config configs/pendulum.toml --block B --steps N`, one after the
other in separate processes (same machine state as far as a shared machine allows). pqc pays for
one local sampling job per step, the qtDNN refit before each actor update and the fidelity
measurements; fc pays for none. Target: pqc / fc <= 2x. Writes
benchmarks/results/bench_train_block_cost.{json,md}.
"""

from __future__ import annotations

import argparse

from _train_common import write_results
from bench_train_pendulum import run_one


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rows = {block: run_one(block, args.seed, args.steps) for block in ("pqc", "fc")}
    ratio = rows["pqc"]["train_wall_s"] / rows["fc"]["train_wall_s"]
    data = {"command": f"benchmarks/bench_train_block_cost.py --steps {args.steps} --seed {args.seed}",
            "runs": list(rows.values()), "pqc_over_fc_wall_ratio": ratio, "target": "<= 2"}
    md = "\n".join([
        f"# pqc vs fc on local, Pendulum-v1, {args.steps} steps, seed {args.seed}", "",
        "| block | updates | train wall s | eval return |", "|---|---|---|---|",
        *[f"| {b} | {r['updates']} | {r['train_wall_s']:.1f} | {r['eval_return_mean']:.1f} |"
          for b, r in rows.items()],
        "", f"pqc / fc wall time: {ratio:.2f}x (target <= 2x)"])
    write_results("bench_train_block_cost", data, md)


if __name__ == "__main__":
    main()
