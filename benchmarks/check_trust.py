"""Issue 26's trust targets, run as the tests that state them and reported case by case:

    PYTHONPATH=. .venv/bin/python benchmarks/check_trust.py [--update-results]

- crafted checkpoints (tests/commands/test_safe_loading.py): a pickle with a payload, its manifest
  updated, in a run folder: every loader refuses it or loads safely; the payload never runs;
- hostile files and paths (tests/commands/test_hostile_files.py): each exits 2 with one line,
  within 5 s and 256 MiB, changing nothing;
- a full disk at seeded journal, ledger and checkpoint writes (tests/rl/test_disk_full.py): a
  clean stop naming the resume command, `qhil ledger --verify` passing, and a resume that loses
  no transition and buys no job twice;
- learner replay (tests/rl/test_learner_replay.py): a learner restored from a checkpoint replays
  its recorded updates and buys none of their jobs again (parameter-shift, spsa, exact; SIGKILLs
  of parameter-shift and spsa runs);
- kill/resume (`kill_resume`, benchmarks/bench_train_kill_resume.py's run): `--kills` SIGKILLs at
  seeded points (before the first checkpoint, during checkpoint writes, evaluations and the final
  one, at seeded steps) of a `--gradient parameter-shift` run on a chaos profile that bills per
  task and shot and keeps its jobs in a service folder, resumed each time: 0 results bought twice
  (the ledger, and the chaos service's own job store), the ledger's paid jobs equal to the
  service's and to `qhil estimate`'s count for an uninterrupted run (learner jobs included), 0
  transitions lost. The issue's 10,000 steps (`--steps`, `--kills`), on a circuit and networks
  sized for a shared 2-core machine (`KILL_RUN`: 4 qubits x 2 layers, batch 256, would take hours
  here).
- qtrl kill/resume (`qtrl_kill_resume`): 5 SIGKILLs of a `qhil qtrl` run on the same billing
  chaos profile, each while a job is sent and not yet answered (0.05 s median), resumed each
  time: 0 resubmitted (the ledger), 0 requests the service ran twice, paid jobs equal to the
  service's, nothing left in flight;
- second-round inputs (benchmarks/trust_inputs.py): every input of the issue's second-round list
  and every Build 5 fault beside the tests that pin its behaviour, run and tabled with outcomes.
Each file runs in its own pytest process; the outcome and seconds of every case are written to
check_trust.json and check_trust.md. `--only NAME` reruns one check and keeps the others' stored
results. Not a speed benchmark: exit 1 if any case failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from _results import machine_load, results_dir  # noqa: E402  (benchmarks/ is on sys.path)
from trust_inputs import ADDED_FAULT_TESTS, FAULTS, INPUTS, node_ids  # noqa: E402

RESULTS = results_dir()
CHECKS = {"crafted checkpoints": "tests/commands/test_safe_loading.py",
          "hostile files and paths": "tests/commands/test_hostile_files.py",
          "disk full": "tests/rl/test_disk_full.py",
          "learner replay": "tests/rl/test_learner_replay.py"}
KILL_CHECK = "kill/resume"
INPUTS_CHECK = "second-round inputs"
QTRL_CHECK = "qtrl kill/resume"
QTRL_RUN = {"episodes": 40, "kills": 5, "seed": 0, "latency_median_s": 0.05,
            "latency_p95_s": 0.15}
SOURCES = {KILL_CHECK: "check_trust.kill_resume", QTRL_CHECK: "check_trust.qtrl_kill_resume",
           INPUTS_CHECK: "benchmarks/trust_inputs.py (INPUTS, FAULTS), the tests it names"}
# the kill/resume run: configs/pendulum-pqc.toml as bench_train_kill_resume.py scales it (2 envs,
# 16 shots, evaluations every steps/4, checkpoints every steps/10), with parameter-shift on a
# smaller circuit and networks so that 10,000 steps end in well under an hour on a shared 2-core
# machine (`--steps` and `--kills` change the first two)
KILL_RUN = {"steps": 10_000, "kills": 12, "seed": 0, "overrides": {
    "quantum.gradient": "parameter-shift", "quantum.qubits": 2, "quantum.layers": 1,
    "td3.batch_size": 64, "td3.learning_starts": 200, "network.critic_hidden": [64, 64],
    "network.pre_hidden": [32], "network.post_hidden": [32]}}


def run_file(*paths: str) -> list[dict]:
    """Every case of the test files (or node ids): name, node id, outcome, seconds (from
    pytest's JUnit XML)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths,
                        f"--junitxml={report}"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return [_case(node) for node in ET.parse(report).iter("testcase")]


def _case(node: ET.Element) -> dict:
    outcome = "passed"
    for kind in ("failure", "error", "skipped"):
        if node.find(kind) is not None:
            outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[kind]
    path = node.get("classname", "").replace(".", "/") + ".py"
    return {"case": node.get("name"), "node": f"{path}::{node.get('name')}", "outcome": outcome,
            "seconds": round(float(node.get("time")), 2)}


def matching(cases: list[dict], wanted: str) -> list[dict]:
    """The cases a node id names: itself, its parametrized cases, or a whole file's."""
    return [c for c in cases if c["node"] == wanted or c["node"].startswith((f"{wanted}[",
                                                                              f"{wanted}::"))]


def inputs_lines(report: dict) -> list[str]:
    """The second-round table: each input, its behaviour now, its tests and their outcomes."""
    cases = report["checks"].get(INPUTS_CHECK)
    if not cases:
        return []
    lines = ["The second-round inputs (issue 26's Why list, Build 4); a test id without brackets "
             "counts all its parametrized cases:", "",
             "| # | input | behaviour now | tests | passed |", "| --- | --- | --- | --- | --- |"]
    for i, (text, now, tests, added) in enumerate(INPUTS):
        lines.append(f"| {i + 1} | {text} | {now} | {_names(tests, added)} | "
                     f"{_tally(cases, tests)} |")
    lines += ["", "Faults (Build 5):", "", "| fault | behaviour now | tests | passed |",
              "| --- | --- | --- | --- |"]
    for text, now, tests in FAULTS:
        tally = (_tally(cases, tests) if isinstance(tests, list) else
                 _tally(report["checks"].get(tests, []), [""]) + f" (section {tests})")
        names = _names(tests, ADDED_FAULT_TESTS) if isinstance(tests, list) else f"see {tests}"
        lines.append(f"| {text} | {now} | {names} | {tally} |")
    added = sorted({a for *_, added in INPUTS for a in added} | set(ADDED_FAULT_TESTS))
    return lines + ["", f"Tests added on branch `trust` (the input or fault had none): "
                    f"{', '.join(f'`{a}`' for a in added)}.", ""]


def _names(tests: list[str], added: list[str]) -> str:
    return "<br>".join(f"`{t}`" + (" (added)" if any(a in t for a in added) else "")
                       for t in tests)


def _tally(cases: list[dict], tests: list[str]) -> str:
    found = [c for t in tests for c in (matching(cases, t) if t else cases)]
    return f"{sum(c['outcome'] == 'passed' for c in found)}/{len(found)}"


def kill_resume(spec: dict) -> tuple[list[dict], dict]:
    """The kill/resume run `spec` (KILL_RUN's keys; bench_train_kill_resume's run), audited;
    its cases and figures."""
    import bench_train_kill_resume as bench

    steps = spec["steps"]
    with tempfile.TemporaryDirectory(prefix="qhil-trust-kill-") as tmp:
        work = Path(tmp)
        config = bench.write_setup(work, steps, spec["overrides"])
        kills = bench.plan(steps, spec["kills"], spec["seed"])
        run = bench.kill_and_resume(work, config, steps, kills)
        audit = bench.audit(work, config, steps)
        summary = json.loads((work / "run" / "summary.json").read_text())
    figures = {"run": spec, "kills": run["kills"], "final_rc": run["final_rc"],
               "wall_s": round(run["wall_s"], 1), "audit": audit,
               "learner_jobs": summary["hw_learner"]["jobs"], "updates": summary["updates"]}
    return kill_cases(figures), figures


def qtrl_kill_resume(spec: dict) -> tuple[list[dict], dict]:
    """`qhil qtrl` SIGKILLed `spec["kills"]` times (bench_train_kill_resume's part 4) on the
    billing chaos profile with its jobs in a service folder; its cases and figures."""
    from collections import Counter

    import bench_train_kill_resume as bench

    from qhil.adapters.chaos_spool import JobSpool

    with tempfile.TemporaryDirectory(prefix="qhil-trust-qtrl-") as tmp:
        work = Path(tmp)
        profile = bench.PROFILE.format(service=work / "service").replace(
            "latency_median_s = 0.002", f"latency_median_s = {spec['latency_median_s']}").replace(
            "latency_p95_s = 0.01", f"latency_p95_s = {spec['latency_p95_s']}")
        (work / "chaos-billed.toml").write_text(profile)
        started = time.perf_counter()
        q = bench.qtrl_kill_resume(work, spec["episodes"], spec["kills"], spec["seed"], provider=(
            "--provider", str(work / "chaos-billed.toml"), "--yes", "--budget-usd", "100"),
            in_flight=True)
        service = Counter(job.request_hash for job in JobSpool(work / "service").jobs())
    q.update(run=spec, wall_s=round(time.perf_counter() - started, 1),
             service_jobs=sum(service.values()),
             service_requests_run_twice=sum(n - 1 for n in service.values() if n > 1))
    return qtrl_cases(q), q


def qtrl_cases(q: dict) -> list[dict]:
    checks = [(f"{len(q['killed_after_jobs'])} SIGKILLs, after {q['killed_after_jobs']} paid "
               f"jobs, each with a job in flight ({q['jobs_in_flight_at_kill']})",
               len(q["killed_after_jobs"]) == q["run"]["kills"] and
               all(q["jobs_in_flight_at_kill"])),
              (f"the run finished (exit {q['final_rc']}) at {q['summary_episodes']} episodes",
               q["final_rc"] == 0 and q["summary_episodes"] == q["episodes"]),
              (f"resubmitted (ledger): {q['results_bought_twice']}; requests the service ran "
               f"twice: {q['service_requests_run_twice']}",
               q["results_bought_twice"] == 0 and q["service_requests_run_twice"] == 0),
              (f"paid jobs: ledger {q['ledger_jobs']}, service {q['service_jobs']}, summary "
               f"{q['summary_hw_jobs']}",
               q["ledger_jobs"] == q["service_jobs"] == q["summary_hw_jobs"])]
    return [{"case": text, "outcome": "passed" if ok else "failed", "seconds": 0.0}
            for text, ok in checks]


def kill_cases(f: dict) -> list[dict]:
    a, landed = f["audit"], sum(k["killed"] for k in f["kills"])
    checks = [(f"{landed} of {len(f['kills'])} SIGKILLs landed at their kind of point",
               landed == len(f["kills"])),
              ("the run finished (exit 0) at its step count",
               f["final_rc"] == 0 and a["summary_steps"] == f["run"]["steps"]),
              (f"results bought twice: ledger {a['ledger_results_bought_twice']}, service "
               f"{a['service_requests_run_twice']}",
               a["ledger_results_bought_twice"] == 0 and a["service_requests_run_twice"] == 0),
              (f"paid jobs: ledger {a['ledger_paid_jobs']}, service {a['service_jobs']}, "
               f"estimate of an uninterrupted run {a['estimate']['jobs']}",
               a["ledger_paid_jobs"] == a["service_jobs"] == a["estimate"]["jobs"]),
              (f"transitions lost: {a['transitions_lost']}", a["transitions_lost"] == 0)]
    return [{"case": text, "outcome": "passed" if ok else "failed", "seconds": 0.0}
            for text, ok in checks]


def markdown(report: dict) -> str:
    lines = ["# Trust checks (issue 26)", "",
             f"Load average (1, 5, 15 min) at the start: {report['load']} (a check rerun "
             "alone with `--only` states its own).", "",
             "Seconds are pytest's per case, setup included (a file's first case builds its "
             "fixtures); the hostile files' 5 s bound is asserted inside each test around the "
             "command alone.", ""]
    for check in [c for c in [*CHECKS, KILL_CHECK, QTRL_CHECK, INPUTS_CHECK]
                  if c in report["checks"]]:
        lines += section(report, check)
    return "\n".join(lines)


def section(report: dict, check: str) -> list[str]:
    """One check's heading and its table (the inputs' table by input, not by case)."""
    cases = report["checks"][check]
    passed = sum(c["outcome"] == "passed" for c in cases)
    slowest = max((c["seconds"] for c in cases), default=0)
    rerun = report.get("loads", {}).get(check)
    lines = [f"## {check}: {passed}/{len(cases)} passed (slowest {slowest:.2f} s)", "",
             *([f"Load average when this check started: {rerun}.", ""] if rerun else []),
             f"`{SOURCES.get(check, CHECKS.get(check))}`", ""]
    if check == INPUTS_CHECK:
        return lines + inputs_lines(report)
    lines += ["| case | outcome | s |", "| --- | --- | --- |",
              *[f"| {c['case']} | {c['outcome']} | {c['seconds']:.2f} |" for c in cases], ""]
    if check == QTRL_CHECK:
        q = report.get("qtrl_kill_resume", {})
        import bench_train_kill_resume as bench

        return lines + [f"`qhil qtrl {' '.join(bench.QTRL)} --episodes {q['episodes']}` on the "
                        f"chaos-billed profile, jobs {q['run']['latency_median_s']} s median; "
                        f"wall {q['wall_s']:.0f} s, load {q.get('load')} at its start"
                        f"{_at_end(q)}.", ""]
    return lines + (kill_lines(report.get("kill_resume")) if check == KILL_CHECK else [])


def kill_lines(f: dict | None) -> list[str]:
    if not f:
        return []
    r = f["run"]
    return [f"Kill/resume run: `bench_train_kill_resume.write_setup` ({r['steps']} steps, 2 envs, "
            f"16 shots, evaluations every {r['steps'] // 4} steps and at the end, checkpoints "
            f"every {r['steps'] // 10}) with {r['overrides']}, on the chaos-billed profile "
            f"($0.30 a task + $0.00145 a shot, 5% submit failures, jobs in a service folder); "
            f"{len(f['kills'])} SIGKILLs (seed {r['seed']}); {f['updates']} learner updates, "
            f"{f['learner_jobs']} learner jobs; wall {f['wall_s']:.0f} s, load {f.get('load')} "
            f"at its start{_at_end(f)}.", "", "| kill | kind | at step | steps at kill | jobs in flight "
            "| landed |", "| --- | --- | --- | --- | --- | --- |",
            *[f"| {i + 1} | {k['kind']} | {k['at']} | {k['steps_at_kill']} | "
              f"{k['jobs_in_flight_at_kill']} | {k['killed']} |" for i, k in enumerate(f["kills"])],
            "", f"Ledger {f['audit']['ledger']}, estimate {f['audit']['estimate']}.", "",
            *main_lines(f.get("on_main"))]


def _at_end(f: dict) -> str:
    return f", {f['load_end']} at its end" if f.get("load_end") else ""


def main_lines(m: dict | None) -> list[str]:
    """The same run before learner replay (stored once, by hand, beside the figures; kept when
    the run is redone, with the step count it was measured at)."""
    if not m:
        return []
    what = f"setup at {m['steps']} steps" if "steps" in m else "run"
    return [f"The same {what} on {m['code']} (load {m['load']}, wall {m['wall_s']:.0f} s): ledger "
            f"{m['ledger_paid_jobs']} paid jobs, service {m['service_jobs']}, estimate "
            f"{m['estimate_jobs']}: {m['ledger_paid_jobs'] - m['estimate_jobs']} learner jobs "
            f"bought again, each a new request (bought twice by hash: ledger "
            f"{m['ledger_results_bought_twice']}, service {m['service_requests_run_twice']}).", ""]


def run_checks(only: str | None, kill_run: dict) -> dict:
    """Every check (or `only` one, the others kept from the stored report)."""
    stored = RESULTS / "check_trust.json"
    report = json.loads(stored.read_text()) if only and stored.is_file() else {"checks": {}}
    if only is None:
        report["load"], report["loads"] = machine_load(), {}
    for name in [*CHECKS, KILL_CHECK, QTRL_CHECK, INPUTS_CHECK]:
        if only in (None, name):
            report.setdefault("loads", {})[name] = machine_load()
            report["checks"][name] = (run_file(CHECKS[name]) if name in CHECKS else
                                      run_file(*node_ids()) if name == INPUTS_CHECK else
                                      qtrl_check(report) if name == QTRL_CHECK
                                      else kill_check(report, kill_run))
    return report


def qtrl_check(report: dict) -> list[dict]:
    cases, figures = qtrl_kill_resume(QTRL_RUN)
    report["qtrl_kill_resume"] = {**figures, "load": report["loads"][QTRL_CHECK],
                                  "load_end": machine_load()}
    return cases


def kill_check(report: dict, spec: dict) -> list[dict]:
    before = report.get("kill_resume") or {}
    on_main = before.get("on_main")
    if on_main and "steps" not in on_main:  # measured beside the run stored before this one
        on_main = {**on_main, "steps": before["run"]["steps"]}
    cases, figures = kill_resume(spec)
    report["kill_resume"] = {**figures, "load": report["loads"][KILL_CHECK],
                             "load_end": machine_load(),
                             **({"on_main": on_main} if on_main else {})}
    return cases


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=[*CHECKS, KILL_CHECK, QTRL_CHECK, INPUTS_CHECK],
                        help="Rerun one check.")
    parser.add_argument("--steps", type=int, default=KILL_RUN["steps"],
                        help="Steps of the kill/resume run (default: %(default)s).")
    parser.add_argument("--kills", type=int, default=KILL_RUN["kills"],
                        help="SIGKILLs during the kill/resume run (default: %(default)s).")
    args = parser.parse_args()
    report = run_checks(args.only, {**KILL_RUN, "steps": args.steps, "kills": args.kills})
    (RESULTS / "check_trust.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "check_trust.md").write_text(markdown(report))
    failed = [f"{check}: {c['case']}" for check, cases in report["checks"].items()
              for c in cases if c["outcome"] in ("failed", "error")]
    print(markdown(report) if not failed else "\n".join(["MISSED:", *failed]))
    return 1 if failed or not all(report["checks"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
