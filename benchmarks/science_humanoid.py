"""bench_science --experiment humanoid-fidelity: configs/humanoid.toml (the mean-field prior)
against configs/humanoid-paper.toml (the paper's [2048] qtDNN) on Humanoid-v4 for the first
updates, with the gradient fidelity checks every 50 actor updates and, at the last checkpoint,
the gradient through the PQC alone."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import _science_runs as shared
from _results import machine_load
from _science_runs import (
    LEARNING_STARTS,
    _f,
    _rel,
    closing,
    derived_config,
    last_checkpoint,
    meta_of,
    run_state,
    stats,
    train,
    wall_and_load,
)
from _train_common import refit_and_measure

HUMANOID = {"mean-field prior": "configs/humanoid.toml", "paper qtDNN": "configs/humanoid-paper.toml"}
COSINE_TARGET = 0.5


def humanoid_runs(args: argparse.Namespace) -> list[dict]:
    """The mean-field prior and the paper's qtDNN on Humanoid, first `updates` updates per seed."""
    rows = []
    for seed in args.seeds or [0]:
        for label, source in HUMANOID.items():
            name = f"{Path(source).stem}-fid"
            config = derived_config(source, name, **{
                "td3.learning_starts": LEARNING_STARTS, "steps": LEARNING_STARTS + args.updates,
                "qtdnn.fidelity_every": 50, "eval.episodes": 3, "loop.checkpoint_every_steps": 250})
            out = shared.OUT / f"{name}-s{seed}"
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


def _pqc_path_figures(s, batch) -> tuple[float, float]:
    """cos and ||g - g_exact|| / ||g_exact|| of d(actor loss)/d(PreDNN) through the PQC only."""
    import torch

    from qhil.layers.hdqnn import exact_marginals
    from qhil.rl.fidelity import _flat, pre_parameters

    td3, actor, obs = s.td3, s.td3.actor, batch.obs
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
    out += [_humanoid_line(r) for r in rows]
    out += [f"\n{r['surrogate']}, seed {r['seed']}: {r['note']}." for r in rows if r.get("note")]
    out += closing([
        "(cut): stopped by its timeout (or by hand) to leave time for the rest; the figures "
        "are from its last checkpoint, and running the command again resumes it.",
        "The PreDNN gradient includes the c-link path (10 of the PreDNN's 230 outputs go "
        "around the PQC to the PostDNN), which is exact for every surrogate; the PQC-path "
        "columns detach the c-links and measure the gradient through the PQC alone: median "
        "(min-max) over fresh minibatches at the run's last checkpoint, each after the "
        "learner's refit. The Jacobian cosine is the surrogate's d(marginals)/d(angles) "
        "against the exact one at the policy's controls."], command)
    return "\n".join(out)


def _humanoid_line(r: dict) -> str:
    c, e, j = r["grad_cosine"], r["grad_rel_error"], r["jacobian_cosine"]
    return (f"| {r['surrogate']} | {r['seed']} | {r['updates']}{'' if r['finished'] else ' (cut)'} | "
            f"{r['checks']} | {_f(c['second_half_median'])} | {_f(c['all_median'])} | "
            f"{_f(c['min'])} / {_f(c['max'])} | {_f(e['second_half_median'])} | "
            f"{_f(e['all_median'])} | {_f(j['second_half_median'])} | {_pqc_path(r)} | "
            f"{_f(r.get('learner_s_per_update'))} | {_f(r['wall_s'], 0)} | {r['load']} | "
            f"`{r['command']}` |")


def _pqc_path(r: dict) -> str:
    p = r.get("pqc_path")
    if not p:
        return "- | -"
    c, e = p["grad_cosine"], p["grad_rel_error"]
    where = f" ({p['minibatches']} at {p['checkpoint']})"
    return (f"{_f(c['all_median'])} ({_f(c['min'])}-{_f(c['max'])}){where} | "
            f"{_f(e['all_median'])} ({_f(e['min'])}-{_f(e['max'])})")



def humanoid_targets(runs: list[dict]) -> list[str]:
    """Per run: the PreDNN-gradient cosine over the second half and through the PQC alone,
    judged against COSINE_TARGET for the mean-field prior."""
    return [_humanoid_target(r) for r in runs]


def _humanoid_target(r: dict) -> str:
    cos, path = r["grad_cosine"]["second_half_median"], (r.get("pqc_path") or {}).get("grad_cosine", {})
    return (f"- Humanoid, {r['surrogate']}, seed {r['seed']}, {r['updates']} updates: "
            f"PreDNN-grad cosine {_f(cos)} (2nd half), through the PQC alone {_f(path.get('all_median'))}"
            + (f" (target >= {COSINE_TARGET}: {'met' if min(cos, path.get('all_median', cos)) >= COSINE_TARGET else 'not met'})"
               if r["surrogate"] == "mean-field prior" and cos is not None else ""))
