"""Cost of the quantum block: wall time of `pqc` against `fc` at equal steps on `local`.

    .venv/bin/python benchmarks/bench_train_block_cost.py [--env pendulum,humanoid] [--seed 0]
        [--rounds 1] [--add-rounds]
    .venv/bin/python benchmarks/bench_train_block_cost.py --env humanoid --profile

Pendulum: `qhil train --config configs/pendulum.toml --block B --steps 5000`. Humanoid (the
paper's scale): `configs/humanoid.toml` (its qtDNN and refit settings, whatever they are today)
with `learning_starts = 1000`, one evaluation episode, `fidelity_every = 250` (four gradient
checks in the 1,000 actor updates, so the run's cosine has a second half), 3,000 steps. The blocks
run in separate processes, interleaved: round r runs pqc then fc (r even) or fc then pqc, and each
block's time is its median over the rounds (state the machine load: it is shared);
`--add-rounds` continues the results file's comparison with more rounds. pqc pays for
one local sampling job per step, the qtDNN refit before each actor update and the fidelity
checks; fc pays for none. Beside the ratio: the pqc run's gradient fidelity (the summary's
surrogate_grad_cosine, median over the second half of its checks), so a speed-up that costs
fidelity shows. Target (issue 27): pqc / fc <= 1.5x on both.
`--profile` instead runs each block once in sync mode under cProfile and prints
where their time goes (refit, actor and critic updates, the explorer's sampling jobs, environment
steps, fidelity). Writes benchmarks/results/bench_train_block_cost.{json,md} (profile:
bench_train_block_cost_profile.{json,md}, Humanoid's bench_train_block_cost_profile_humanoid.*).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import statistics
import sys
import time

from _train_common import RESULTS, ROOT, RUNS, qhil_train, write_results

DEFAULT_STEPS = {"pendulum": 5000, "humanoid": 3000}
TARGET = 1.5  # pqc / fc wall time (issue 27)
HUMANOID_OVERRIDES = (("learning_starts", 1000), ("episodes", 1), ("fidelity_every", 250))
FIDELITY = ("fidelity_checks", "surrogate_grad_cosine", "surrogate_grad_cosine_last",
            "surrogate_jacobian_cosine")
# where the time of a pqc run goes: (label, file suffix, function name), cumulative seconds
BUCKETS = [
    ("qtDNN refit (32 tiny batches)", "layers/hdqnn.py", "refit"),
    ("actor update (surrogate)", "rl/td3.py", "actor_step"),
    ("critic update", "rl/td3.py", "critic_step"),
    ("fidelity check (exact Jacobian)", "rl/fidelity.py", "inspect"),
    # the local simulator runs in the provider's worker thread, which cProfile does not see:
    # its time is the wait inside this bucket
    ("explorer sampling jobs (dispatcher + local simulator)", "rl/sampler.py", "sample"),
    ("environment steps", "gymnasium/vector/sync_vector_env.py", "step"),
    ("learner updates in all", "rl/learner.py", "update"),
]


def config_for(env: str) -> str:
    """The config file for `env`: Humanoid's with the paper-scale benchmark overrides."""
    if env == "pendulum":
        return "configs/pendulum.toml"
    text = (ROOT / "configs" / "humanoid.toml").read_text()
    for key, value in HUMANOID_OVERRIDES:
        text, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        if count != 1:
            raise SystemExit(f"configs/humanoid.toml: expected one '{key} = ' line")
    RUNS.mkdir(parents=True, exist_ok=True)
    path = RUNS / "humanoid-paper-scale.toml"
    path.write_text(text)
    return str(path)


def run_block(env: str, block: str, seed: int, steps: int) -> dict:
    out = RUNS / f"{env}-{block}-s{seed}"
    started = time.perf_counter()
    summary = qhil_train(out, "--config", config_for(env), "--block", block,
                         "--seed", str(seed), "--steps", str(steps))
    return {"env": env, "block": block, "steps": summary["steps"], "updates": summary["updates"],
            "train_wall_s": summary["wall_s"], "process_wall_s": time.perf_counter() - started,
            "eval_return_mean": summary["eval_return_mean"],
            **{k: summary.get(k) for k in FIDELITY}, "load_average_1min": os.getloadavg()[0]}


