"""`qhil train` SIGKILLed at seeded points and resumed each time: nothing bought twice, nothing lost.

    .venv/bin/python benchmarks/bench_train_kill_resume.py [--steps 10000] [--kills 12] [--seed 0]

Part 1, kill and resume. A Pendulum pqc run (configs/pendulum-pqc.toml, 2 envs, 16 shots, a
2-episode evaluation every steps/4 and at the end, a checkpoint every steps/10) on a chaos profile
that bills per task and per shot (calibration/chaos-priced.toml: $0.30 a task), whose jobs live in
a service folder, as a cloud service's do. The parent starts `python -m qhil train --out`, SIGKILLs
it at seeded points - before the first checkpoint, during checkpoint writes (a checkpoints/.tmp-*
folder exists), during periodic evaluations and the final one, at seeded steps - and resumes it
with `qhil train --resume` each time, to the configured steps. It then counts:
  - results bought twice: paid ledger rows per request hash beyond the first, and requests the
    chaos service itself ran more than once (its own job store);
  - transitions lost: steps the journal lacks (the rebuilt replay must hold every step);
  - whether the run ended at its step count, and the ledger's jobs, circuits, shots and dollars
    against `qhil estimate --config` of the same file.
Part 2, corrupt checkpoint: the finished run's newest checkpoint is truncated, and the run resumed
with a raised --steps: it must fall back to the previous checkpoint (one-line warning) and finish.
Part 3, explorer speed: `Explorer.step` on `local` with the journal against the same explorer with
a journal that writes nothing (today's explorer), interleaved rounds in one process.
Writes bench_train_kill_resume.{json,md} into runs/benchmarks/ (benchmarks/results/ with
--update-results; the committed figures were written so).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _results import results_dir  # noqa: E402  (benchmarks/ is on sys.path)

RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)
PROFILE = """name = "chaos-billed"
kind = "chaos"
device = "embedded"
description = "local simulator behind seeded latency, priced per task and shot, jobs in a folder"
calibration = "calibration/chaos-priced.toml"
[limits]
max_qubits = 24
[retry]
max_attempts = 12
initial_backoff_s = 0.001
max_backoff_s = 0.01
jitter_s = 0.001
[options]
inner = "local"
seed = 11
latency_median_s = 0.002
latency_p95_s = 0.01
submit_failure_rate = 0.05
service_dir = "{service}"
"""


def write_setup(work: Path, steps: int, overrides: dict | None = None) -> Path:
    """The benchmark's profile and training config (pendulum-pqc.toml, scaled as described;
    `overrides`: further dotted settings, e.g. a gradient method and a smaller circuit)."""
    from qhil.rl.config import dump_toml, load_train_config

    (work / "chaos-billed.toml").write_text(PROFILE.format(service=work / "service"))
    config = load_train_config(ROOT / "configs" / "pendulum-pqc.toml").with_overrides(**{
        "provider": str(work / "chaos-billed.toml"), "steps": steps, "num_envs": 2,
        "quantum.shots": 16, "eval.episodes": 2, "eval.every_steps": steps // 4,
        "loop.checkpoint_every_steps": steps // 10, "loop.device": "cpu", **(overrides or {})})
    path = work / "train.toml"
    path.write_text(dump_toml(config))
    return path


def qhil(*argv: str) -> list[str]:
    return [sys.executable, "-m", "qhil", *argv]


def spawn(argv: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=open(log, "a"),
                            stderr=subprocess.STDOUT)


# what the parent watches -------------------------------------------------------------------------

def query(path: Path, sql: str) -> list[tuple]:
    if not path.exists():
        return []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()
    except sqlite3.OperationalError:
        return []


def journal_steps(run: Path) -> int:
    rows = query(run / "transitions.sqlite", "SELECT COUNT(*) FROM steps")
    return rows[0][0] if rows else 0


def open_eval(run: Path, prefix: str) -> bool:
    rows = query(run / "transitions.sqlite", "SELECT name FROM evals WHERE returns IS NULL")
    return any(r[0].startswith(prefix) for r in rows)


def checkpoint_writes(run: Path) -> set[str]:
    """Checkpoint folders being written (a resumed run removes those a kill left)."""
    folder = run / "checkpoints"
    try:
        return {p.name for p in folder.iterdir() if p.name.startswith(".tmp-")}
    except OSError:
        return set()


def plan(steps: int, kills: int, seed: int) -> list[dict]:
    """Seeded kill points; each waits for a step count, then (for some kinds) for a moment."""
    rng = np.random.default_rng(seed)
    every_ckpt, every_eval = steps // 10, steps // 4
    out = [{"kind": "before-first-checkpoint",
            "at": int(rng.integers(every_ckpt // 5, every_ckpt - every_ckpt // 10))}]
    for k in (1, 2):
        out.append({"kind": "evaluation", "at": k * every_eval})
    for _ in range(3):
        out.append({"kind": "checkpoint-write", "at": int(rng.integers(every_ckpt, steps - 100))})
    out.append({"kind": "final-evaluation", "at": steps})
    while len(out) < kills:
        out.append({"kind": "step", "at": int(rng.integers(every_ckpt, steps))})
    for kill in out:
        kill["delay_s"] = round(float(rng.uniform(0, 0.2)), 3)
    return sorted(out[:kills], key=lambda k: (k["at"], k["kind"] == "final-evaluation"))


def kill_when_ready(proc: subprocess.Popen, run: Path, kill: dict, limit_s: float) -> dict:
    deadline = time.monotonic() + limit_s
    stale = checkpoint_writes(run)  # left by the last kill, until the new process cleans them
    ready = {"evaluation": lambda: open_eval(run, "step-"),
             "final-evaluation": lambda: open_eval(run, "final-"),
             "checkpoint-write": lambda: bool(checkpoint_writes(run) - stale),
             }.get(kill["kind"], lambda: True)
    while time.monotonic() < deadline and proc.poll() is None:
        if journal_steps(run) * 2 >= kill["at"]:
            break
        time.sleep(0.01)
    if kill["kind"] != "checkpoint-write":
        time.sleep(kill["delay_s"])
    while time.monotonic() < deadline and proc.poll() is None and not ready():
        time.sleep(0.0005 if kill["kind"] == "checkpoint-write" else 0.005)
    hit = proc.poll() is None and ready()
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return {**kill, "killed": hit, "steps_at_kill": 2 * journal_steps(run),
            "jobs_in_flight_at_kill": len(query(run / "ledger.sqlite", "SELECT token FROM jobs "
                                                "WHERE status IN (0, 1)")),  # in flight
            "checkpoint_tmp_left": bool(checkpoint_writes(run))}


def kill_and_resume(work: Path, config: Path, steps: int, kills: list[dict]) -> dict:
    run, log = work / "run", work / "train.log"
    started = time.perf_counter()
    proc = spawn(qhil("train", "--config", str(config), "--out", str(run), "--yes"), log)
    done = []
    for kill in kills:
        done.append(kill_when_ready(proc, run, kill, limit_s=900))
        print(f"killed: {done[-1]}", flush=True)
        proc = spawn(qhil("train", "--resume", str(run), "--yes", "--json"), log)
    rc = proc.wait()
    return {"kills": done, "final_rc": rc, "wall_s": time.perf_counter() - started}


# the audit ---------------------------------------------------------------------------------------

def audit(work: Path, config: Path, steps: int) -> dict:
    from qhil.adapters.chaos_spool import JobSpool
    from qhil.execution.ledger import Ledger

    run = work / "run"
    with Ledger(run / "ledger.sqlite") as ledger:
        totals = ledger.totals()
        statuses = Counter(e.status for e in ledger.entries())
    service = Counter(job.request_hash for job in JobSpool(work / "service").jobs())
    vsteps = [r[0] for r in query(run / "transitions.sqlite", "SELECT vstep FROM steps")]
    summary = json.loads((run / "summary.json").read_text())
    method = (summary.get("gradient") or "qtdnn").replace("-", "_")
    estimate = last_json(subprocess.run(
        qhil("estimate", "--config", str(config), "--json"), cwd=ROOT, capture_output=True,
        text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True).stdout)[method]
    return {
        "ledger_paid_jobs": totals.jobs, "ledger_results_bought_twice": totals.resubmitted,
        "ledger_statuses": {k.value: v for k, v in statuses.items()},
        "service_jobs": sum(service.values()),
        "service_requests_run_twice": sum(n - 1 for n in service.values() if n > 1),
        "journal_steps": len(vsteps) * 2, "transitions_lost": steps - 2 * len(set(vsteps)),
        "replay_rebuilt": rebuilt_replay_size(run, config),
        "summary_steps": summary["steps"],
        "ledger": {"jobs": totals.jobs, "circuits": totals.circuits, "shots": totals.shots,
                   "cost_usd": str(totals.cost_usd)},
        "estimate": {k: estimate[k] for k in ("jobs", "circuits", "shots", "cost_usd")},
    }


def last_json(text: str) -> dict:
    """The JSON object a command printed last (after any estimate lines)."""
    return json.loads(text[text.index("{\n") if not text.startswith("{") else 0:])


def rebuilt_replay_size(run: Path, config: Path) -> int:
    from qhil.quantum.ansatz import HDQNNAnsatz
    from qhil.rl.buffers import PairBuffer, ReplayBuffer
    from qhil.rl.config import load_train_config
    from qhil.rl.journal import Journal, Layout
    from qhil.rl.run import Session, env_dims  # noqa: F401  (Session builds the same buffers)

    c = load_train_config(config)
    obs, act, _, _ = env_dims(c.env)
    ansatz = HDQNNAnsatz(c.quantum.qubits, c.quantum.layers, c.quantum.entangler)
    replay = ReplayBuffer(c.td3.buffer_size, obs, act, ansatz.control_dim, c.quantum.qubits)
    pairs = PairBuffer(c.qtdnn.buffer_size, ansatz.control_dim, c.quantum.qubits)
    journal = Journal(run / "transitions.sqlite", Layout(obs, act, ansatz.control_dim, c.quantum.qubits))
    try:
        journal.replay_into(replay, pairs, with_pairs=True)
    finally:
        journal.close()
    return replay.size


def corrupt_and_resume(work: Path, steps: int) -> dict:
    """Truncate the newest checkpoint, resume with more steps: the previous one must be used."""
    run = work / "run"
    newest = sorted((run / "checkpoints").glob("step-*"))[-1]
    state = newest / "state.pt"
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    out = subprocess.run(qhil("train", "--resume", str(run), "--steps", str(steps + 200),
                              "--yes", "--json"), cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    warnings = [line for line in out.stderr.splitlines() if "warning: checkpoint" in line]
    summary = last_json(out.stdout) if out.returncode == 0 else {}
    return {"truncated": newest.name, "rc": out.returncode, "warning": warnings[:1],
            "steps": summary.get("steps"), "expected_steps": steps + 200}


# part 4: qhil qtrl --provider local, killed and resumed -----------------------------------------

QTRL = ["--env", "CartPole-v1", "--blocks", "2", "--seed", "4", "--shots", "200",
        "--checkpoint-every", "5"]


def ledger_done(path: Path) -> int:
    rows = query(path, "SELECT COUNT(*) FROM jobs WHERE status = 2")  # DONE
    return rows[0][0] if rows else 0


def qtrl_kill_resume(work: Path, episodes: int, kills: int, seed: int,
                     provider: tuple[str, ...] = ("--provider", "local"),
                     in_flight: bool = False) -> dict:
    """SIGKILL `qhil qtrl` after seeded numbers of paid jobs (`in_flight`: and then once its
    next job is sent, not answered), resume each time, audit the ledger (`provider`: the flags
    that choose it, and --yes and a budget for one that bills)."""
    from qhil.execution.ledger import Ledger

    out, log = work / "qtrl", work / "qtrl.log"
    rng = np.random.default_rng(seed + 1)
    targets = sorted(int(t) for t in rng.integers(2, episodes - 2, size=kills))
    proc = spawn(qhil("qtrl", *QTRL, *provider, "--episodes", str(episodes), "--out", str(out)), log)
    at, flying = [], []
    for target in targets:
        while proc.poll() is None and ledger_done(out / "ledger.sqlite") < target:
            time.sleep(0.005)
        deadline = time.monotonic() + 30
        while in_flight and proc.poll() is None and time.monotonic() < deadline and \
                not sent_unanswered(out / "ledger.sqlite"):
            time.sleep(0.002)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        at.append(ledger_done(out / "ledger.sqlite"))
        flying.append(sent_unanswered(out / "ledger.sqlite"))
        resume = [a for a in provider if a in ("--yes",)] + _budget_flags(provider)
        proc = spawn(qhil("qtrl", "--resume", str(out), "--episodes", str(episodes), *resume), log)
    rc = proc.wait()
    with Ledger(out / "ledger.sqlite") as ledger:
        totals, paid = ledger.totals(), [e for e in ledger.entries() if e.billed]
    seen: set[str] = set()
    twice = 0
    for entry in paid:  # shots of paid jobs whose request had been paid before
        twice += entry.shots if entry.request_hash in seen else 0
        seen.add(entry.request_hash)
    summary = json.loads((out / "summary.json").read_text())
    return {"episodes": episodes, "killed_after_jobs": at, "jobs_in_flight_at_kill": flying,
            "final_rc": rc,
            "ledger_jobs": totals.jobs, "ledger_shots": totals.shots, "shots_bought_twice": twice,
            "results_bought_twice": totals.resubmitted, "summary_episodes": summary.get("episodes"),
            "summary_hw_jobs": summary["hw"]["jobs"]}


def sent_unanswered(path: Path) -> int:
    """Jobs the ledger shows reserved or sent and not yet answered."""
    return len(query(path, "SELECT token FROM jobs WHERE status IN (0, 1)"))


def _budget_flags(provider: tuple[str, ...]) -> list[str]:
    """The --budget-* flags (with their values) among `provider`'s, for the resume."""
    return [w for i, w in enumerate(provider) if w.startswith("--budget-") or
            (i and provider[i - 1].startswith("--budget-"))]


