"""kill -9 in the middle of 200 batches, then restart: nothing lost, nothing finished bought twice.

    .venv/bin/python benchmarks/bench_kill_resume.py [--batches 200] [--kills 2]

A real child process runs the batches through the Dispatcher with a ledger, keeping 4 jobs in
flight, and appends every result it uses to used.jsonl only after `result()` returned. The provider
is chaos over the local simulator (seeded latency, median 20 ms) with a `service_dir`: like a cloud
service, its jobs outlive the process that sent them, so a restarted process can re-attach by id. The parent `kill -9`s it once the ledger holds a
share of the results, restarts it on the same ledger, and at the end counts from the ledger:
results lost (used by a child but missing, or changed, in the ledger), finished jobs resubmitted
(a request hash with a result that got another job afterwards), jobs in flight at each kill and
whether they were re-attached; and from the service's own job store, requests it ran twice.
Writes benchmarks/results/bench_kill_resume.{json,md}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _results import results_dir  # noqa: E402  (benchmarks/ is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROFILE = """name = "chaos-service"
kind = "chaos"
device = "embedded"
[limits]
max_qubits = 24
[options]
inner = "local"
seed = 7
latency_median_s = 0.02
latency_p95_s = 0.08
service_dir = "{service}"
"""
WINDOW = 4
SHOTS = 50
RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)


# the child ---------------------------------------------------------------------------------------

def child(ledger_path: Path, used_path: Path, batches: int) -> None:
    profile = str(ledger_path.parent / "chaos-service.toml")
    from qhil import HDQNNAnsatz, get_provider
    from qhil.execution.dispatcher import Dispatcher
    from qhil.execution.ledger import Ledger

    ansatz = HDQNNAnsatz(4, 3)
    rng = np.random.default_rng(42)
    all_controls = rng.uniform(-np.pi, np.pi, (batches, 8, ansatz.control_dim))
    with get_provider(profile) as provider, Ledger(ledger_path) as ledger, \
            open(used_path, "a") as used:
        dispatcher = Dispatcher(provider, ledger=ledger)
        resumed = len(dispatcher.resume())
        for start in range(0, batches, WINDOW):
            jobs = [(i, dispatcher.submit(ansatz.request(all_controls[i], shots=SHOTS, seed=i)))
                    for i in range(start, min(start + WINDOW, batches))]
            for i, job in jobs:
                result = job.result(timeout_s=120)  # shots=SHOTS below
                used.write(json.dumps({"batch": i, "job_id": result.job_id,
                                       "marginals": digest(result.marginals)}) + "\n")
                used.flush()
        print(json.dumps({"resumed_at_start": resumed, **dispatcher.counters}), flush=True)


def digest(marginals: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(marginals, dtype=np.float64).tobytes()).hexdigest()


# the parent --------------------------------------------------------------------------------------

def spawn(ledger: Path, used: Path, batches: int) -> subprocess.Popen:
    cmd = [sys.executable, __file__, "--child", "--ledger", str(ledger), "--used", str(used),
           "--batches", str(batches)]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def rows(ledger: Path) -> list[tuple]:
    from qhil.execution.ledger import BY_CODE
    from qhil.execution.sqlite import unkey

    if not ledger.exists():
        return []
    db = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=30)
    try:
        rows = db.execute("SELECT token, id, request_hash, status, result, seq FROM jobs "
                          "ORDER BY seq").fetchall()  # ledger schema 2: codes and raw bytes
        return [(unkey(t), i, unkey(h), BY_CODE[st].value, res, seq)
                for t, i, h, st, res, seq in rows]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def kill_when(proc: subprocess.Popen, ledger: Path, done_at_least: int) -> dict:
    while sum(r[3] == "DONE" for r in rows(ledger)) < done_at_least:
        if proc.poll() is not None:
            raise SystemExit("the child finished before it could be killed; use more batches")
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    snapshot = rows(ledger)
    return {"done": {r[0]: (r[2], r[4]) for r in snapshot if r[3] == "DONE"},
            "in_flight": [r[0] for r in snapshot if r[3] in ("SUBMITTING", "SUBMITTED")]}


def used_results(used: Path) -> list[dict]:
    return [json.loads(line) for line in used.read_text().splitlines() if line.strip()]


def audit(ledger: Path, used: Path, kills: list[dict], batches: int) -> dict:
    from qhil.execution.resultcodec import decode_payload

    final = rows(ledger)
    by_token = {r[0]: r for r in final}
    done_by_hash: dict[str, list[tuple]] = {}
    for r in final:
        done_by_hash.setdefault(r[2], []).append(r)
    lost = changed = resubmitted = 0
    for snap in kills:
        for token, (request_hash, blob) in snap["done"].items():
            row = by_token.get(token)
            changed += row is None or row[4] != blob
            later = [r for r in done_by_hash[request_hash] if r[5] > row[5]]
            resubmitted += len(later)
    stored = {r[1]: digest(decode_payload(r[4], SHOTS)[0]) for r in final if r[3] == "DONE"}
    for entry in used_results(used):
        lost += stored.get(entry["job_id"]) != entry["marginals"]
    done_hashes = {r[2] for r in final if r[3] == "DONE"}
    flying = [token for snap in kills for token in snap["in_flight"]]
    return {"in_flight_at_kills_reattached": sum(by_token[t][3] == "DONE" for t in flying),
            "in_flight_at_kills_never_created": sum(by_token[t][3] == "LOST" for t in flying),
            "results_lost": lost, "stored_results_changed": changed,
            "finished_jobs_resubmitted": resubmitted, "batches_with_result": len(done_hashes),
            "batches": batches, "ledger_rows": len(final),
            "rows_by_status": {s: sum(r[3] == s for r in final) for s in {r[3] for r in final}}}


def service_duplicates(service: Path) -> int:
    from qhil.adapters.chaos_spool import JobSpool

    hashes = [job.request_hash for job in JobSpool(service).jobs()]
    return len(hashes) - len(set(hashes))


def parent(batches: int, n_kills: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        ledger, used = Path(tmp) / "ledger.sqlite", Path(tmp) / "used.jsonl"
        used.touch()
        Path(tmp, "chaos-service.toml").write_text(PROFILE.format(service=Path(tmp) / "service"))
        kills, started = [], time.perf_counter()
        for k in range(n_kills):
            proc = spawn(ledger, used, batches)
            kills.append(kill_when(proc, ledger, batches * (k + 1) // (n_kills + 1)))
        proc = spawn(ledger, used, batches)
        out, _ = proc.communicate(timeout=600)
        result = audit(ledger, used, kills, batches)
        result["service_requests_run_twice"] = service_duplicates(Path(tmp) / "service")
        result["final_exit_code"] = proc.returncode
        result["final_run_counters"] = json.loads(out.strip().splitlines()[-1])
        result["kills"] = [{"done_at_kill": len(s["done"]), "in_flight_at_kill": len(s["in_flight"])}
                           for s in kills]
        result["results_used_by_children"] = len(used_results(used))
        result["wall_s"] = time.perf_counter() - started
        return result


def markdown(r: dict, command: str) -> str:
    kills = "; ".join(f"kill {i + 1}: {k['done_at_kill']} results stored, "
                      f"{k['in_flight_at_kill']} jobs in flight" for i, k in enumerate(r["kills"]))
    return "\n".join([
        "# kill -9 and restart, on one ledger", "", f"`{command}`", "",
        "| measure | value |", "| --- | --- |",
        f"| batches with a stored result at the end | {r['batches_with_result']} / {r['batches']} |",
        f"| results lost (used by a child, missing or different in the ledger) | {r['results_lost']} |",
        f"| stored results changed by a restart | {r['stored_results_changed']} |",
        f"| finished jobs resubmitted | {r['finished_jobs_resubmitted']} |",
        f"| results reused by the final run (no job sent) | {r['final_run_counters'].get('reused', 0)} |",
        f"| requests the service ran twice (its own job store) | {r['service_requests_run_twice']} |",
        f"| jobs in flight at a kill, re-attached and finished | {r['in_flight_at_kills_reattached']} |",
        f"| rows in flight at a kill whose job the service never created (LOST) | "
        f"{r['in_flight_at_kills_never_created']} |",
        f"| ledger rows by status | {r['rows_by_status']} |",
        f"| final run exit code | {r['final_exit_code']} |", "",
        kills + ".", "",
        "Jobs in flight at a kill are re-attached by the restarted process (by id, or by the",
        "`qhil_token` tag when the kill came between sending and recording the id).", "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ledger", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--used", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.ledger, args.used, args.batches)
        return
    r = parent(args.batches, args.kills)
    command = f".venv/bin/python benchmarks/bench_kill_resume.py --batches {args.batches} --kills {args.kills}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_kill_resume.json").write_text(json.dumps({"command": command, **r}, indent=2))
    (RESULTS / "bench_kill_resume.md").write_text(markdown(r, command))
    print(markdown(r, command))


if __name__ == "__main__":
    main()