def compare(env: str, seed: int, steps: int, rounds: int = 1, earlier: dict | None = None) -> dict:
    """pqc and fc interleaved over `rounds`: medians and their ratio. Round r runs pqc first when
    r is even, counting on from `earlier` (the same comparison's rounds of an earlier invocation,
    `--add-rounds`), whose runs join the medians."""
    before = earlier["load_average"][0] if earlier else os.getloadavg()[0]
    done = earlier.get("rounds", 1) if earlier else 0
    runs = list(earlier["runs"]) if earlier else []
    runs += [run_block(env, block, seed, steps) for r in range(done, done + rounds)
             for block in (("pqc", "fc") if r % 2 == 0 else ("fc", "pqc"))]
    wall = {b: statistics.median(r["train_wall_s"] for r in runs if r["block"] == b)
            for b in ("pqc", "fc")}
    pqc = [r for r in runs if r["block"] == "pqc"]
    cosines = [r["surrogate_grad_cosine"] for r in pqc if r.get("surrogate_grad_cosine") is not None]
    ratio = wall["pqc"] / wall["fc"]
    return {"env": env, "steps": steps, "rounds": done + rounds, "runs": runs,
            "pqc_train_wall_s": wall["pqc"], "fc_train_wall_s": wall["fc"],
            "pqc_over_fc_wall_ratio": ratio, "met": ratio <= TARGET,
            "grad_cosine": statistics.median(cosines) if cosines else None,
            "fidelity_checks": sum(r.get("fidelity_checks") or 0 for r in pqc),
            "load_average": [before, os.getloadavg()[0]]}


def earlier_rounds(env: str, steps: int) -> dict | None:
    """The committed comparison of `env` at `steps` whose rounds `--add-rounds` continues."""
    path = RESULTS / "bench_train_block_cost.json"
    old = json.loads(path.read_text()).get("comparisons", []) if path.exists() else []
    found = [c for c in old if c.get("env") == env and c.get("steps") == steps and "rounds" in c]
    return found[-1] if found else None


def profile(env: str, seed: int, steps: int) -> dict:
    """Each block once in sync mode under cProfile (in this process): seconds per bucket."""
    before = os.getloadavg()[0]
    blocks = {block: profile_block(env, block, seed, steps) for block in ("pqc", "fc")}
    return {"env": env, "steps": steps, "blocks": blocks,
            "load_average": [before, os.getloadavg()[0]]}


def profile_block(env: str, block: str, seed: int, steps: int) -> dict:
    """One sync run of `block` under cProfile: wall, buckets, the top functions by own time."""
    from qhil.cli import main as qhil_main

    out = RUNS / f"{env}-{block}-s{seed}-profile"
    argv = ["train", "--config", config_for(env), "--block", block, "--seed", str(seed),
            "--steps", str(steps), "--mode", "sync", "--out", str(out), "--json"]
    if out.exists():
        import shutil
        shutil.rmtree(out)
    prof = cProfile.Profile()
    started = time.perf_counter()
    try:
        prof.runcall(qhil_main, argv)
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    wall = time.perf_counter() - started
    return {"wall_s": wall, "buckets_s": buckets(prof), "top_own_s": top_functions(prof)}


def top_functions(prof: cProfile.Profile, count: int = 15) -> dict[str, float]:
    """The functions with the most own time (file:line name -> seconds)."""
    stats = pstats.Stats(prof).stats
    rows = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:count]
    return {f"{os.path.basename(file)}:{line} {fn}": round(v[2], 2) for (file, line, fn), v in rows}


def buckets(prof: cProfile.Profile) -> dict[str, float]:
    stats = pstats.Stats(prof).stats  # (file, line, name) -> (cc, nc, tt, ct, callers)
    out = {}
    for label, suffix, name in BUCKETS:
        out[label] = sum(v[3] for (file, _, fn), v in stats.items()
                         if fn == name and file.replace(os.sep, "/").endswith(suffix))
    return out


def merged(fresh: list[dict]) -> list[dict]:
    """The earlier result file's comparisons for environments not run now, then the new ones."""
    path = RESULTS / "bench_train_block_cost.json"
    old = json.loads(path.read_text()).get("comparisons", []) if path.exists() else []
    envs = {c["env"] for c in fresh}
    return [c for c in old if c.get("env") not in envs] + fresh


def markdown(data: dict) -> str:
    lines = ["# pqc vs fc on local at equal steps", ""]
    for c in data["comparisons"]:
        load = c.get("load_average", [float("nan")] * 2)
        lines += [f"## {c['env']}, {c['steps']} steps", "",
                  f"1-min load average {load[0]:.2f} before, {load[1]:.2f} after (2 CPUs, "
                  f"shared); {c.get('rounds', 1)} round(s), run order as listed.", "",
                  "| block | updates | train wall s | eval return | grad cosine (checks) | "
                  "load 1-min after |", "|---|---|---|---|---|---|",
                  *[row_markdown(r) for r in c["runs"]],
                  "", f"pqc / fc wall time: **{c['pqc_over_fc_wall_ratio']:.2f}x** (target <= "
                  f"{c.get('target', 2.0)}x: "
                  f"{'met' if met(c) else 'not met'}); pqc's gradient cosine "
                  f"{fmt(c.get('grad_cosine'))} over {c.get('fidelity_checks', 0)} checks."
                  + round_ratios(c["runs"]), ""]
    return "\n".join(lines)


