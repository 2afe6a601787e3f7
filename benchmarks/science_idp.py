"""bench_science --experiment idp: configs/inverted-double-pendulum-pqc.toml (no c-links) with
--block pqc|fc|zeros on each seed, beside a random policy on the same evaluation episodes; the
margins pqc - zeros and pqc - fc per seed."""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import _science_runs as shared
from _science_runs import (
    LEARNING_STARTS,
    _f,
    _meta_path,
    _rel,
    derived_config,
    meta_of,
    run_state,
    stats,
    train,
    wall_and_load,
)

IDP = "configs/inverted-double-pendulum-pqc.toml"


def idp_runs(args: argparse.Namespace) -> list[dict]:
    """InvertedDoublePendulum, no c-links: each block on each seed, seed by seed."""
    config = derived_config(IDP, f"idp-{args.steps}steps", **{
        "td3.learning_starts": LEARNING_STARTS, "steps": args.steps, "loop.checkpoint_every_steps": 1000})
    rows = []
    for seed in args.seeds or [0, 1, 2]:
        for block in args.blocks:
            out = shared.OUT / f"idp-{args.steps}steps-{block}-s{seed}"
            flags = ["--config", _rel(config), "--mode", "sync", "--block", block, "--seed", str(seed)]
            if not args.report_only and args.extend_from and not out.exists():
                extend_copy(shared.OUT / f"idp-{args.extend_from}steps-{block}-s{seed}", out)
            if not args.report_only:
                train(out, flags, args.timeout_s, args.steps)
            rows.append(idp_row(block, seed, out, config))
    return rows


def extend_copy(src: Path, out: Path) -> None:
    """A copy of a finished run (and its meta), which `train` then extends by --resume --steps."""
    import shutil

    shutil.copytree(src, out)
    (out / "summary.json").unlink()  # the copy is unfinished until the resume reaches --steps
    meta = meta_of(src)
    meta["note"] = f"{_rel(src)} ({meta_of(src)['command']}), copied and extended with --resume --steps"
    _meta_path(out).write_text(json.dumps(meta, indent=2) + "\n")


def idp_row(block: str, seed: int, out: Path, config: Path) -> dict:
    state, meta = run_state(out), meta_of(out)
    wall, load = wall_and_load(meta)
    fid = state.pop("fidelity")
    cos = [r["grad_cosine"] for r in fid]
    return {"block": block, "seed": seed, "run_dir": _rel(out), "command": meta.get("command"), **state,
            "random_return": random_return(config, seed), "grad_cosine": stats(cos),
            "wall_s": wall, "load": load, "note": meta.get("note"), "segments": meta["segments"]}


def random_return(config: Path, seed: int) -> float:
    """A uniform-random policy on the run's evaluation episodes."""
    from qhil.rl.config import load_train_config
    from qhil.rl.evaluations import eval_seed
    from qhil.rl.explorer import evaluate_random

    c = load_train_config(config).with_overrides(seed=seed)
    return float(statistics.mean(evaluate_random(c.env, c.eval.episodes, eval_seed(c))))


def margins(rows: list[dict]) -> list[dict]:
    """pqc minus zeros (and minus fc) per seed, where both runs finished."""
    by = {(r["block"], r["seed"]): r.get("eval_return_mean") for r in rows}
    result = []
    for seed in sorted({r["seed"] for r in rows}):
        pqc, zeros, fc = by.get(("pqc", seed)), by.get(("zeros", seed)), by.get(("fc", seed))
        result.append({"seed": seed, "pqc_minus_zeros": None if None in (pqc, zeros) else pqc - zeros,
                       "pqc_minus_fc": None if None in (pqc, fc) else pqc - fc})
    return result


def idp_markdown(rows: list[dict], command: str) -> str:
    steps = rows[0]["steps"] if rows else "-"
    out = [f"## InvertedDoublePendulum-v5, no c-links, {steps} steps: pqc (the mean-field surrogate) "
           "vs fc vs zeros",
           "", f"configs/inverted-double-pendulum-pqc.toml (6 qubits x 2 layers, no c-links: the "
           f"PQC is the actor's only path) with learning_starts {LEARNING_STARTS} (the config: 5,000), "
           f"the sync loop (1 update per step after learning_starts). Eval: the mean of the config's "
           "10 evaluation episodes at the end; random: a uniform-random policy on the same episodes. "
           "Target: pqc clearly above zeros on every seed.", "",
           "| block | seed | steps | eval return (mean +- std) | random policy | PreDNN-grad cosine "
           "(2nd half) | learner s/update | wall s | load avg (start -> end) | command |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    out += [_idp_line(r) for r in rows]
    out += ["", "| seed | pqc - zeros | pqc - fc |", "|---|---|---|"]
    out += [f"| {m['seed']} | {_f(m['pqc_minus_zeros'], 1)} | {_f(m['pqc_minus_fc'], 1)} |"
            for m in margins(rows)]
    notes = [f"- {r['block']} seed {r['seed']}: {r['note']}" for r in rows if r.get("note")]
    if notes and len(notes) == len(rows):
        notes = ["Every run here is the shorter run of the same block and seed (the command in its "
                 "row; the 3,000-step table), copied to its folder and continued with "
                 f"`qhil train --resume DIR --steps {steps}` (benchmarks/bench_science.py --extend-from)."]
    out += ["", "Wall s: all of a run's segments (an extended run's include the shorter run's).",
            *notes, "", f"Produced by `{command}` ({steps} steps per run)."]
    return "\n".join(out)



def _idp_line(r: dict) -> str:
    ret = "cut" if r["eval_return_mean"] is None else f"{r['eval_return_mean']:.1f} +- {r['eval_return_std']:.1f}"
    return (f"| {r['block']} | {r['seed']} | {r['steps']}{'' if r['finished'] else ' (cut)'} | "
            f"{ret} | {r['random_return']:.1f} | {_f(r['grad_cosine']['second_half_median'])} | "
            f"{_f(r.get('learner_s_per_update'))} | {_f(r['wall_s'], 0)} | {r['load']} | "
            f"`{r['command']}` |")


def idp_target(d: dict) -> str:
    """pqc - zeros per seed of one idp experiment's JSON, and whether pqc is above on every seed."""
    m = [x["pqc_minus_zeros"] for x in d["margins"]]
    ok = all(x is not None and x > 0 for x in m)
    return (f"- IDP, {d['steps']} steps: pqc - zeros per seed {', '.join(_f(x, 1) for x in m)}; "
            f"pqc above zeros on every seed: {'yes' if ok else 'no'}")
