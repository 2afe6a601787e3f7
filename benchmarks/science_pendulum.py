"""bench_science --experiment pendulum-10x10 (issue 25 item 5): the paper's 10 x 10 circuit, no
c-links, on Pendulum-v1: configs/pendulum-10x10.toml (the mean-field prior), the same with
--gradient exact and with --block zeros, and configs/pendulum-10x10-paper.toml (the paper's
qtDNN), evaluated every 500 steps; a run's row comes from its metrics rows, so a cut run has one."""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import _science_runs as shared
from _science_runs import (
    _f,
    _fig,
    _rel,
    _slug,
    _state,
    _timeout_before,
    closing,
    derived_config,
    meta_of,
    metrics_upto,
    run_state,
    stats,
    steps_target,
    train,
    wall_and_load,
)

P10 = "configs/pendulum-10x10.toml"
PENDULUM = {"mean-field": (P10, []), "exact": (P10, ["--gradient", "exact"]),
            "paper qtDNN": ("configs/pendulum-10x10-paper.toml", []), "zeros": (P10, ["--block", "zeros"]),
            # the probe (probe_cosine_parts.py) put the cosine's loss in the surrogate's value, whose
            # error sits at the 100-shot noise: the same rows with 4x the shots
            "mean-field 400 shots": (P10, ["--shots", "400"]),
            "exact 400 shots": (P10, ["--gradient", "exact", "--shots", "400"])}
EXACT_OF = {"mean-field": "exact", "paper qtDNN": "exact", "mean-field 400 shots": "exact 400 shots"}
P10_EVAL_EVERY = 500


def pendulum_runs(args: argparse.Namespace) -> list[dict]:
    """The 10 x 10 circuit on Pendulum, no c-links: each row on each seed, seed by seed."""
    configs = {src: pendulum_config(src, args.steps) for src, _ in PENDULUM.values()}
    rows = []
    for seed in args.seeds or [0, 1, 2]:
        for label, (source, extra) in PENDULUM.items():
            out = shared.OUT / f"p10x10-{args.steps}steps-{_slug(label)}-s{seed}"
            flags = ["--config", _rel(configs[source]), "--mode", "sync", "--seed", str(seed), *extra]
            timeout_s = _timeout_before(args.deadline_utc, args.timeout_s)
            if not args.report_only and label in args.rows and timeout_s > 0:
                train(out, flags, timeout_s, args.steps)
            rows.append(pendulum_row(label, seed, out))
    return rows


def pendulum_config(source: str, steps: int) -> Path:
    """`source` to `steps`, evaluated every 500 steps, checkpointed every 250 (a cut run keeps them)."""
    return derived_config(source, f"{Path(source).stem}-{steps}steps", **{
        "steps": steps, "eval.every_steps": P10_EVAL_EVERY, "loop.checkpoint_every_steps": 250})


def pendulum_row(label: str, seed: int, out: Path) -> dict:
    state, meta = run_state(out, fidelity=False), meta_of(out)
    wall, load = wall_and_load(meta)
    state.pop("fidelity")
    rows = metrics_upto(out, state["steps"])
    evals = [(r["step"], r["eval/return_mean"]) for r in rows if r.get("eval/return_mean") is not None]
    fid = [r for r in rows if r.get("surrogate/grad_cosine") is not None]
    summary = json.loads((out / "summary.json").read_text()) if state["finished"] else {}
    figure = {k: {**stats([r[f"surrogate/{k}"] for r in fid if r.get(f"surrogate/{k}") is not None]),
                  "summary": summary.get(f"surrogate_{k}")}
              for k in ("grad_cosine", "grad_rel_error", "pqc_grad_cosine")}
    return {"row": label, "seed": seed, "run_dir": _rel(out), "command": meta.get("command"), **state,
            "loop_s_per_update": loop_s_per_update(rows),
            "fidelity_checks": summary.get("fidelity_checks"), "evals": evals, "checks": len(fid), **figure,
            "checks_over_training": [{"step": r["step"], **{k: r.get(f"surrogate/{k}") for k in figure}}
                                     for r in fid],
            "wall_s": wall, "load": load, "note": meta.get("note"), "segments": meta["segments"]}


def loop_s_per_update(rows: list[dict]) -> float | None:
    """The loop's wall time per update (env steps, updates, checks and evals together; the sync
    loop's metrics rows carry no learner time): the median over consecutive periodic rows of
    d(wall_s) / d(updates), within one segment (a resume restarts wall_s)."""
    pace = [(r["updates"], r["time/wall_s"]) for r in rows if r.get("updates") and "time/wall_s" in r]
    deltas = [(w2 - w1) / (u2 - u1) for (u1, w1), (u2, w2) in zip(pace, pace[1:], strict=False) if u2 > u1 and w2 > w1]
    return statistics.median(deltas) if deltas else None