def met(c: dict) -> bool:
    """The comparison's verdict (older result files carry no `met`: judged on their ratio)."""
    return c.get("met", c["pqc_over_fc_wall_ratio"] <= c.get("target", 2.0))


def round_ratios(runs: list[dict]) -> str:
    """Each round's own pqc / fc (rounds are consecutive pairs of runs), where there are several."""
    pairs = [{r["block"]: r["train_wall_s"] for r in runs[i:i + 2]} for i in range(0, len(runs), 2)]
    ratios = [f"{p['pqc'] / p['fc']:.2f}x" for p in pairs if {"pqc", "fc"} <= p.keys()]
    return f" Per round: {', '.join(ratios)}." if len(ratios) > 1 else ""


def row_markdown(r: dict) -> str:
    cosine = (f"{fmt(r.get('surrogate_grad_cosine'))} ({r.get('fidelity_checks', 'n/a')})"
              if r["block"] == "pqc" else "-")
    return (f"| {r['block']} | {r['updates']} | {r['train_wall_s']:.1f} | "
            f"{r['eval_return_mean']:.1f} | {cosine} | {fmt(r.get('load_average_1min'))} |")


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def profile_name(env: str) -> str:
    """The profile's results file: Pendulum's keeps the name it always had, another env's is
    named after it (so profiling Humanoid does not overwrite Pendulum's)."""
    return "bench_train_block_cost_profile" + ("" if env == "pendulum" else f"_{env}")


def profile_markdown(p: dict) -> str:
    pqc, fc = p["blocks"]["pqc"], p["blocks"]["fc"]
    lines = [f"# Where a run's time goes: {p['env']}, {p['steps']} steps, sync, cProfile", "",
             "cProfile inflates Python-heavy parts; compare the two columns, not absolute seconds. "
             "It sees the calling thread only: the local simulator (in the provider's worker "
             "thread) is inside the explorer sampling jobs' time.",
             "", "1-min load average {:.2f} before, {:.2f} after (2 CPUs, shared).".format(
                 *p.get("load_average", [float("nan")] * 2)),
             "", f"Wall: pqc {pqc['wall_s']:.1f} s, fc {fc['wall_s']:.1f} s "
             f"({pqc['wall_s'] / fc['wall_s']:.2f}x).", "", "| part | pqc s | fc s |",
             "|---|---:|---:|"]
    lines += [f"| {k} | {v:.1f} | {fc['buckets_s'][k]:.1f} |" for k, v in pqc["buckets_s"].items()]
    for block in ("pqc", "fc"):
        lines += ["", f"Top own time, {block}:", "", "| function | s |", "|---|---:|"]
        lines += [f"| `{k}` | {v:.2f} |" for k, v in p["blocks"][block]["top_own_s"].items()]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="pendulum,humanoid", help="comma list: pendulum, humanoid")
    p.add_argument("--steps", type=int, help="steps (default: pendulum 5000, humanoid 3000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=1, help="interleaved pqc/fc rounds (medians)")
    p.add_argument("--add-rounds", action="store_true",
                   help="continue the results file's comparison of each env with --rounds more")
    p.add_argument("--profile", action="store_true", help="profile one sync run of each block instead")
    args = p.parse_args()
    envs = [e for e in args.env.split(",") if e]
    if set(envs) - set(DEFAULT_STEPS):
        p.error(f"--env takes {sorted(DEFAULT_STEPS)}")
    load = list(os.getloadavg())
    if args.profile:
        prof = profile(envs[0], args.seed, args.steps or DEFAULT_STEPS[envs[0]])
        prof["command"] = " ".join(["benchmarks/bench_train_block_cost.py", *sys.argv[1:]])
        write_results(profile_name(envs[0]), prof, profile_markdown(prof))
        return
    steps = {env: args.steps or DEFAULT_STEPS[env] for env in envs}
    fresh = [{**compare(env, args.seed, steps[env], args.rounds,
                        earlier_rounds(env, steps[env]) if args.add_rounds else None),
              "target": TARGET} for env in envs]
    data = {"command": " ".join(["benchmarks/bench_train_block_cost.py", *sys.argv[1:]]),
            "comparisons": merged(fresh), "target": f"<= {TARGET}", "load_average_at_start": load,
            "load_average_at_end": list(os.getloadavg())}
    write_results("bench_train_block_cost", data, markdown(data))


if __name__ == "__main__":
    main()
