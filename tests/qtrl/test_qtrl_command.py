"""`qhil qtrl` end to end: run folder, identical agents, a killed agent, resume, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from qhil.cli import main
from qhil.execution.ledger import Ledger
from tests.reference import spooled_profile

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--env", "CartPole-v1", "--blocks", "2", "--seed", "4"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def spawn_cli(*argv: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "qhil", "qtrl", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_agent_stops_the_job_and_the_run_resumes(tmp_path):
    """The service keeps its jobs apart from the agents (as a cloud QPU does): the killed agent's
    job in flight is re-attached on resume, not bought again."""
    out, profile = tmp_path / "run", tmp_path / "spooled.toml"
    spooled_profile(profile, tmp_path / "service", 0.3, 0.4)
    proc = spawn_cli(*TINY, "--agents", "2", "--episodes", "100000", "--checkpoint-every", "2",
                     "--provider", str(profile), "--shots", "500", "--out", str(out), "--quiet")
    rank1 = out / "agents" / "rank-1.json"
    deadline = time.time() + 180
    while time.time() < deadline and not (out / "checkpoints" / "latest.pt").is_file():
        time.sleep(0.5)
    while time.time() < deadline and not flying(out / "ledger.sqlite"):
        time.sleep(0.01)
    os.kill(json.loads(rank1.read_text())["pid"], signal.SIGKILL)  # a job in flight (0.3 s each)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "agent 1 died" in stderr and f"--resume {out}" in stderr
    with Ledger(out / "ledger.sqlite") as ledger:  # jobs wait 0.3 s: the kill finds some in flight
        assert ledger.in_flight()
    done = torch.load(out / "checkpoints" / "latest.pt", weights_only=False)["episode"]
    target = done + 2
    resumed = spawn_cli("--resume", str(out), "--episodes", str(target), "--json")
    stdout, stderr = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, stderr
    summary = json.loads(stdout)
    assert json.loads((out / "summary.json").read_text()) == summary
    assert summary["agents"] == 2 and summary["episodes"] == target and summary["episodes_total"] == 2 * target
    assert summary["params_identical_across_agents"] is True
    totals, entries = ledger_totals(out)
    assert summary["hw"]["jobs"] == totals.jobs and summary["hw"]["shots"] == totals.shots
    # every episode's job once, the one in flight in the killed agent re-attached, none resent
    assert totals.resubmitted == 0 and totals.in_flight == 0, [(e.status, e.request_hash[:8])
                                                               for e in entries]
    # a job the kill caught before the service took it never reached the service: the ledger
    # marks it LOST, unbilled, and the replayed episode asks for it again (on an idle machine the
    # kill can land there); every request is DONE exactly once, and the service ran each once
    done = [e for e in entries if e.status == "DONE"]
    assert all(e.status == "LOST" and not e.billed for e in entries if e.status != "DONE")
    assert len(done) == len({e.request_hash for e in done}) == 2 * target
    assert service_runs(tmp_path / "service") == {1}  # the service ran each request once
    for name in ("config.toml", "metrics.jsonl", "returns.png", "checkpoints/latest.pt"):
        assert (out / name).is_file(), name
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["episode"] for r in rows] == list(range(1, target + 1))
    assert all(len(r["returns"]) == 2 for r in rows)
    ranks = [json.loads((out / "agents" / f"rank-{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["params_sha256"] == ranks[1]["params_sha256"]


def test_resume_replays_the_same_run(tmp_path, capsys):
    args = [*TINY, "--episodes", "6", "--checkpoint-every", "3"]
    assert run_cli(capsys, "qtrl", *args, "--out", str(tmp_path / "a"), "--json")[0] == 0
    straight = (tmp_path / "a" / "agents" / "rank-0.json").read_text()
    half = [*TINY, "--episodes", "3", "--checkpoint-every", "3", "--out", str(tmp_path / "b")]
    assert run_cli(capsys, "qtrl", *half)[0] == 0
    assert run_cli(capsys, "qtrl", "--resume", str(tmp_path / "b"), "--episodes", "6")[0] == 0
    resumed = (tmp_path / "b" / "agents" / "rank-0.json").read_text()
    assert json.loads(resumed)["params_sha256"] == json.loads(straight)["params_sha256"]
    a, b = ((tmp_path / d / "metrics.jsonl").read_text().splitlines() for d in "ab")
    assert [json.loads(x)["returns"] for x in a] == [json.loads(x)["returns"] for x in b]


def test_classical_policy_counts(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "qtrl", *TINY, "--policy", "classical", "--episodes", "2",
                           "--out", str(tmp_path / "c"), "--json")
    summary = json.loads(out)
    assert code == 0 and summary["trainable_parameters"] == summary["policy_parameters"] == 226


def test_progress_tensorboard_and_csv(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("QHIL_QUIET", raising=False)
    out = tmp_path / "p"
    code, _, err = run_cli(capsys, "qtrl", *TINY, "--policy", "classical", "--episodes", "3",
                           "--out", str(out))
    assert code == 0 and "qtrl (1 agents): [" in err and "3/3 episodes" in err and "ETA" in err
    assert list(out.glob("events.out.tfevents.*"))
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "episode" and "return_mean" in header and "losses/reinforce" in header


@pytest.mark.parametrize("argv,fragment", [
    (["--episodes", "0"], "--episodes"),
    (["--agents", "-1"], "--agents"),
    (["--env", "Pong-v5"], "--env"),
    (["--provider", "nope"], "unknown provider"),
    (["--policy", "classical", "--provider", "local"], "--provider needs --policy qt"),
    (["--provider", "local", "--shots", "99999999"], "--shots"),
    ([], "--out"),
])
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, argv, fragment):
    out = [] if argv == [] else ["--out", str(tmp_path / "x")]
    code, _, err = run_cli(capsys, "qtrl", *argv, *out)
    assert code == 2 and len(err.strip().splitlines()) == 1 and fragment in err
    assert not (tmp_path / "x").exists()


def test_resume_refuses_changed_settings(capsys, tmp_path):
    assert run_cli(capsys, "qtrl", *TINY, "--episodes", "1", "--out", str(tmp_path / "r"))[0] == 0
    code, _, err = run_cli(capsys, "qtrl", "--resume", str(tmp_path / "r"), "--agents", "3")
    assert code == 2 and "only --episodes" in err
    code, _, err = run_cli(capsys, "qtrl", "--resume", str(tmp_path / "nothing"))
    assert code == 2 and "config.toml" in err


def test_budget_that_cannot_pay_one_episode_is_refused_before_any_agent_starts(capsys, tmp_path):
    out = tmp_path / "run"
    # one episode = 2 agents x 1000 shots = 2,000 shots > 1,500
    code, _, err = run_cli(capsys, "qtrl", "--env", "CartPole-v1", "--agents", "2", "--episodes",
                           "3", "--provider", "local", "--shots", "1000", "--budget-shots", "1500",
                           "--out", str(out))
    assert code == 2 and "budget" in err and "left" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def flying(path: Path) -> int:
    """Jobs the ledger shows sent and not yet answered (read-only: the agents are writing)."""
    from qhil.execution.ledger import FLYING
    from qhil.execution.sqlite import read_only

    with read_only(path) as db:
        return db.execute("SELECT COUNT(*) FROM jobs WHERE status IN (?, ?)", FLYING).fetchone()[0]


def service_runs(service: Path) -> set[int]:
    from collections import Counter

    from qhil.adapters.chaos_spool import JobSpool

    return set(Counter(job.request_hash for job in JobSpool(service).jobs()).values())


def ledger_totals(out: Path):
    with Ledger(out / "ledger.sqlite") as ledger:
        return ledger.totals(), ledger.entries()


def test_budget_stops_every_agent_cleanly_with_a_checkpoint_and_resume_buys_only_the_rest(tmp_path):
    out = tmp_path / "run"
    # 2 agents x 1000 shots per episode: 5,000 shots pay for 2 whole episodes of the 6 asked
    proc = spawn_cli(*TINY, "--agents", "2", "--episodes", "6", "--provider", "local", "--shots",
                     "1000", "--budget-shots", "5000", "--stop-at-budget", "--out", str(out),
                     "--quiet")
    _, stderr = proc.communicate(timeout=240)  # --quiet: no progress lines, the error alone
    assert proc.returncode == 3 and len(stderr.strip().splitlines()) == 1, stderr
    assert "budget reached after episode 2 of 6" in stderr and f"--resume {out}" in stderr
    assert torch.load(out / "checkpoints" / "latest.pt", weights_only=False)["episode"] == 2
    summary = json.loads((out / "summary.json").read_text())
    totals, entries = ledger_totals(out)
    assert totals.jobs == summary["hw"]["jobs"] == 4 and totals.shots == summary["hw"]["shots"] == 4000
    assert all(e.status == "DONE" for e in entries) and summary["stopped"]
    resumed = spawn_cli("--resume", str(out), "--budget-shots", "12000", "--json")
    stdout, stderr = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, stderr
    totals, _ = ledger_totals(out)
    assert json.loads(stdout)["episodes"] == 6 and totals.jobs == 12 and totals.resubmitted == 0


def test_resume_after_a_lost_checkpoint_reuses_paid_results(tmp_path, capsys):
    hw = [*TINY, "--provider", "local", "--shots", "300", "--checkpoint-every", "2"]
    out = tmp_path / "run"
    assert run_cli(capsys, "qtrl", *hw, "--episodes", "2", "--out", str(out))[0] == 0
    early = (out / "checkpoints" / "latest.pt").read_bytes()
    assert run_cli(capsys, "qtrl", "--resume", str(out), "--episodes", "4")[0] == 0
    straight = json.loads((out / "agents" / "rank-0.json").read_text())["params_sha256"]
    # as if killed after episode 4's jobs but before its checkpoint: episodes 3-4 are replayed
    (out / "checkpoints" / "latest.pt").write_bytes(early)
    assert run_cli(capsys, "qtrl", "--resume", str(out), "--episodes", "4")[0] == 0
    totals, _ = ledger_totals(out)
    assert totals.jobs == 4 and totals.shots == 1200 and totals.resubmitted == 0
    assert json.loads((out / "agents" / "rank-0.json").read_text())["params_sha256"] == straight


def test_transient_provider_failures_are_retried_and_every_job_recorded(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, _ = run_cli(capsys, "qtrl", *TINY, "--episodes", "10", "--provider",
                              "chaos-faults", "--shots", "200", "--yes", "--out", str(out),
                              "--json")
    assert code == 0
    totals, entries = ledger_totals(out)
    assert totals.jobs == 10 == json.loads(stdout)["hw"]["jobs"] and totals.resubmitted == 0
    assert max(e.attempts for e in entries) > 1  # throttled / timed-out submits were retried


def test_a_run_folder_from_before_the_cu3_circuit_resumes_as_the_cz_ring(tmp_path, capsys):
    out = tmp_path / "old"
    assert run_cli(capsys, "qtrl", *TINY, "--entangler", "cz", "--episodes", "1", "--out", str(out))[0] == 0
    config = out / "config.toml"
    config.write_text("".join(x for x in config.read_text().splitlines(True) if "entangler" not in x))
    code, stdout, _ = run_cli(capsys, "qtrl", "--resume", str(out), "--episodes", "2", "--json")
    assert code == 0 and json.loads(stdout)["trainable_parameters"] == 2 * 24 + 221  # 8 qubits x 3
