"""Issue 28's sweep target at its own size: 2 blocks x 3 seeds of a short Pendulum config on
local Ray, the driver SIGKILLed midway (its whole process group: the local cluster and the trial
workers) and resumed.

    .venv/bin/python benchmarks/check_sweep_resume.py [--steps 1200] [--update-results]

The suite runs the same path at 2 x 2 (tests/sweep/test_sweep_ray.py, whose helpers this script
uses); this is the issue's 2 x 3. The config is the suite's tiny Pendulum one (2 qubits x 1 layer,
sync loop) at `--steps`. Checks: 6 run folders; the trials finished before the kill untouched
(their summary, metrics and ledger files' modification times); every pqc trial's ledger holds one
job per distinct request (nothing that ran was bought twice) and as many as one trial buys; the
report's two cells with seeds [0, 1, 2]; report.{md,html,json} and curves.png written. Writes
check_sweep_resume.{json,md} (runs/benchmarks/, or benchmarks/results/ with --update-results).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import machine_load, results_dir  # noqa: E402

from tests.sweep.conftest import TINY  # noqa: E402
from tests.sweep.test_sweep_ray import (  # noqa: E402
    fingerprint,
    kill_group,
    ledger_jobs,
    sweep,
    training,
    wait_for,
)

SEEDS = (0, 1, 2)


def run(steps: int, tmp: Path) -> dict:
    """The sweep, killed while pqc seed 1 trains (grid order pqc 0, fc 0, pqc 1, ...), resumed."""
    config, out = tmp / "tiny.toml", tmp / "sweeps" / "tiny"
    config.write_text(TINY.format(provider="local").replace("steps = 300", f"steps = {steps}"))
    argv = ["--config", str(config), "--grid", "block=pqc,fc", "--seeds", "0-2",
            "--cpus-per-trial", "0.5", "--max-concurrent", "1", "--out", str(out)]
    started = time.perf_counter()
    first = sweep(argv, str(tmp))
    try:
        wait_for(lambda: training(out / "runs" / "block=pqc_seed=1"), 900, first)
    finally:
        kill_group(first)
    done = {p.name: fingerprint(p) for p in (out / "runs").glob("*") if (p / "summary.json").exists()}
    again = sweep(["--resume", str(out)], str(tmp))
    try:
        text = again.communicate(timeout=1500)[0]
    finally:
        kill_group(again)
    return figures(out, done, again.returncode, text, steps) | {
        "wall_s": round(time.perf_counter() - started, 1)}


def figures(out: Path, done: dict, returncode: int, text: str, steps: int) -> dict:
    runs = out / "runs"
    report = json.loads((out / "report.json").read_text()) if returncode == 0 else {"cells": []}
    jobs = {seed: ledger_jobs(runs / f"block=pqc_seed={seed}") for seed in SEEDS}
    return {
        "resume_exit_code": returncode, "resume_tail": text[-400:] if returncode else "",
        "run_folders": sorted(p.name for p in runs.iterdir()),
        "finished_before_kill": sorted(done),
        "finished_untouched": {n: fingerprint(runs / n) == f for n, f in done.items()},
        "pqc_jobs_and_distinct_requests": {str(s): list(j) for s, j in jobs.items()},
        "pqc_jobs_expected": steps + 200,  # one a step, then one 200-step final episode
        "report_cells": [[c["values"], c["seeds"]] for c in report["cells"]],
        "outputs": {f: (out / f).is_file() for f in ("report.md", "report.html", "report.json",
                                                     "curves.png")}}


def verdicts(r: dict) -> dict:
    expected = [f"block={b}_seed={s}" for b in ("fc", "pqc") for s in SEEDS]
    return {
        "six run folders": r["run_folders"] == expected,
        "finished trials not run again": bool(r["finished_untouched"])
        and all(r["finished_untouched"].values()),
        "nothing bought twice": all(j == d == r["pqc_jobs_expected"]
                                    for j, d in r["pqc_jobs_and_distinct_requests"].values()),
        "table cells with seeds 0-2": [c[1] for c in r["report_cells"]] == [list(SEEDS)] * 2,
        "report and curves written": all(r["outputs"].values())}


def markdown(r: dict) -> str:
    lines = ["# `qhil sweep` killed midway and resumed: 2 blocks x 3 seeds (issue 28)", "",
             f"Command: `{r['command']}`; load (1/5/15 min) {r['load_before']} before, "
             f"{r['load_after']} after; {r['wall_s']} s in all.", "",
             "| check | result | figure |", "|---|---|---|"]
    shown = {"six run folders": r["run_folders"], "finished trials not run again":
             r["finished_before_kill"], "nothing bought twice":
             r["pqc_jobs_and_distinct_requests"], "table cells with seeds 0-2": r["report_cells"],
             "report and curves written": r["outputs"]}
    for check, ok in r["verdicts"].items():
        lines.append(f"| {check} | {'met' if ok else 'MISSED'} | `{json.dumps(shown[check])}` |")
    lines += ["", "Jobs figure: per pqc seed, [jobs that ran, distinct requests among them]; "
              f"one trial buys {r['pqc_jobs_expected']} ({r['steps']} exploration steps and a "
              "200-step final episode)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    command = " ".join(["python benchmarks/check_sweep_resume.py", *sys.argv[1:]])
    out = results_dir()  # takes --update-results off the command line
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1200)
    args = p.parse_args()
    before = machine_load()
    with tempfile.TemporaryDirectory(prefix="qs") as tmp:
        r = run(args.steps, Path(tmp))
    r |= {"steps": args.steps, "load_before": before, "load_after": machine_load(),
          "command": command}
    r["verdicts"] = verdicts(r)
    (out / "check_sweep_resume.json").write_text(json.dumps(r, indent=2) + "\n")
    (out / "check_sweep_resume.md").write_text(markdown(r))
    print(markdown(r))


if __name__ == "__main__":
    main()