# part 3: the explorer's steps/s, journal against none --------------------------------------------

class NoJournal:
    """Today's explorer: nothing written."""

    def intend(self, vstep, q_in) -> None: ...

    def append(self, vstep, rows, episodes) -> None: ...


def explorer_speed(work: Path, rounds: int, steps_per_round: int) -> dict:
    import torch

    from qhil.execution.registry import get_provider
    from qhil.rl.config import load_train_config
    from qhil.rl.run import Session, open_run_dispatcher
    from qhil.rl.rundir import RunFolder

    torch.set_num_threads(1)
    config = load_train_config(ROOT / "configs" / "pendulum-pqc.toml").with_overrides(
        **{"num_envs": 2, "quantum.shots": 16, "loop.device": "cpu"})
    rates: dict[str, list[float]] = {"journal": [], "none": []}
    with get_provider("local") as provider:
        folder = RunFolder(work / "speed")
        folder.create(config)
        dispatcher = open_run_dispatcher(folder, provider, None)
        s = Session(config, folder, dispatcher)
        explorers = {"journal": s.explorer.journal, "none": NoJournal()}
        for index in range(rounds):  # ABBA order, so drift in the machine's load cancels
            order = list(explorers) if index % 2 == 0 else list(explorers)[::-1]
            for name in order:
                s.explorer.journal = explorers[name]
                started = time.perf_counter()
                for _ in range(steps_per_round):
                    s.explorer.step()
                rates[name].append(2 * steps_per_round / (time.perf_counter() - started))
        s.explorer.journal = explorers["journal"]
        s.journal.close()
        dispatcher.ledger.close()
    med = {k: float(np.median(v)) for k, v in rates.items()}
    pairs = [a / b for a, b in zip(rates["journal"], rates["none"], strict=True)]
    return {"steps_per_s_median": med, "ratio_journal_over_none": float(np.median(pairs)),
            "ratio_per_round": [round(x, 3) for x in pairs],
            "rounds": rounds, "vector_steps_per_round": steps_per_round, "provider": "local"}