def pendulum_markdown(rows: list[dict], command: str) -> str:
    out = ["## Pendulum-v1 through the paper's 10 x 10 circuit, no c-links: exact, the mean-field "
           "surrogate, the paper's qtDNN, zeros", "",
           "configs/pendulum-10x10.toml (10 qubits x 10 layers, data CZ, 100 shots, no c-links: the "
           "PQC is the actor's only path; qhil's mean-field prior), the same with `--gradient exact` "
           "and `--block zeros`, configs/pendulum-10x10-paper.toml (the paper's qtDNN, Algorithm 1 "
           "as written), and the mean-field and exact rows again with `--shots 400` (the `400 shots` "
           "rows: 4x the shots of every circuit, exploration's and evaluation's, each surrogate "
           f"judged against the exact row of its shots); the sync loop, 1 update per step after 1,000 steps; eval every "
           f"{P10_EVAL_EVERY} steps (10 episodes). Grad cosine / rel error: the PreDNN gradient "
           "against the exact simulator's (every 25 actor updates); PQC-only: the gradient the "
           "circuit alone passes back. Target: the surrogate's mean eval return within 25% of "
           "exact's, cosine >= 0.7 over the second half.", "",
           "| row | seed | steps reached | eval return (last) | evals (step: return) | grad cosine "
           "(2nd half) | grad rel error (2nd half) | PQC-only grad cosine (2nd half) | checks | "
           "learner s/update | loop s/update | wall s | load avg (start -> end) | command |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    out += [_pendulum_line(r) for r in rows]
    out += closing([
        "Steps reached: " + "; ".join(f"{r['row']} seed {r['seed']}: {r['steps']:,} of "
                                      f"{steps_target(r):,} steps" for r in rows) + ".",
        "(cut): stopped by its timeout; the figures are from its last checkpoint (evals and "
        "checks up to it), and running the command again resumes it. exact and zeros have no "
        "surrogate, so no fidelity checks. Checks: every 25 actor updates (the summary's count); "
        "a cut run's figures come from the metrics rows (the last check in each 200-step row). "
        "learner s/update: the summary's (finished runs); "
        "loop s/update: the median d(wall)/d(updates) between metrics rows (env steps, updates, "
        "fidelity checks and evals together), which a cut run has too."], command)
    return "\n".join(out)


def _pendulum_line(r: dict) -> str:
    last = r["eval_return_mean"] if r["eval_return_mean"] is not None else (r["evals"][-1][1] if r["evals"] else None)
    ev = ", ".join(f"{s}: {v:.0f}" for s, v in r["evals"]) or "-"
    return (f"| {r['row']} | {r['seed']} | {r['steps']:,} of {steps_target(r):,}"
            f"{_state(r)} | {_f(last, 1)} | {ev} | "
            f"{_fig(r['grad_cosine'])} | {_fig(r['grad_rel_error'])} | "
            f"{_fig(r['pqc_grad_cosine'])} | {r.get('fidelity_checks') or r['checks']} | "
            f"{_f(r.get('learner_s_per_update'))} | {_f(r['loop_s_per_update'])} | "
            f"{_f(r['wall_s'], 0)} | {r['load']} | `{r['command'] or '-'}` |")


def pendulum_targets(runs: list[dict]) -> list[str]:
    """10 x 10 Pendulum: each qtDNN's mean eval return against exact's (seeds where both
    finished), and its cosine over the second half."""
    done = {(r["row"], r["seed"]): r["eval_return_mean"] for r in runs if r["eval_return_mean"] is not None}
    lines = []
    for label, exact in EXACT_OF.items():
        if not any(r["row"] == label for r in runs):
            continue
        seeds = sorted(s for (row, s) in done if row == label and (exact, s) in done)
        cos = [_fig(r["grad_cosine"]) for r in runs if r["row"] == label and r["checks"]]
        ret = (f"mean eval {statistics.mean(done[label, s] for s in seeds):.1f} vs {exact} "
               f"{statistics.mean(done[exact, s] for s in seeds):.1f} (seeds {seeds})") if seeds \
            else f"no seed where it and {exact} both finished"
        lines.append(f"- Pendulum 10 x 10, {label}: {ret}; grad cosine (2nd half) per run "
                     f"{', '.join(cos) or '-'} (targets: within 25% of exact, >= 0.7)")
    return lines
