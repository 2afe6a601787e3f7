"""Distributed hDQNN-TD3 on local Ray: two explorers train one learner into one run folder."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from qhil.execution.ledger import Ledger
from tests.distributed.conftest import run_cli
from tests.reference import spooled_billing_profile

pytest.importorskip("ray")


def ledger_totals(run: Path) -> dict[str, float]:
    jobs = shots = 0
    usd = Decimal(0)
    for path in sorted(run.glob("ledger*.sqlite")):
        with Ledger(path) as ledger:
            totals = ledger.totals()
        jobs, shots, usd = jobs + totals.jobs, shots + totals.shots, usd + totals.cost_usd
        assert totals.resubmitted == 0, path  # nothing bought twice
    return {"jobs": jobs, "shots": shots, "cost_usd": round(float(usd), 6)}


def hw(summary: dict) -> dict[str, float]:
    return {k: summary["hw"][k] for k in ("jobs", "shots", "cost_usd")}


def explorer_jobs(run: Path, k: int) -> tuple[int, set[str]]:
    with Ledger(run / f"ledger-explorer-{k}.sqlite") as ledger:
        return ledger.totals().jobs, set(ledger.providers())


def test_two_providers_train_one_run_and_the_totals_equal_the_ledgers(tiny_config, tmp_path,
                                                                     capsys):
    run = tmp_path / "run"
    config = tiny_config(providers=["local", "braket-local"], eval_every=60)
    assert run_cli(["train", "--config", str(config), "--out", str(run), "--yes"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    evaluated = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()
                 if '"eval/return_mean"' in x]
    assert [r["step"] for r in evaluated] == [60, 120]  # one periodic, then the final one
    with Ledger(run / "ledger-eval.sqlite") as ledger:  # on the evaluation actor, not the driver
        assert ledger.totals().jobs == 2 * 200 and ledger.providers() == ["local"]
    with Ledger(run / "ledger.sqlite") as ledger:
        assert ledger.totals().jobs == 0
    rows = summary["explorers"]
    assert len(rows) == 2 and summary["steps"] == 120
    assert sum(r["steps"] for r in rows) == summary["steps"]
    assert hw(summary) == ledger_totals(run)
    for k, name in enumerate(["local", "braket-local"]):
        jobs, providers = explorer_jobs(run, k)
        assert providers == {name} and jobs == rows[k]["jobs"] == rows[k]["steps"]
        assert rows[k]["policy_lag_p95"] is not None
    assert summary["eval_returns"]  # the final evaluation, as today
    rows_logged = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in rows_logged if "hw/jobs" in r][-1]  # before the final evaluation
    explored = sum(r["jobs"] for r in rows)  # and the periodic evaluation's, once it has run
    assert explored <= last["hw/jobs"] <= explored + 200
    capsys.readouterr()
    assert run_cli(["estimate", "--from-run", str(run), "--json"]) == 0  # read as today
    assert json.loads(capsys.readouterr().out)["measured"]["jobs"] == summary["hw"]["jobs"]


def test_the_policy_lag_bound_holds_for_every_step(tiny_config, tmp_path):
    """Two updates per transition, so an unbounded learner runs many updates ahead of a call in
    flight; with max_policy_lag = 3 no step reaches it more than 3 updates stale."""
    run = tmp_path / "run"
    config = tiny_config(steps=160, max_policy_lag=3)
    config.write_text(config.read_text().replace("max_updates_per_transition = 1.0",
                                                 "max_updates_per_transition = 2.0\nlearner_pace = \"free\""))
    assert run_cli(["train", "--config", str(config), "--out", str(run), "--yes"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["policy_lag_bound"] == 3 and summary["updates"] > 0
    assert summary["policy_lag_max"] <= 3 and summary["policy_lag_p95"] <= 3
    assert all(r["policy_lag_max"] <= 3 for r in summary["explorers"])


def test_one_budget_across_explorers_is_never_exceeded(tiny_config, tmp_path, capsys):
    run = tmp_path / "run"
    code = run_cli(["train", "--config", str(tiny_config()), "--out", str(run), "--yes",
                    "--budget-jobs", "50", "--stop-at-budget"])
    assert code == 3 and "budget reached" in capsys.readouterr().err
    assert ledger_totals(run)["jobs"] == 50


def stored_once(run: Path, k: int) -> list:
    """Explorer k's DONE jobs, after checking that every other row is an unbilled LOST one (a job
    that died with a killed in-process worker, or never reached the service, asked again)."""
    with Ledger(run / f"ledger-explorer-{k}.sqlite") as ledger:
        entries = ledger.entries()
    assert all(e.status.value == "LOST" and not e.billed for e in entries if e.status.value != "DONE")
    done = [e for e in entries if e.status.value == "DONE"]
    assert len({e.request_hash for e in done}) == len(done)  # no request run twice
    return done


@pytest.mark.parametrize("provider", ["local", "spooled"])
def test_a_killed_explorer_is_restarted_and_nothing_is_lost_or_bought_twice(
        tiny_config, tmp_path, monkeypatch, provider):
    """`spooled` keeps its jobs apart from the workers, as a cloud QPU does: a killed explorer's
    job in flight is re-attached from its ledger. `local` jobs die with the worker: marked LOST
    (unbilled) and asked again."""
    import ray

    from qhil.distributed import fleet as fleet_module

    started = fleet_module.Fleet.start
    kills: list[int] = []

    def start(*args, **kwargs):
        fleet = started(*args, **kwargs)
        threading.Thread(target=kill_twice, args=(fleet,), daemon=True).start()
        return fleet

    def kill_twice(fleet):
        for at in (10, 25):
            while fleet.delivered[0] < at:
                time.sleep(0.05)
            ray.kill(fleet.handles[0], no_restart=False)  # the worker dies; Ray restarts it
            kills.append(at)

    monkeypatch.setattr(fleet_module.Fleet, "start", start)
    run, service = tmp_path / "run", tmp_path / "service"
    if provider == "spooled":  # chaos-faults (throttles, timeouts, lost results; billed), spooled
        provider = str(spooled_billing_profile(tmp_path / "spooled.toml", service, 0.02, 0.03))
    config = tiny_config(steps=600, providers=[provider])  # time for explorer 0 to come back
    assert run_cli(["train", "--config", str(config), "--out", str(run), "--yes"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert kills == [10, 25] and summary["steps"] == 600
    assert summary["explorers"][0]["steps"] + summary["explorers"][1]["steps"] == 600
    done = stored_once(run, 0)
    assert len(done) == summary["explorers"][0]["steps"]  # one job per stored step, none twice
    assert hw(summary) == ledger_totals(run)
    assert all(run_cli(["ledger", "--verify", str(p)]) == 0 for p in run.glob("ledger*.sqlite"))
    if service.exists():
        assert_the_service_agrees(run, service)


def assert_the_service_agrees(run: Path, service: Path) -> None:
    """The chaos service's own store: each job it ran bought once, and they are the ledgers'
    paid jobs on it exactly (the run's evaluations are on its `local` provider)."""
    from qhil.adapters.chaos_spool import JobSpool

    ran = JobSpool(service).jobs()
    assert len({j.token for j in ran}) == len(ran) == len({j.request_hash for j in ran})
    paid = []
    for path in run.glob("ledger*.sqlite"):
        with Ledger(path) as ledger:
            paid += [e for e in ledger.entries() if e.billed and e.provider == "chaos-faults-spooled"]
    assert {j.job_id for j in ran} == {e.job_id for e in paid} and len(paid) == len(ran)
    assert sum(e.cost_usd for e in paid) > 0  # a profile that bills


def test_the_learners_death_stops_the_run_with_the_resume_command(
        tiny_config, tmp_path, monkeypatch, capsys):
    from qhil.rl.learner import Learner

    update = Learner.update

    def dies_at_30(self):
        if self.updates >= 30:
            raise RuntimeError("the learner died")
        return update(self)

    monkeypatch.setattr(Learner, "update", dies_at_30)
    run = tmp_path / "run"
    config = tiny_config(steps=160)
    assert run_cli(["train", "--config", str(config), "--out", str(run), "--yes"]) == 3
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "the learner died" in err and f"qhil train --resume {run}" in err
    monkeypatch.setattr(Learner, "update", update)
    assert run_cli(["train", "--resume", str(run), "--yes"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 160
    assert hw(summary) == ledger_totals(run)
