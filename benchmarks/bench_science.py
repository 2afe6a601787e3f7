"""Issue 25 item 7: a harder task the PQC must carry, and the surrogates at the paper's scale.

    .venv/bin/python benchmarks/bench_science.py --experiment humanoid-fidelity [--updates 3000]
        [--seeds 0] [--surrogates "mean-field prior" "paper qtDNN"] [--timeout-s 2400] [--report-only]
    .venv/bin/python benchmarks/bench_science.py --experiment idp [--steps 6000]
        [--seeds 0 1 2] [--blocks pqc fc zeros] [--timeout-s 900] [--report-only]
    .venv/bin/python benchmarks/bench_science.py --experiment pendulum-10x10 [--steps 10000]
        [--seeds 0 1 2] [--rows mean-field exact "paper qtDNN" zeros] [--timeout-s 3600]
        [--deadline-utc HH:MM] [--report-only]
    .venv/bin/python benchmarks/bench_science.py --experiment noisy [--steps 20000] [--seeds 0 1]
        [--profiles local-noisy braket-local-dm aer-noisy-torino]
        [--rows mean-field "paper qtDNN" parameter-shift zeros] [--learning-starts N] [--out DIR]
        [--timeout-s 2400] [--deadline-utc HH:MM] [--report-only]

humanoid-fidelity: configs/humanoid.toml (the mean-field prior) against configs/humanoid-paper.toml
(the paper's [2048] qtDNN, Algorithm 1 as written), the paper's 10 x 10 circuit on Humanoid-v4,
for the first N updates; each run's gradient fidelity checks (PreDNN-gradient cosine and relative
error against the exact simulator, qhil.rl.fidelity) every 50 actor updates. idp:
configs/inverted-double-pendulum-pqc.toml (no c-links) with --block pqc|fc|zeros and a random
policy on the same evaluation episodes. pendulum-10x10 (issue 25 item 5): the paper's 10 x 10
circuit, no c-links, on Pendulum-v1: configs/pendulum-10x10.toml (the mean-field prior) with the
qtDNN, with --gradient exact and with --block zeros, and configs/pendulum-10x10-paper.toml (the
paper's qtDNN), evaluated every 500 steps. noisy (issue 25 item 6): the 4 x 2 no-c-link Pendulum
task of configs/demo.toml (the mean-field prior) on each noisy profile (--provider), with
--gradient parameter-shift and --block zeros, and configs/pendulum-pqc-paper.toml (the paper's
qtDNN for 4 x 2); each row reports the fidelity checks against the profile's shadow (the ideal
circuit simulated at the same controls), the jobs, circuits and shots of its ledger, the dollars
`qhil estimate --from-run DIR --provider DEVICE` prices them at on the device the profile models
(PRICE_ON), and its pace (s/step before and after learning starts, from metrics.jsonl) with the
wall time that pace projects for --project-steps. --out puts the derived configs and runs in a
scratch folder (a speed check). humanoid-fidelity and idp shorten learning_starts to 1,000 steps (the configs
say 25,000 and 5,000) so that the updates fit a shared 2-core machine; the derived configs are
written beside the runs (runs/bench/science/) and each row names its command.

Every run is `qhil train --config DERIVED --mode sync ...` in its own process, one after another,
under a timeout; a run cut by the timeout keeps its checkpoint, and running this again resumes it
(`qhil train --resume DIR`); its row reports the steps and updates it reached (from the last
checkpoint). Beside each run folder, RUN.meta.json keeps the command, the wall time of each segment
and the machine's load average at its start and end. Writes science_<experiment>.{json,md};
benchmarks/results/science.md joins them (--update-results).
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _results import COMMITTED, machine_load
from _train_common import RESULTS, ROOT, RUNS, refit_and_measure, write_results

OUT = RUNS / "science"
LEARNING_STARTS = 1000
HUMANOID = {"mean-field prior": "configs/humanoid.toml", "paper qtDNN": "configs/humanoid-paper.toml"}
IDP = "configs/inverted-double-pendulum-pqc.toml"
COSINE_TARGET = 0.5
P10 = "configs/pendulum-10x10.toml"
PENDULUM = {"mean-field": (P10, []), "exact": (P10, ["--gradient", "exact"]),
            "paper qtDNN": ("configs/pendulum-10x10-paper.toml", []), "zeros": (P10, ["--block", "zeros"])}
P10_EVAL_EVERY = 500
DEMO = "configs/demo.toml"
NOISY = {"mean-field": (DEMO, []), "paper qtDNN": ("configs/pendulum-pqc-paper.toml", []),
         "parameter-shift": (DEMO, ["--gradient", "parameter-shift"]), "zeros": (DEMO, ["--block", "zeros"])}
NOISY_PROFILES = ["local-noisy", "braket-local-dm", "aer-noisy-torino"]
# The device whose prices each profile's runs are given in. aer-noisy-torino simulates
# FakeTorino's noise (ibm-torino's calibration); local-noisy and braket-local-dm carry illustrative
# superconducting error rates that model no device (their calibration files say so), so they are
# priced on a stand-in: ibm-torino (error rates closest to local-noisy's) and braket-iqm-garnet (a
# Braket superconducting QPU with per-shot pricing).
PRICE_ON = {"local-noisy": "ibm-torino", "braket-local-dm": "braket-iqm-garnet", "aer-noisy-torino": "ibm-torino"}
PRICE_MODELLED = {"aer-noisy-torino"}  # the others' devices are stand-ins
NOISY_LOG_EVERY = 50
SMOKE_BELOW_STEPS = 1000  # a noisy run shorter than this measures pace, not learning
ROW_CHOICES = list(dict.fromkeys([*PENDULUM, *NOISY]))


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experiment", choices=["humanoid-fidelity", "idp", "pendulum-10x10", "noisy"],
                   required=True)
    p.add_argument("--updates", type=int, default=3000, help="humanoid-fidelity: updates per run.")
    p.add_argument("--steps", type=int, default=None,
                   help="idp (default 6000), pendulum-10x10 (default 10000), noisy (default 20000): "
                   "environment steps per run.")
    p.add_argument("--seeds", type=int, nargs="+", default=None)
    p.add_argument("--blocks", nargs="+", default=["pqc", "fc", "zeros"])
    p.add_argument("--surrogates", nargs="+", choices=list(HUMANOID), default=list(HUMANOID),
                   help="humanoid-fidelity: which to train (all are reported).")
    p.add_argument("--rows", nargs="+", choices=ROW_CHOICES, default=None,
                   help="pendulum-10x10 (default all of PENDULUM), noisy (default all of NOISY): which "
                   "to train (all are reported), in this order per seed.")
    p.add_argument("--profiles", nargs="+", default=NOISY_PROFILES, choices=list(PRICE_ON),
                   help="noisy: the noisy providers to train on, one after another.")
    p.add_argument("--learning-starts", type=int, default=None, help="noisy: override td3.learning_starts "
                   "(a speed check; updates begin at max(this, batch_size 256)).")
    p.add_argument("--log-every", type=int, default=NOISY_LOG_EVERY, help="noisy: a metrics row every N "
                   "steps, the pace's resolution (a speed check of a slow row wants a few).")
    p.add_argument("--project-steps", type=int, default=20000,
                   help="noisy: the run length the measured pace is projected to.")
    p.add_argument("--out", type=Path, default=None, help="noisy: folder for the derived configs and "
                   "runs (default runs/bench/science/; a scratch folder for speed checks).")
    p.add_argument("--timeout-s", type=int, default=2400, help="Per run (and per resume).")
    p.add_argument("--deadline-utc", default=None, help="pendulum-10x10: HH:MM (UTC); no run starts "
                   "after it and each is cut by it (the runs resume on the next call).")
    p.add_argument("--pqc-path-minibatches", type=int, default=5, help="humanoid-fidelity: "
                   "minibatches for the PQC-path gradient figures at the last checkpoint (0: skip).")
    p.add_argument("--extend-from", type=int, default=None, help="idp: start each run from a copy "
                   "of the finished run of this many steps and resume it to --steps.")
    p.add_argument("--report-only", action="store_true", help="Report the run folders as they are.")
    args = p.parse_args()
    args.steps = args.steps or {"pendulum-10x10": 10000, "noisy": 20000}.get(args.experiment, 6000)
    table = NOISY if args.experiment == "noisy" else PENDULUM
    args.rows = args.rows or list(table)
    if not set(args.rows) <= set(table):
        p.error(f"--rows for {args.experiment}: choose from {', '.join(table)}")
    return args


def derived_config(source: str, name: str, **overrides) -> Path:
    """`source` with the overrides, written to runs/bench/science/NAME.toml."""
    sys.path.insert(0, str(ROOT))
    from qhil.rl.config import dump_toml, load_train_config

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.toml"
    path.write_text(dump_toml(load_train_config(ROOT / source).with_overrides(**overrides)))
    return path


def _rel(path: Path) -> str:
    """The path from the repository root; absolute where it lies outside it (a scratch --out)."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _meta_path(out: Path) -> Path:
    return out.parent / f"{out.name}.meta.json"