def qtrl_lines(q: dict | None) -> list[str]:
    if not q:
        return []
    return [f"- qhil qtrl --provider local, {q['episodes']} episodes, SIGKILLed after "
            f"{q['killed_after_jobs']} paid jobs and resumed: final rc {q['final_rc']}, ledger "
            f"{q['ledger_jobs']} jobs / {q['ledger_shots']} shots, shots bought twice "
            f"{q['shots_bought_twice']}, results bought twice {q['results_bought_twice']}"]


def markdown(result: dict) -> str:
    a, k, c, sp = result["audit"], result["kill_resume"], result["corrupt"], result["speed"]
    lines = [
        "# qhil train killed and resumed (benchmarks/bench_train_kill_resume.py)", "",
        f"Command: `{result['command']}`; machine load: {result['uptime']}", "",
        f"Run: {result['steps']} steps of configs/pendulum-pqc.toml, 2 envs, 16 shots, on a chaos "
        "profile billing $0.30 per task + $0.00145 per shot; "
        f"{sum(x['killed'] for x in k['kills'])} of {len(k['kills'])} SIGKILLs landed at their "
        f"kind of point; final exit code {k['final_rc']}; wall {k['wall_s']:.0f} s.", "",
        "| kill | kind | waited for step | steps at kill | jobs in flight | landed |",
        "| --- | --- | --- | --- | --- | --- |",
        *[f"| {i + 1} | {x['kind']} | {x['at']} | {x['steps_at_kill']} | "
          f"{x['jobs_in_flight_at_kill']} | {x['killed']} |" for i, x in enumerate(k["kills"])],
        "",
        f"- results bought twice: ledger {a['ledger_results_bought_twice']}, chaos service "
        f"{a['service_requests_run_twice']} (service jobs {a['service_jobs']}, ledger paid "
        f"jobs {a['ledger_paid_jobs']})",
        f"- transitions lost: {a['transitions_lost']} (journal {a['journal_steps']} steps, "
        f"rebuilt replay {a['replay_rebuilt']}, summary steps {a['summary_steps']})",
        f"- ledger {a['ledger']} vs estimate {a['estimate']}: "
        f"{'agree' if all(a['ledger'][k] == a['estimate'][k] for k in ('jobs', 'circuits', 'shots')) else 'DISAGREE'}"
        " (jobs, circuits, shots)",
        f"- corrupt newest checkpoint ({c['truncated']} truncated): rc {c['rc']}, steps "
        f"{c['steps']} of {c['expected_steps']}, warning {c['warning']}",
        f"- explorer steps/s on local (median of {sp['rounds']} interleaved rounds of "
        f"{sp['vector_steps_per_round']} vector steps): journal "
        f"{sp['steps_per_s_median']['journal']:.0f}, none {sp['steps_per_s_median']['none']:.0f},"
        f" median ratio per round {sp['ratio_journal_over_none']:.3f} (target >= 0.9)",
        *qtrl_lines(result.get("qtrl")),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed-rounds", type=int, default=20)
    parser.add_argument("--qtrl-episodes", type=int, default=40)
    parser.add_argument("--only-qtrl", action="store_true", help="Run part 4 alone (its own "
                        "results file, bench_train_kill_resume_qtrl.json).")
    parser.add_argument("--keep", help="Work folder to keep (default: a temporary one).")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="qhil-kill-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.only_qtrl:
        qtrl = qtrl_kill_resume(work, args.qtrl_episodes, 3, args.seed)
        qtrl["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        (RESULTS / "bench_train_kill_resume_qtrl.json").write_text(json.dumps(qtrl, indent=2) + "\n")
        print(json.dumps(qtrl, indent=2))
        return
    config = write_setup(work, args.steps)
    kills = plan(args.steps, args.kills, args.seed)
    result = {"command": " ".join(["python", "benchmarks/bench_train_kill_resume.py", *sys.argv[1:]]),
              "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
              "steps": args.steps}
    result["kill_resume"] = kill_and_resume(work, config, args.steps, kills)
    result["audit"] = audit(work, config, args.steps)
    result["corrupt"] = corrupt_and_resume(work, args.steps)
    result["speed"] = explorer_speed(work, args.speed_rounds, 150)
    result["qtrl"] = qtrl_kill_resume(work, args.qtrl_episodes, 3, args.seed)
    (RESULTS / "bench_train_kill_resume.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "bench_train_kill_resume.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
