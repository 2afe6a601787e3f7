"""`make demo`: a short training run that learns, judged against a random policy, and what the
same run would have cost on a real device.

    python -m qhil.demo [--out runs/demo] [--config configs/demo.toml] [--device braket-iqm-garnet]

1. `qhil.train(config)`: hDQNN-TD3 on Pendulum-v1 with the PQC on the embedded simulator and no
   c-links, so the PQC is the actor's only path from observation to action; the sync loop, so
   the same seed gives the same run (summary printed, returns.png, TensorBoard events and
   metrics.csv in the run folder);
2. a uniform-random policy on the same evaluation episodes (same seeds), printed beside the
   trained policy's return and the `zeros` ablation's (the T-block's output replaced by zeros:
   the same actor with the PQC's path cut) from the committed benchmarks/results/demo_seeds.json,
   and the surrogate's gradient fidelity against the exact simulator;
3. `qhil estimate --from-run OUT --provider DEVICE`: the run priced on a real device's
   calibration snapshot, by qtDNN and by parameter-shift.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

DEVICE = "braket-iqm-garnet"
ABLATION = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "demo_seeds.json"


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


def zeros_ablation(config: str, seed: int, path: Path = ABLATION) -> dict | None:
    """The committed `zeros` run of this config and seed (benchmarks/bench_demo_seeds.py), or
    None where there is none (another config, or an installed package without benchmarks/)."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    if Path(data["config"]).name != Path(config).name:
        return None
    rows = [r for r in data["runs"] if r["block"] == "zeros" and r["seed"] == seed]
    return rows[0] if rows else None


def comparison(run, random_return: float, zeros: dict | None) -> list[str]:
    """The lines that say whether the PQC carried the policy."""
    c, trained = run.config, run.eval_return_mean
    path = " (PQC only, no c-links)" if c.block == "pqc" and not c.network.clinks else ""
    lines = [f"trained policy{path}: evaluation return {trained:.1f} over {c.eval.episodes} "
             f"episodes",
             f"random policy on the same episodes:    {random_return:.1f} "
             f"(trained {trained - random_return:+.1f})"]
    if zeros is not None:
        lines.append(f"zeros ablation (PQC path cut), seed {zeros['seed']}, {zeros['steps']:,} "
                     f"steps: {zeros['eval_return_mean']:.1f} (benchmarks/results/demo_seeds.md)")
    return lines + demo_fidelity_line(run.summary)


def demo_fidelity_line(summary: dict) -> list[str]:
    cosine, error = summary.get("surrogate_grad_cosine"), summary.get("surrogate_grad_rel_error")
    if cosine is None:
        return []
    return [f"gradient fidelity (surrogate vs the exact simulator, second half of the run): "
            f"PreDNN-gradient cosine {cosine:.3f}, relative error {error:.3f}"]


def replot(run, random_return: float, zeros: dict | None) -> None:
    from qhil.rl.plots import plot_returns

    c = run.config
    lines = {"random policy": random_return}
    if zeros is not None:
        lines["zeros ablation"] = zeros["eval_return_mean"]
    plot_returns(run.metrics(), run.path / "returns.png", f"{c.env} {c.block} on {c.provider}",
                 lines)


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
    zeros = zeros_ablation(args.config, run.config.seed)
    replot(run, random_return, zeros)
    print("\n" + "\n".join(comparison(run, random_return, zeros)))
    print(f"curve: {run.path / 'returns.png'}; TensorBoard: tensorboard --logdir {run.path.parent}")
    print(f"\n$ qhil estimate --from-run {run.path} --provider {args.device}", flush=True)
    try:
        cli(["estimate", "--from-run", str(run.path), "--provider", args.device])
    except SystemExit as done:
        return int(done.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