def last_checkpoint(out: Path) -> Path | None:
    found = sorted((out / "checkpoints").glob("step-*")) if (out / "checkpoints").exists() else []
    return found[-1] if found else None


def train(out: Path, flags: list[str], timeout_s: int, steps: int | None = None) -> None:
    """Train (or resume) one run in its own process (resumed to `steps` where given);
    appends the segment to RUN.meta.json."""
    if (out / "summary.json").exists():
        return
    # a folder with a config is a run, resumable from its journal even before its first checkpoint
    resume = last_checkpoint(out) is not None or (out / "config.toml").exists()
    cmd = ["--resume", str(out)] if resume else [*flags, "--out", str(out)]
    cmd += ["--steps", str(steps)] if resume and steps else []
    meta_path = _meta_path(out)
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {"segments": []}
    meta["command"] = meta.get("command") or "qhil train " + " ".join([*flags, "--out", _rel(out)])
    seg = {"args": cmd, "load_start": machine_load(), "started": time.strftime("%H:%M:%S")}
    t0 = time.monotonic()
    rc = _run_with_timeout(cmd, timeout_s)
    seg.update(wall_s=round(time.monotonic() - t0, 1), load_end=machine_load(), rc=rc)
    meta["segments"].append(seg)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")


def _run_with_timeout(cmd: list[str], timeout_s: int) -> int:
    """`nice -n 10 qhil train ...` on one torch thread, stopped after timeout_s (checkpoints stay)."""
    import os

    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    full = ["timeout", "-k", "30", str(timeout_s), "nice", "-n", "10", sys.executable, "-m", "qhil",
            "train", *cmd, "--quiet", "--json"]
    return subprocess.run(full, cwd=ROOT, capture_output=True, text=True, env=env).returncode


