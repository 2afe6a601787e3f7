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

Each experiment is a module of its own (science_humanoid.py, science_idp.py,
science_pendulum.py, science_noisy.py) over the shared run helpers of _science_runs.py;
this script parses the flags, runs one and writes its results and the joined report.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import _science_runs as shared
from _results import COMMITTED
from _train_common import RESULTS, ROOT, write_results
from science_humanoid import HUMANOID, humanoid_markdown, humanoid_runs, humanoid_targets
from science_idp import idp_markdown, idp_runs, idp_target, margins
from science_noisy import (
    NOISY,
    NOISY_LOG_EVERY,
    NOISY_PROFILES,
    PRICE_ON,
    noisy_markdown,
    noisy_runs,
    noisy_targets,
)
from science_pendulum import PENDULUM, pendulum_markdown, pendulum_runs, pendulum_targets

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
    """One line per target of issue 25 items 5-7, from the experiments' JSON."""
    lines = humanoid_targets(data.get("humanoid-fidelity", {}).get("runs", []))
    lines += [idp_target(d) for name, d in data.items() if name.startswith("idp") and d.get("margins")]
    lines += pendulum_targets(data.get("pendulum-10x10", {}).get("runs", []))
    return lines + [x for name, d in data.items() if name.startswith("noisy")
                    for x in noisy_targets(d["runs"], d["steps"])]


def main() -> None:
    args = parse()
    if args.out:
        shared.OUT = args.out.resolve()
    sys.path.insert(0, str(ROOT))
    command = "benchmarks/bench_science.py " + shlex.join(sys.argv[1:])
    data, md = run_experiment(args, command)
    name = args.experiment if args.experiment not in ("idp", "noisy") else f"{args.experiment}-{args.steps}steps"
    write_results(f"science_{name}", data, md[1:])  # "## ..." -> "# ..."
    if RESULTS == COMMITTED:
        joined_markdown()


def run_experiment(args: argparse.Namespace, command: str) -> tuple[dict, str]:
    """Train (unless --report-only) and report the chosen experiment: its JSON and markdown."""
    if args.experiment == "humanoid-fidelity":
        rows = humanoid_runs(args)
        return {"command": command, "runs": rows}, humanoid_markdown(rows, command)
    if args.experiment == "noisy":
        rows = noisy_runs(args)
        data = {"command": command, "steps": args.steps, "price_on": PRICE_ON, "runs": rows}
        return data, noisy_markdown(rows, command)
    if args.experiment == "pendulum-10x10":
        rows = pendulum_runs(args)
        return {"command": command, "steps": args.steps, "runs": rows}, pendulum_markdown(rows, command)
    rows = idp_runs(args)
    data = {"command": command, "steps": args.steps, "runs": rows, "margins": margins(rows)}
    return data, idp_markdown(rows, command)


if __name__ == "__main__":
    main()
