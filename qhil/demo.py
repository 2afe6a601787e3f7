"""`make demo`: a short training run that learns, judged against a random policy, and what the
same run would have cost on a real device.

    python -m qhil.demo [--out runs/demo] [--config configs/demo.toml] [--device braket-iqm-garnet]

1. `qhil.train(config)`: hDQNN-TD3 on Pendulum-v1 with the PQC on the embedded simulator
   (summary printed, returns.png, TensorBoard events and metrics.csv in the run folder);
2. a uniform-random policy on the same evaluation episodes (same seeds), printed beside the
   trained policy's return, and drawn on returns.png;
3. `qhil estimate --from-run OUT --provider DEVICE`: the run priced on a real device's
   calibration snapshot, by qtDNN and by parameter-shift.
"""

from __future__ import annotations

import argparse
import shutil
import sys

DEVICE = "braket-iqm-garnet"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m qhil.demo", description=__doc__.splitlines()[0])
    p.add_argument("--config", default="configs/demo.toml", help="Training config (default: %(default)s).")
    p.add_argument("--out", default="runs/demo", help="Run folder, replaced (default: %(default)s).")
    p.add_argument("--device", default=DEVICE, help="Hardware profile to price the run on "
                   "(default: %(default)s).")
    p.add_argument("--steps", type=int, default=None, help="Override the config's steps (default: none).")
    return p.parse_args(argv)


def random_baseline(run) -> float:
    """Mean return of a random policy over the final evaluation's episodes and seed."""
    import numpy as np

    from qhil.rl.evaluations import eval_seed
    from qhil.rl.explorer import evaluate_random

    c = run.config
    return float(np.mean(evaluate_random(c.env, c.eval.episodes, eval_seed(c))))


def replot(run, random_return: float) -> None:
    from qhil.rl.plots import plot_returns

    c = run.config
    plot_returns(run.metrics(), run.path / "returns.png", f"{c.env} {c.block} on {c.provider}",
                 {"random policy": random_return})


def main(argv: list[str] | None = None) -> int:
    import qhil
    from qhil.cli import main as cli
    from qhil.commands.train import describe
    from qhil.rl.rundir import RunFolder

    args = parse(argv)
    shutil.rmtree(args.out, ignore_errors=True)
    overrides = {"steps": args.steps} if args.steps else {}
    run = qhil.train(args.config, out=args.out, **overrides)
    print(describe(run.summary, RunFolder(run.path)))
    random_return = random_baseline(run)
    replot(run, random_return)
    trained = run.eval_return_mean
    print(f"\ntrained policy: evaluation return {trained:.1f}; random policy on the same "
          f"{run.config.eval.episodes} episodes: {random_return:.1f}; "
          f"difference {trained - random_return:+.1f}")
    print(f"curve: {run.path / 'returns.png'}; TensorBoard: tensorboard --logdir {run.path.parent}")
    print(f"\n$ qhil estimate --from-run {run.path} --provider {args.device}", flush=True)
    try:
        cli(["estimate", "--from-run", str(run.path), "--provider", args.device])
    except SystemExit as done:
        return int(done.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