def run_state(out: Path, fidelity: bool = True) -> dict:
    """Steps, updates and fidelity checks of a run: its summary, or its last checkpoint
    (fidelity=False: no checks, so no torch)."""
    if (out / "summary.json").exists():
        s = json.loads((out / "summary.json").read_text())
        fid = _checkpoint_fidelity(out) if fidelity else []
        return {"finished": True, "steps": s["steps"], "updates": s["updates"], "fidelity": fid,
                "eval_return_mean": s.get("eval_return_mean"), "eval_return_std": s.get("eval_return_std"),
                "learner_s_per_update": s.get("learner_s_per_update"), "summary_wall_s": s.get("wall_s"),
                "warnings": s.get("warnings", [])}
    ck = last_checkpoint(out)
    manifest = json.loads((ck / "manifest.json").read_text()) if ck else {}
    return {"finished": False, "steps": manifest.get("step", 0), "updates": None,
            "fidelity": _checkpoint_fidelity(out) if fidelity else [], "eval_return_mean": None}


def _checkpoint_fidelity(out: Path) -> list[dict]:
    import torch

    ck = last_checkpoint(out)
    if ck is None:
        return []
    state = torch.load(ck / "state.pt", map_location="cpu", weights_only=False)
    return list(state.get("fidelity", []))


def meta_of(out: Path) -> dict:
    path = _meta_path(out)
    return json.loads(path.read_text()) if path.exists() else {"segments": []}


def wall_and_load(meta: dict) -> tuple[float | None, str]:
    segs = meta["segments"]
    if not segs:
        return None, "not recorded"
    wall = sum(s["wall_s"] for s in segs)
    load = "; ".join(f"{'/'.join(map(str, s['load_start']))} -> {'/'.join(map(str, s['load_end']))}"
                     for s in segs)
    return wall, load


