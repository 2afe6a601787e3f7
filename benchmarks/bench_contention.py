"""Training beside other work: two `qhil train` runs started together against the same two one
after another, and one run beside a CPU-bound process against alone; the code before the thread
plan (issue 27) against this checkout, interleaved in one run.

    .venv/bin/python benchmarks/bench_contention.py [--steps 700] [--learning-starts 200]
        [--repeats 1] [--limit-s 240] [--before REF]

Each run is `python -m qhil train` of configs/pendulum.toml with `--steps`, `--learning-starts`
(200, so that most steps learn: the learner's threads are what is measured) and no evaluation, in
a fresh interpreter. A run still going after `--limit-s` (a collapsed one) is stopped; its steps/s
is what its last metrics row reached, and its time a lower bound (marked >). `before` is REF's code (`git archive REF`, default the commit this work started
from) with torch's OpenMP wait policy left at its default (spin); `after` is this checkout with its
defaults. Figures: wall time of the processes (start-up included), and the runs' own steps/s.
Targets: together <= 1.1x one after another; beside the CPU hog >= 45% of alone's steps/s; alone
no slower than before. Writes benchmarks/results/contention.{json,md}, the machine load beside
every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import tomllib
from _results import machine_load
from _train_common import ROOT, RUNS, write_results

from qhil.files import toml_text  # noqa: E402

BEFORE_REF = "18ed8a0"  # threads: every core to the learner, OpenMP spinning, free-running learner
OUT = RUNS / "contention"
HOG = "while True: pass"


def source_tree(ref: str) -> Path:
    """REF's files in a temporary folder (its qhil package runs the `before` variant)."""
    data = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="qhil-before-"))
    tarfile.open(fileobj=BytesIO(data)).extractall(folder, filter="data")
    return folder


