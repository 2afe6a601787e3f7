"""bench_science --experiment noisy (issue 25 item 6): the 4 x 2 no-c-link Pendulum task of
configs/demo.toml (the mean-field prior) on each noisy profile, with --gradient parameter-shift
and --block zeros, and configs/pendulum-pqc-paper.toml (the paper's qtDNN for 4 x 2): each row's
fidelity against the profile's shadow, its ledger and the dollars it costs on the device the
profile models (PRICE_ON), and its pace with the wall time that pace projects."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import _science_runs as shared
from _science_runs import (
    _f,
    _fig,
    _n,
    _rel,
    _slug,
    _state,
    _timeout_before,
    closing,
    derived_config,
    metrics_upto,
    steps_target,
    train,
)
from science_pendulum import pendulum_row

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


def noisy_runs(args: argparse.Namespace) -> list[dict]:
    """The 4 x 2 no-c-link Pendulum task on each noisy profile: each row on each seed."""
    configs = {src: noisy_config(src, args.steps, args.learning_starts, args.log_every)
               for src, _ in NOISY.values()}
    rows = []
    for profile in args.profiles:
        for seed in args.seeds or [0, 1]:
            for label, (source, extra) in NOISY.items():
                out = shared.OUT / f"noisy-{args.steps}steps-{profile}-{_slug(label)}-s{seed}"
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

    c = load_train_config(shared.ROOT / NOISY[label][0])
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

    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(shared.ROOT)}
    proc = subprocess.run([sys.executable, "-m", "qhil", "estimate", *flags, "--json"], cwd=shared.ROOT,
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
    out += closing([
        "Steps reached: " + "; ".join(f"{r['profile']} {r['row']} seed {r['seed']}: "
                                      f"{r['steps']:,} of {steps_target(r):,}" for r in rows) + ".",
        "(cut): stopped by its timeout; figures from its last checkpoint and metrics rows, and "
        "running the command again resumes it. zeros has no PQC: no circuits in training, no "
        "checks. s/step: the loop's wall time per environment step (env, circuits, updates, "
        "checks) before updates begin (max(learning_starts, 256)) and after; projected wall: "
        "that pace over the shipped config's schedule for the projected steps (learning_starts "
        "1,000), plus the set-up and final evaluation a finished run measured."], command)
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


def noisy_targets(runs: list[dict], steps: int) -> list[str]:
    """Per profile: each qtDNN's mean eval return against parameter-shift's (seeds where both
    finished) and its circuits as a fraction of parameter-shift's on those seeds; a run too short
    to learn (a pace smoke) is judged against nothing."""
    if steps < SMOKE_BELOW_STEPS:
        return [f"- Noisy, {steps:,} steps: a pace smoke (its returns are those of an untrained "
                f"policy); no target judged"]
    done = {(r["profile"], r["row"], r["seed"]): r for r in runs if r["eval_return_mean"] is not None}
    return [_noisy_target(done, profile, label, steps)
            for profile in dict.fromkeys(r["profile"] for r in runs) for label in ("mean-field", "paper qtDNN")]


def _noisy_target(done: dict[tuple, dict], profile: str, label: str, steps: int) -> str:
    """One qtDNN row on one profile against parameter-shift, on the seeds where both finished."""
    seeds = sorted(s for (p, row, s) in done if (p, row) == (profile, label)
                   and (profile, "parameter-shift", s) in done)
    if not seeds:
        return f"- Noisy {profile} ({steps:,} steps), {label}: no seed where it and parameter-shift both finished"
    ours, ps = ([done[profile, row, s] for s in seeds] for row in (label, "parameter-shift"))
    mean_ours, mean_ps = (statistics.mean(r["eval_return_mean"] for r in rs) for rs in (ours, ps))
    within = abs(mean_ours - mean_ps) <= 0.25 * abs(mean_ps)
    fraction = _circuit_fraction(ours, ps)
    return (f"- Noisy {profile} ({steps:,} steps), {label}: mean eval {mean_ours:.1f} vs parameter-shift "
            f"{mean_ps:.1f} (seeds {seeds}; within 25%: {'yes' if within else 'no'}), at "
            f"{_percent(fraction)} of its circuits")


def _percent(fraction: float | None) -> str:
    """A fraction as a percentage to 3 significant digits (0.000357 -> '0.0357%')."""
    return "-" if fraction is None else f"{fraction * 100:.3g}%"


def _circuit_fraction(ours: list[dict], ps: list[dict]) -> float | None:
    mine, theirs = (sum(r["ledger"].get("circuits") or 0 for r in rs) for rs in (ours, ps))
    return mine / theirs if theirs else None