def stats(values: list[float]) -> dict:
    half = values[len(values) // 2:]
    return {"all_median": statistics.median(values) if values else None,
            "second_half_median": statistics.median(half) if half else None,
            "min": min(values) if values else None, "max": max(values) if values else None}


def humanoid_runs(args: argparse.Namespace) -> list[dict]:
    """The mean-field prior and the paper's qtDNN on Humanoid, first `updates` updates per seed."""
    rows = []
    for seed in args.seeds or [0]:
        for label, source in HUMANOID.items():
            name = f"{Path(source).stem}-fid"
            config = derived_config(source, name, **{
                "td3.learning_starts": LEARNING_STARTS, "steps": LEARNING_STARTS + args.updates,
                "qtdnn.fidelity_every": 50, "eval.episodes": 3, "loop.checkpoint_every_steps": 250})
            out = OUT / f"{name}-s{seed}"
            flags = ["--config", _rel(config), "--mode", "sync", "--seed", str(seed)]
            if not args.report_only and label in args.surrogates:
                train(out, flags, args.timeout_s)
            if last_checkpoint(out) is not None:  # a surrogate not run on this seed: no row
                rows.append(humanoid_row(label, seed, out, args.pqc_path_minibatches))
    return rows


def pqc_path_fidelity(out: Path, minibatches: int) -> dict | None:
    """The PreDNN-gradient cosine and relative error through the PQC alone (c-links detached):
    at the run's last checkpoint, on fresh minibatches after the learner's refit. The summary's
    figure includes the c-link path, which is exact for every surrogate. Cached beside the run."""
    cache = out.parent / f"{out.name}.pqc_path.json"
    ck = last_checkpoint(out)
    if ck is None or minibatches == 0:
        return None
    if cache.exists() and json.loads(cache.read_text()).get("checkpoint") == ck.name \
            and json.loads(cache.read_text()).get("minibatches") == minibatches:
        return json.loads(cache.read_text())
    values = _pqc_path_measure(out, minibatches)
    result = {"checkpoint": ck.name, "minibatches": minibatches, "load_avg": machine_load(),
              "grad_cosine": stats(values["cos"]), "grad_rel_error": stats(values["err"]), **values}
    cache.write_text(json.dumps(result, indent=2) + "\n")
    return result


def _pqc_path_measure(out: Path, minibatches: int) -> dict[str, list[float]]:
    import torch

    torch.set_num_threads(1)
    found, _ = refit_and_measure(out, minibatches, _pqc_path_figures)
    return {"cos": [cos for cos, _ in found], "err": [err for _, err in found]}


def _pqc_path_figures(s, obs) -> tuple[float, float]:
    """cos and ||g - g_exact|| / ||g_exact|| of d(actor loss)/d(PreDNN) through the PQC only."""
    import torch

    from qhil.layers.hdqnn import exact_marginals
    from qhil.rl.fidelity import _flat, pre_parameters

    td3, actor = s.td3, s.td3.actor
    params = pre_parameters(actor)
    grads = []
    for through in (td3.block.actor, lambda q: exact_marginals(s.learner.fidelity.sim, actor.ansatz, q)):
        q_in, clinks = actor.controls(obs)
        loss = -td3.qf1(obs, actor.finish(through(q_in), clinks.detach())).mean()
        grads.append(_flat(torch.autograd.grad(loss, params, allow_unused=True), params))
    g, g_exact = grads
    cos = torch.nn.functional.cosine_similarity(g, g_exact, dim=0).item()
    return cos, ((g - g_exact).norm() / g_exact.norm()).item()


def humanoid_row(label: str, seed: int, out: Path, minibatches: int = 0) -> dict:
    state, meta = run_state(out), meta_of(out)
    wall, load = wall_and_load(meta)
    fid = state.pop("fidelity")
    cos = [r["grad_cosine"] for r in fid]
    err = [r["grad_rel_error"] for r in fid]
    return {"surrogate": label, "seed": seed, "run_dir": _rel(out), "command": meta.get("command"),
            **state, "updates": state["updates"] if state["updates"] is not None
            else max(0, state["steps"] - LEARNING_STARTS), "checks": len(fid),
            "grad_cosine": stats(cos), "grad_rel_error": stats(err),
            "grad_cosine_checks": cos, "grad_rel_error_checks": err,
            "jacobian_cosine": stats([r["jacobian_cosine"] for r in fid]),
            "wall_s": wall, "load": load, "pqc_path": pqc_path_fidelity(out, minibatches),
            "note": meta.get("note"), "segments": meta["segments"]}


def humanoid_markdown(rows: list[dict], command: str) -> str:
    out = ["## Humanoid-v4 at the paper's scale: the mean-field prior against the paper's qtDNN",
           "", "Gradient fidelity (PreDNN-gradient cosine and relative error against the exact "
           "simulator, one check every 50 actor updates = 100 updates) over the first updates of "
           "the paper's task (10 qubits x 10 layers, 220 PQC controls, 10 c-links, obs 376, action "
           f"17). learning_starts {LEARNING_STARTS} (the config: 25,000). Target: the mean-field "
           f"prior's cosine >= {COSINE_TARGET} where the paper's qtDNN is about 0.", "",
           "| surrogate | seed | updates reached | checks | grad cosine: median (2nd half) | all | "
           "min / max | grad rel error: median (2nd half) | all | Jacobian cosine (2nd half) | "
           "PQC-path grad cosine | PQC-path grad rel error | learner s/update | wall s | "
           "load avg (start -> end) | command |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        c, e, j = r["grad_cosine"], r["grad_rel_error"], r["jacobian_cosine"]
        out.append(f"| {r['surrogate']} | {r['seed']} | {r['updates']}{'' if r['finished'] else ' (cut)'} | "
                   f"{r['checks']} | {_f(c['second_half_median'])} | {_f(c['all_median'])} | "
                   f"{_f(c['min'])} / {_f(c['max'])} | {_f(e['second_half_median'])} | "
                   f"{_f(e['all_median'])} | {_f(j['second_half_median'])} | {_pqc_path(r)} | "
                   f"{_f(r.get('learner_s_per_update'))} | {_f(r['wall_s'], 0)} | {r['load']} | "
                   f"`{r['command']}` |")
    out += [f"\n{r['surrogate']}, seed {r['seed']}: {r['note']}." for r in rows if r.get("note")]
    out += ["", "(cut): stopped by its timeout (or by hand) to leave time for the rest; the figures "
            "are from its last checkpoint, and running the command again resumes it.", "",
            "The PreDNN gradient includes the c-link path (10 of the PreDNN's 230 outputs go "
            "around the PQC to the PostDNN), which is exact for every surrogate; the PQC-path "
            "columns detach the c-links and measure the gradient through the PQC alone: median "
            "(min-max) over fresh minibatches at the run's last checkpoint, each after the "
            "learner's refit. The Jacobian cosine is the surrogate's d(marginals)/d(angles) "
            "against the exact one at the policy's controls.", "", f"Produced by `{command}`."]
    return "\n".join(out)


def _pqc_path(r: dict) -> str:
    p = r.get("pqc_path")
    if not p:
        return "- | -"
    c, e = p["grad_cosine"], p["grad_rel_error"]
    where = f" ({p['minibatches']} at {p['checkpoint']})"
    return (f"{_f(c['all_median'])} ({_f(c['min'])}-{_f(c['max'])}){where} | "
            f"{_f(e['all_median'])} ({_f(e['min'])}-{_f(e['max'])})")


def _f(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def idp_runs(args: argparse.Namespace) -> list[dict]:
    """InvertedDoublePendulum, no c-links: each block on each seed, seed by seed."""
    config = derived_config(IDP, f"idp-{args.steps}steps", **{
        "td3.learning_starts": LEARNING_STARTS, "steps": args.steps, "loop.checkpoint_every_steps": 1000})
    rows = []
    for seed in args.seeds or [0, 1, 2]:
        for block in args.blocks:
            out = OUT / f"idp-{args.steps}steps-{block}-s{seed}"
            flags = ["--config", _rel(config), "--mode", "sync", "--block", block, "--seed", str(seed)]
            if not args.report_only and args.extend_from and not out.exists():
                extend_copy(OUT / f"idp-{args.extend_from}steps-{block}-s{seed}", out)
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
    for r in rows:
        ret = "cut" if r["eval_return_mean"] is None else f"{r['eval_return_mean']:.1f} +- {r['eval_return_std']:.1f}"
        out.append(f"| {r['block']} | {r['seed']} | {r['steps']}{'' if r['finished'] else ' (cut)'} | "
                   f"{ret} | {r['random_return']:.1f} | {_f(r['grad_cosine']['second_half_median'])} | "
                   f"{_f(r.get('learner_s_per_update'))} | {_f(r['wall_s'], 0)} | {r['load']} | "
                   f"`{r['command']}` |")
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


def pendulum_runs(args: argparse.Namespace) -> list[dict]:
    """The 10 x 10 circuit on Pendulum, no c-links: each row on each seed, seed by seed."""
    configs = {src: pendulum_config(src, args.steps) for src, _ in PENDULUM.values()}
    rows = []
    for seed in args.seeds or [0, 1, 2]:
        for label, (source, extra) in PENDULUM.items():
            out = OUT / f"p10x10-{args.steps}steps-{_slug(label)}-s{seed}"
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


def _slug(label: str) -> str:
    return label.lower().replace(" ", "-")


def _timeout_before(deadline_utc: str | None, timeout_s: int) -> int:
    """timeout_s, cut to the seconds left until HH:MM UTC today (0 once it has passed)."""
    if deadline_utc is None:
        return timeout_s
    hours, minutes = map(int, deadline_utc.split(":"))
    now = time.gmtime()
    left_s = (hours * 60 + minutes) * 60 - (now.tm_hour * 3600 + now.tm_min * 60 + now.tm_sec)
    return max(0, min(timeout_s, left_s))


def metrics_upto(out: Path, steps: int) -> list[dict]:
    """metrics.jsonl's rows up to `steps` (a resumed run rewrites the rows after its checkpoint:
    the last row of each step and kind wins)."""
    path = out / "metrics.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    kept = {(r["step"], tuple(sorted(r))): r for r in rows if r["step"] <= steps}
    return sorted(kept.values(), key=lambda r: r["step"])


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
           "and `--block zeros`, and configs/pendulum-10x10-paper.toml (the paper's qtDNN, Algorithm 1 "
           f"as written); the sync loop, 1 update per step after 1,000 steps; eval every "
           f"{P10_EVAL_EVERY} steps (10 episodes). Grad cosine / rel error: the PreDNN gradient "
           "against the exact simulator's (every 25 actor updates); PQC-only: the gradient the "
           "circuit alone passes back. Target: the surrogate's mean eval return within 25% of "
           "exact's, cosine >= 0.7 over the second half.", "",
           "| row | seed | steps reached | eval return (last) | evals (step: return) | grad cosine "
           "(2nd half) | grad rel error (2nd half) | PQC-only grad cosine (2nd half) | checks | "
           "learner s/update | loop s/update | wall s | load avg (start -> end) | command |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        last = r["eval_return_mean"] if r["eval_return_mean"] is not None else (r["evals"][-1][1] if r["evals"] else None)
        ev = ", ".join(f"{s}: {v:.0f}" for s, v in r["evals"]) or "-"
        out.append(f"| {r['row']} | {r['seed']} | {r['steps']:,} of {steps_target(r):,}"
                   f"{_state(r)} | {_f(last, 1)} | {ev} | "
                   f"{_fig(r['grad_cosine'])} | {_fig(r['grad_rel_error'])} | "
                   f"{_fig(r['pqc_grad_cosine'])} | {r.get('fidelity_checks') or r['checks']} | "
                   f"{_f(r.get('learner_s_per_update'))} | {_f(r['loop_s_per_update'])} | "
                   f"{_f(r['wall_s'], 0)} | {r['load']} | `{r['command'] or '-'}` |")
    out += ["", "Steps reached: " + "; ".join(f"{r['row']} seed {r['seed']}: {r['steps']:,} of "
                                              f"{steps_target(r):,} steps" for r in rows) + ".",
            "", "(cut): stopped by its timeout; the figures are from its last checkpoint (evals and "
            "checks up to it), and running the command again resumes it. exact and zeros have no "
            "surrogate, so no fidelity checks. Checks: every 25 actor updates (the summary's count); "
            "a cut run's figures come from the metrics rows (the last check in each 200-step row). "
            "learner s/update: the summary's (finished runs); "
            "loop s/update: the median d(wall)/d(updates) between metrics rows (env steps, updates, "
            "fidelity checks and evals together), which a cut run has too.", "", f"Produced by `{command}`."]
    return "\n".join(out)


def _state(r: dict) -> str:
    return "" if r["finished"] else " (cut)" if r["steps"] else " (not started)"


def _fig(figure: dict) -> str:
    """The summary's figure (every check's second half) where the run finished, else the
    metrics rows' (the last check of each 200-step row, up to the checkpoint)."""
    value = figure.get("summary")
    return _f(value if value is not None else figure["second_half_median"])


def steps_target(r: dict) -> int:
    return int(Path(r["run_dir"]).name.split("-")[1].removesuffix("steps"))


def noisy_runs(args: argparse.Namespace) -> list[dict]:
    """The 4 x 2 no-c-link Pendulum task on each noisy profile: each row on each seed."""
    configs = {src: noisy_config(src, args.steps, args.learning_starts, args.log_every)
               for src, _ in NOISY.values()}
    rows = []
    for profile in args.profiles:
        for seed in args.seeds or [0, 1]:
            for label, (source, extra) in NOISY.items():
                out = OUT / f"noisy-{args.steps}steps-{profile}-{_slug(label)}-s{seed}"
                flags = ["--config", _rel(configs[source]), "--mode", "sync", "--provider", profile,
                         "--seed", str(seed), *extra]
                timeout_s = _timeout_before(args.deadline_utc, args.timeout_s)
                if not args.report_only and label in args.rows and timeout_s > 0:
                    train(out, flags, timeout_s, args.steps)
                rows.append(noisy_row(profile, label, seed, out, configs[source], args.project_steps))
    return rows


def noisy_config(source: str, steps: int, learning_starts: int | None,
                 log_every: int = NOISY_LOG_EVERY) -> Path:
    """`source` to `steps`, a metrics row every `log_every` steps (the pace), checkpoints every
    1,000 (at most a quarter of the run, so a cut run keeps some)."""
    overrides = {"steps": steps, "loop.log_every_steps": log_every,
                 "loop.checkpoint_every_steps": max(NOISY_LOG_EVERY, min(1000, steps // 4))}
    name = f"{Path(source).stem}-noisy-{steps}steps" + ("" if log_every == NOISY_LOG_EVERY else f"-log{log_every}")
    if learning_starts is not None:
        overrides["td3.learning_starts"] = learning_starts
        name += f"-ls{learning_starts}"
    return derived_config(source, name, **overrides)


def noisy_row(profile: str, label: str, seed: int, out: Path, config: Path, project_steps: int) -> dict:
    """pendulum_row's figures (fidelity against the shadow), plus the ledger, the dollars on
    the profile's device, and the pace with its projection."""
    from qhil.rl.config import load_train_config

    row = pendulum_row(label, seed, out)
    summary = json.loads((out / "summary.json").read_text()) if row["finished"] else {}
    learning_starts = load_train_config(config).td3.learning_starts
    pace = loop_pace(metrics_upto(out, 10**9), max(learning_starts, 256))
    return {"profile": profile, **row, "fidelity_reference": summary.get("fidelity_reference"),
            "ledger": ledger_and_price(out, PRICE_ON[profile], row["finished"]), "pace": pace,
            "projection": project(pace, row["segments"], row["finished"], project_steps,
                                  _planned_learning_starts(label))}


def _planned_learning_starts(label: str) -> int:
    """The learning_starts of the row's shipped config (what a full run would use)."""
    from qhil.rl.config import load_train_config

    c = load_train_config(ROOT / NOISY[label][0])
    return max(c.td3.learning_starts, c.td3.batch_size)


def ledger_and_price(out: Path, device: str, finished: bool) -> dict:
    """`qhil estimate --from-run OUT --provider DEVICE`: the ledger's jobs, circuits and shots,
    and (a finished run only: a cut run has no summary to cut the plan to) the dollars on DEVICE.
    Cached beside the run once it finished."""
    cache = out.parent / f"{out.name}.price-{device}.json"
    if finished and cache.exists():
        return json.loads(cache.read_text())
    if not (out / "ledger.sqlite").exists():
        return {"device": device, "jobs": 0 if finished else None, "circuits": 0 if finished else None,
                "shots": 0 if finished else None, "cost_usd": None, "error": "no ledger.sqlite"}
    report = _estimate_json("--from-run", str(out), "--provider", device)
    measured, predicted = report.get("measured", {}), report.get("predicted", {})
    found = {"device": device, **{k: measured.get(k) for k in ("jobs", "circuits", "shots")},
             "cost_usd": predicted.get("cost_usd") if finished else None,
             "predicted_circuits": predicted.get("circuits"), "error": report.get("error")}
    if finished and not found["error"]:
        cache.write_text(json.dumps(found, indent=2) + "\n")
    return found


def _estimate_json(*flags: str) -> dict:
    import os

    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "qhil", "estimate", *flags, "--json"], cwd=ROOT,
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout)


def loop_pace(rows: list[dict], updates_from: int) -> dict:
    """The loop's s/env step before and after updates begin (step `updates_from`), from the
    metrics rows' time/wall_s: periods wholly on one side, within one segment (a resume restarts
    wall_s); the period that straddles the start is left out."""
    marks = [(0, 0.0)] + [(r["step"], r["time/wall_s"]) for r in rows if "time/wall_s" in r]
    sides: dict[str, list[tuple[int, float]]] = {"before": [], "after": []}
    for (s1, w1), (s2, w2) in zip(marks, marks[1:], strict=False):
        if s2 > s1 and w2 > w1 and (s2 <= updates_from or s1 >= updates_from):
            sides["before" if s2 <= updates_from else "after"].append((s2 - s1, w2 - w1))
    per = {k: sum(w for _, w in v) / sum(s for s, _ in v) if v else None for k, v in sides.items()}
    last = marks[-1]
    return {"s_per_step_before": per["before"], "s_per_step_after": per["after"],
            "steps_before": sum(s for s, _ in sides["before"]), "steps_after": sum(s for s, _ in sides["after"]),
            "updates_from": updates_from, "loop_s": last[1] if len(marks) > 1 else None}


def project(pace: dict, segments: list[dict], finished: bool, steps: int, learning_starts: int) -> dict:
    """The wall time of a `steps` run at the measured pace with the shipped config's learning
    start: before x start + after x (steps - start), plus the set-up and final evaluation a
    finished single-segment run measured (its process wall minus its loop's)."""
    before, after = pace["s_per_step_before"], pace["s_per_step_after"]
    if before is None or after is None:
        return {"steps": steps, "wall_s": None, "fixed_s": None}
    fixed = segments[0]["wall_s"] - pace["loop_s"] if finished and len(segments) == 1 else None
    loop_s = before * learning_starts + after * (steps - learning_starts)
    return {"steps": steps, "learning_starts": learning_starts, "loop_wall_s": loop_s,
            "fixed_s": fixed, "wall_s": loop_s + (fixed or 0.0)}


def noisy_markdown(rows: list[dict], command: str) -> str:
    devices = ", ".join(f"{p}: {d}{'' if p in PRICE_MODELLED else ' (a stand-in: the profile models no device)'}"
                        for p, d in PRICE_ON.items())
    out = ["## Noisy devices: Pendulum-v1 through the 4 x 2 circuit, no c-links: the mean-field "
           "surrogate, the paper's qtDNN, parameter-shift, zeros", "",
           "configs/demo.toml (4 qubits x 2 layers, data CZ, 100 shots, no c-links: the PQC is the "
           "actor's only path; the mean-field prior) with `--provider PROFILE`, the same with "
           "`--gradient parameter-shift` and `--block zeros`, and configs/pendulum-pqc-paper.toml "
           "(the paper's qtDNN for 4 x 2, Algorithm 1 as written); the sync loop; one final "
           "evaluation of 10 episodes. Shadow fidelity: the PreDNN-gradient cosine and relative error "
           "against the shadow (the ideal circuit simulated at the same controls, the summary's "
           "`fidelity_reference`), every 100 actor updates. Jobs, circuits, shots: the run's ledger. "
           f"Dollars: `qhil estimate --from-run DIR --provider DEVICE` on the device each profile is "
           f"priced on ({devices}); a cut run has none. Target: on each profile the surrogate's "
           "eval return within 25% of parameter-shift's, at a measured fraction of its circuits.", "",
           "| profile | row | seed | steps reached | eval return | shadow grad cosine (2nd half) | "
           "shadow grad rel error (2nd half) | checks | jobs | circuits | shots | $ on device | "
           "s/step before / after updates | projected wall | wall s | load avg (start -> end) | command |",
           "|" + "---|" * 17]
    out += [_noisy_line(r) for r in rows]
    out += ["", "Steps reached: " + "; ".join(f"{r['profile']} {r['row']} seed {r['seed']}: "
                                              f"{r['steps']:,} of {steps_target(r):,}" for r in rows) + ".",
            "", "(cut): stopped by its timeout; figures from its last checkpoint and metrics rows, and "
            "running the command again resumes it. zeros has no PQC: no circuits in training, no "
            "checks. s/step: the loop's wall time per environment step (env, circuits, updates, "
            "checks) before updates begin (max(learning_starts, 256)) and after; projected wall: "
            "that pace over the shipped config's schedule for the projected steps (learning_starts "
            "1,000), plus the set-up and final evaluation a finished run measured.", "",
            f"Produced by `{command}`."]
    return "\n".join(out)


def _noisy_line(r: dict) -> str:
    led, pace, proj = r["ledger"], r["pace"], r["projection"]
    cost = f"{float(led['cost_usd']):,.2f} ({led['device']})" if led.get("cost_usd") else f"- ({led['device']})"
    wall = "-" if proj["wall_s"] is None else f"{proj['wall_s'] / 3600:.2f} h for {proj['steps']:,}"
    return (f"| {r['profile']} | {r['row']} | {r['seed']} | {r['steps']:,} of {steps_target(r):,}{_state(r)} | "
            f"{_f(r['eval_return_mean'], 1)} | {_fig(r['grad_cosine'])} | {_fig(r['grad_rel_error'])} | "
            f"{r.get('fidelity_checks') or r['checks']} | {_n(led.get('jobs'))} | {_n(led.get('circuits'))} | "
            f"{_n(led.get('shots'))} | {cost} | {_f(pace['s_per_step_before'], 4)} / "
            f"{_f(pace['s_per_step_after'], 4)} | {wall} | {_f(r['wall_s'], 0)} | {r['load']} | "
            f"`{r['command'] or '-'}` |")


def _n(x: int | None) -> str:
    return "-" if x is None else f"{x:,}"


def noisy_targets(runs: list[dict], steps: int) -> list[str]:
    """Per profile: each qtDNN's mean eval return against parameter-shift's (seeds where both
    finished) and its circuits as a fraction of parameter-shift's on those seeds; a run too short
    to learn (a pace smoke) is judged against nothing."""
    if steps < SMOKE_BELOW_STEPS:
        return [f"- Noisy, {steps:,} steps: a pace smoke (its returns are those of an untrained "
                f"policy); no target judged"]
    done = {(r["profile"], r["row"], r["seed"]): r for r in runs if r["eval_return_mean"] is not None}
    lines = []
    for profile in dict.fromkeys(r["profile"] for r in runs):
        for label in ("mean-field", "paper qtDNN"):
            seeds = sorted(s for (p, row, s) in done if (p, row) == (profile, label)
                           and (profile, "parameter-shift", s) in done)
            if not seeds:
                lines.append(f"- Noisy {profile} ({steps:,} steps), {label}: no seed where it and parameter-shift both finished")
                continue
            ours, ps = ([done[profile, row, s] for s in seeds] for row in (label, "parameter-shift"))
            mean_ours, mean_ps = (statistics.mean(r["eval_return_mean"] for r in rs) for rs in (ours, ps))
            within = abs(mean_ours - mean_ps) <= 0.25 * abs(mean_ps)
            fraction = _circuit_fraction(ours, ps)
            lines.append(f"- Noisy {profile} ({steps:,} steps), {label}: mean eval {mean_ours:.1f} vs parameter-shift "
                         f"{mean_ps:.1f} (seeds {seeds}; within 25%: {'yes' if within else 'no'}), at "
                         f"{_percent(fraction)} of its circuits")
    return lines


def _percent(fraction: float | None) -> str:
    """A fraction as a percentage to 3 significant digits (0.000357 -> '0.0357%')."""
    return "-" if fraction is None else f"{fraction * 100:.3g}%"


def _circuit_fraction(ours: list[dict], ps: list[dict]) -> float | None:
    mine, theirs = (sum(r["ledger"].get("circuits") or 0 for r in rs) for rs in (ours, ps))
    return mine / theirs if theirs else None


def joined_markdown() -> None:
    """benchmarks/results/science.{md,json}: the experiments' results side by side."""
    found = {p.stem.removeprefix("science_"): p.with_suffix("")
             for p in sorted(COMMITTED.glob("science_*.json"))}
    md = ["# Issue 25 items 5, 6 and 7: the paper's 10 x 10 circuit on Pendulum; noisy devices; a "
          "harder task the PQC must carry; the surrogates at the paper's scale",
          "", "Machine: a 2-core VM shared with other work (the load averages are in each row); one "
          "training at a time, `nice -n 10`, one torch thread. Produced by benchmarks/bench_science.py."]
    md += ["", "## Against the targets", "", *targets(
        {n: json.loads(p.with_suffix(".json").read_text()) for n, p in found.items()})]
    md += ["", *["#" + p.with_suffix(".md").read_text() for p in found.values()]]
    data = {n: json.loads(p.with_suffix(".json").read_text()) for n, p in found.items()}
    (COMMITTED / "science.md").write_text("\n".join(md).rstrip() + "\n")
    (COMMITTED / "science.json").write_text(json.dumps(data, indent=2) + "\n")


def targets(data: dict[str, dict]) -> list[str]:
    """One line per target of issue 25 item 7, from the experiments' JSON."""
    lines = []
    for r in data.get("humanoid-fidelity", {}).get("runs", []):
        cos, path = r["grad_cosine"]["second_half_median"], (r.get("pqc_path") or {}).get("grad_cosine", {})
        lines.append(f"- Humanoid, {r['surrogate']}, seed {r['seed']}, {r['updates']} updates: "
                     f"PreDNN-grad cosine {_f(cos)} (2nd half), through the PQC alone {_f(path.get('all_median'))}"
                     + (f" (target >= {COSINE_TARGET}: {'met' if min(cos, path.get('all_median', cos)) >= COSINE_TARGET else 'not met'})"
                        if r["surrogate"] == "mean-field prior" and cos is not None else ""))
    for name, d in data.items():
        if name.startswith("idp") and d.get("margins"):
            m = [x["pqc_minus_zeros"] for x in d["margins"]]
            ok = all(x is not None and x > 0 for x in m)
            lines.append(f"- IDP, {d['steps']} steps: pqc - zeros per seed {', '.join(_f(x, 1) for x in m)}; "
                         f"pqc above zeros on every seed: {'yes' if ok else 'no'}")
    lines += pendulum_targets(data.get("pendulum-10x10", {}).get("runs", []))
    return lines + [x for name, d in data.items() if name.startswith("noisy")
                    for x in noisy_targets(d["runs"], d["steps"])]


def pendulum_targets(runs: list[dict]) -> list[str]:
    """10 x 10 Pendulum: each qtDNN's mean eval return against exact's (seeds where both
    finished), and its cosine over the second half."""
    done = {(r["row"], r["seed"]): r["eval_return_mean"] for r in runs if r["eval_return_mean"] is not None}
    lines = []
    for label in ("mean-field", "paper qtDNN"):
        seeds = sorted(s for (row, s) in done if row == label and ("exact", s) in done)
        cos = [_fig(r["grad_cosine"]) for r in runs if r["row"] == label and r["checks"]]
        ret = (f"mean eval {statistics.mean(done[label, s] for s in seeds):.1f} vs exact "
               f"{statistics.mean(done['exact', s] for s in seeds):.1f} (seeds {seeds})") if seeds \
            else "no seed where it and exact both finished"
        lines.append(f"- Pendulum 10 x 10, {label}: {ret}; grad cosine (2nd half) per run "
                     f"{', '.join(cos) or '-'} (targets: within 25% of exact, >= 0.7)")
    return lines


def main() -> None:
    global OUT
    args = parse()
    OUT = args.out.resolve() if args.out else OUT
    sys.path.insert(0, str(ROOT))
    command = "benchmarks/bench_science.py " + shlex.join(sys.argv[1:])
    if args.experiment == "humanoid-fidelity":
        rows = humanoid_runs(args)
        data, md = {"command": command, "runs": rows}, humanoid_markdown(rows, command)
    elif args.experiment == "noisy":
        rows = noisy_runs(args)
        data = {"command": command, "steps": args.steps, "price_on": PRICE_ON, "runs": rows}
        md = noisy_markdown(rows, command)
    elif args.experiment == "pendulum-10x10":
        rows = pendulum_runs(args)
        data, md = {"command": command, "steps": args.steps, "runs": rows}, pendulum_markdown(rows, command)
    else:
        rows = idp_runs(args)
        data = {"command": command, "steps": args.steps, "runs": rows, "margins": margins(rows)}
        md = idp_markdown(rows, command)
    name = args.experiment if args.experiment not in ("idp", "noisy") else f"{args.experiment}-{args.steps}steps"
    write_results(f"science_{name}", data, md[1:])  # "## ..." -> "# ..."
    if RESULTS == COMMITTED:
        joined_markdown()


if __name__ == "__main__":
    main()