def variant_env(tree: Path) -> dict[str, str]:
    """The run's environment: the tree's qhil first; no wait policy inherited from this script."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "QHIL_CPUS")}
    return {**env, "PYTHONPATH": str(tree), "PYTHONWARNINGS": "ignore"}


def config_file(steps: int, learning_starts: int) -> Path:
    """configs/pendulum.toml with one final evaluation episode and no periodic ones (only keys
    both variants know: the old code skipped evaluation with episodes = 0, which the new code
    refuses, so both evaluate one episode at the end)."""
    data = tomllib.loads((ROOT / "configs" / "pendulum.toml").read_text())
    data["steps"], data["eval"]["episodes"], data["eval"]["every_steps"] = steps, 1, 0
    data["td3"]["learning_starts"] = learning_starts
    path = OUT / "pendulum.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(toml_text(data))
    return path


class Runner:
    """Starts `qhil train` runs of one variant and times them."""

    def __init__(self, name: str, tree: Path, config: Path, limit_s: float):
        self.name, self.tree, self.env, self.config = name, tree, variant_env(tree), config
        self.limit_s = limit_s
        self.count = 0

    def start(self) -> tuple[subprocess.Popen, float]:
        self.count += 1
        out = OUT / f"{self.name}-{self.count}"
        cmd = [sys.executable, "-m", "qhil", "train", "--config", str(self.config), "--out",
               str(out), "--json", "--quiet"]
        shutil.rmtree(out, ignore_errors=True)
        return subprocess.Popen(cmd, cwd=self.tree, env=self.env, stdout=subprocess.PIPE,  # `-m`
                                stderr=subprocess.PIPE, text=True), time.perf_counter()  # cwd first

    def finish(self, proc: subprocess.Popen, started: float) -> dict:
        """The run's figures; one still running at the time limit is stopped, and its figures
        are where its last metrics row got to (`completed` false: its time is a lower bound)."""
        try:
            out, err = proc.communicate(timeout=max(1.0, started + self.limit_s - time.perf_counter()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return self.stopped(started, Path(proc.args[proc.args.index("--out") + 1]))
        if proc.returncode != 0:
            raise RuntimeError(f"qhil train failed: {err.strip().splitlines()[-1:]}")
        s = json.loads(out)
        return {"process_s": time.perf_counter() - started, "steps_per_s": s["steps_per_s"],
                "updates": s["updates"], "threads": s.get("threads"), "completed": True}

    @staticmethod
    def stopped(started: float, out: Path) -> dict:
        rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x]
        last = [r for r in rows if "time/wall_s" in r][-1]
        return {"process_s": time.perf_counter() - started, "completed": False,
                "steps": last["step"], "updates": last["updates"],
                "steps_per_s": last["step"] / last["time/wall_s"]}


def alone_twice(runner: Runner) -> dict:
    """Two runs one after another: each is also the `alone` figure."""
    runs = [runner.finish(*runner.start()) for _ in range(2)]
    return {"runs": runs, "wall_s": sum(r["process_s"] for r in runs)}


def together(runner: Runner) -> dict:
    started = [runner.start() for _ in range(2)]
    runs = [runner.finish(*s) for s in started]
    return {"runs": runs, "wall_s": max(r["process_s"] for r in runs)}


def beside_hog(runner: Runner) -> dict:
    hog = subprocess.Popen([sys.executable, "-c", HOG])
    try:
        run = runner.finish(*runner.start())
    finally:
        hog.kill()
        hog.wait()
    return {"runs": [run], "wall_s": run["process_s"]}


MICRO = """
import sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
net = torch.nn.Sequential(torch.nn.Linear(5, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                          torch.nn.ReLU(), torch.nn.Linear(256, 1))
opt, x = torch.optim.Adam(net.parameters()), torch.randn(256, 5)
def update():
    loss = net(x).pow(2).mean(); opt.zero_grad(); loss.backward(); opt.step()
for _ in range(20): update()
started = time.perf_counter()
for _ in range(200): update()
print((time.perf_counter() - started) / 200 * 1e3)
"""
MICRO_VARIANTS = {"2 threads, default wait (spin)": (2, None), "2 threads, PASSIVE": (2, "PASSIVE"),
                  "1 thread": (1, None)}


def micro(threads: int, policy: str | None) -> float:
    """ms per update of MICRO in a fresh interpreter (libgomp reads the policy at torch import)."""
    env = variant_env(ROOT) | ({"OMP_WAIT_POLICY": policy} if policy else {})
    out = subprocess.run([sys.executable, "-c", MICRO, str(threads)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(out)


def mechanism(repeats: int) -> list[dict]:
    """A critic-sized Adam update (256 x 256 MLP, batch 256) under each thread count and wait
    policy, alone and beside a CPU hog: why the runs collapsed (issue 27)."""
    rows = []
    for hogged in (False, True):
        hog = subprocess.Popen([sys.executable, "-c", HOG]) if hogged else None
        try:
            rows += [{"variant": name, "beside_hog": hogged, "load": machine_load(),
                      "ms_per_update": micro(*setting)}
                     for _ in range(repeats) for name, setting in MICRO_VARIANTS.items()]
        finally:
            if hog:
                hog.kill()
                hog.wait()
    return rows


def mechanism_lines(rows: list[dict]) -> list[str]:
    lines = ["", "Why (one Adam update of a 256 x 256 MLP, batch 256, 200 timed; median ms):", "",
             "| torch threads, OpenMP wait | alone ms | beside a CPU hog ms |", "|---|---|---|"]
    for name in MICRO_VARIANTS:
        alone, hog = (statistics.median(r["ms_per_update"] for r in rows
                                        if r["variant"] == name and r["beside_hog"] == h)
                      for h in (False, True))
        lines.append(f"| {name} | {alone:.1f} | {hog:.1f} |")
    return lines


SCENARIOS = {"sequential": alone_twice, "together": together, "beside_hog": beside_hog}


def measure(runners: list[Runner], repeats: int) -> list[dict]:
    """Every scenario for every variant, interleaved (before, after, before, ...)."""
    rows = []
    for repeat in range(repeats):
        for scenario, fn in SCENARIOS.items():
            for runner in runners:
                load = machine_load()
                row = fn(runner)
                rows.append({"variant": runner.name, "scenario": scenario, "repeat": repeat,
                             "load_before": load, "load_after": machine_load(), **row})
                print(f"{runner.name:6s} {scenario:10s} {row['wall_s']:7.1f} s  load {load}",
                      flush=True)
    return rows


def figures(rows: list[dict], variant: str) -> dict:
    """Medians over repeats, and the issue's three ratios."""
    def pick(scenario, key):
        return statistics.median(x[key] for x in rows
                                 if x["variant"] == variant and x["scenario"] == scenario)

    def run_median(scenario, key):
        return statistics.median(r[key] for x in rows if x["variant"] == variant
                                 and x["scenario"] == scenario for r in x["runs"])

    def complete(scenario):
        return all(r["completed"] for x in rows if x["variant"] == variant
                   and x["scenario"] == scenario for r in x["runs"])

    seq, tog = pick("sequential", "wall_s"), pick("together", "wall_s")
    alone, hog = run_median("sequential", "steps_per_s"), run_median("beside_hog", "steps_per_s")
    return {"sequential_s": seq, "together_s": tog, "together_over_sequential": tog / seq,
            "alone_steps_per_s": alone, "beside_hog_steps_per_s": hog,
            "beside_hog_over_alone": hog / alone,
            "alone_process_s": run_median("sequential", "process_s"),
            "updates": run_median("sequential", "updates"),
            "complete": {name: complete(name) for name in SCENARIOS}}


def markdown(data: dict) -> str:
    lines = [f"# Training beside other work: {data['steps']} steps of configs/pendulum.toml "
             f"(learning from step {data['learning_starts']})", "",
             f"`{data['command']}`; {os.cpu_count()} cores; load (1, 5, 15 min) "
             f"{data['load_start']} at the start, {data['load_end']} at the end.", "",
             "| variant | alone s | alone steps/s | updates | two in a row s | two together s "
             "| together / in a row | beside hog steps/s | hog / alone |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, f in data["figures"].items():
        seq, tog = ("" if f["complete"][k] else ">" for k in ("sequential", "together"))
        lines.append(f"| {name} | {seq}{f['alone_process_s']:.1f} | {f['alone_steps_per_s']:.1f} "
                     f"| {f['updates']:.0f} | {seq}{f['sequential_s']:.1f} | {tog}"
                     f"{f['together_s']:.1f} | {f['together_over_sequential']:.2f}x "
                     f"| {f['beside_hog_steps_per_s']:.1f} | {f['beside_hog_over_alone']:.0%} |")
    lines += ["", "Targets: together / in a row <= 1.1x; hog / alone >= 45%; after's alone no "
              "slower than before's.", *mechanism_lines(data["mechanism"]), "", *data["notes"]]
    return "\n".join(lines)


NOTES = [
    "- before: every core to the learner's torch ops, OpenMP's default spin-wait, the learner "
    "free-running (up to 4 updates per transition); after: learner threads = cores less the "
    "explorer's, idle OpenMP threads sleep (OMP_WAIT_POLICY=PASSIVE), the learner holds "
    "updates_per_step (so it may run fewer updates: see the column).",
    "- The machine was shared with other sessions' tests and benchmarks while this ran: the "
    "load figures say how much; compare variants within this run only. Two runs together (or "
    "a run beside the hog) take a larger share of a machine that others load, so ratios under "
    "1x (or over 100%) say the load fell or was shared, not that contention helps.",
    "- A time marked > is a lower bound (the run was stopped at --limit-s), and so is the ratio "
    "beside it.",
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=700)
    p.add_argument("--limit-s", type=float, default=240.0,
                   help="stop a run after this long (a collapsed one); its figures are a bound")
    p.add_argument("--learning-starts", type=int, default=200)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--before", default=BEFORE_REF, help=f"git ref of the old code ({BEFORE_REF})")
    args = p.parse_args()
    config, load_start = config_file(args.steps, args.learning_starts), machine_load()
    before = source_tree(args.before)
    runners = [Runner("before", before, config, args.limit_s),
               Runner("after", ROOT, config, args.limit_s)]
    try:
        rows = measure(runners, args.repeats)
        micro_rows = mechanism(args.repeats)
    finally:
        shutil.rmtree(before)
    data = {"command": f"benchmarks/bench_contention.py --steps {args.steps} --learning-starts "
                       f"{args.learning_starts} --repeats {args.repeats} --limit-s {args.limit_s:g} "
                       f"--before {args.before}",
            "steps": args.steps, "learning_starts": args.learning_starts, "load_start": load_start, "load_end": machine_load(),
            "cpus": os.cpu_count(), "figures": {r.name: figures(rows, r.name) for r in runners},
            "rows": rows, "mechanism": micro_rows, "notes": NOTES}
    write_results("contention", data, markdown(data))


if __name__ == "__main__":
    main()
