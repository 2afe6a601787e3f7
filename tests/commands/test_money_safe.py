"""What a user meets when things go right or are interrupted: --yes with a budget spends at most
the budget on a device that bills, a finished run is left alone, Ctrl-C says how to resume,
`| head -1` is not an error, --debug works anywhere, reports are never overwritten unasked,
guards refuse with numbers, and the provider list says what was and was not checked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal

import pytest

from qhil.cli import main
from qhil.errors import RequestValidationError
from qhil.execution.ledger import Ledger
from tests.commands.conftest import tree_hashes
from tests.commands.test_bad_inputs import SMALL_COMPARE, TINY_QTRL, TINY_SAMPLE, run_in_process

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def spent(path) -> Decimal:
    with Ledger(path) as ledger:
        return ledger.totals().cost_usd


def cli(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": ROOT, **kwargs.pop("env", {})}
    return subprocess.run([sys.executable, "-m", "qhil", *argv], env=env, capture_output=True,
                          text=True, **kwargs)


# -- consent and budgets on a device that bills ----------------------------------------------

def test_sample_with_yes_and_a_budget_spends_at_most_the_budget(capsys, tmp_path):
    ledger = tmp_path / "l.sqlite"
    code, out, err = run_in_process(capsys, ["sample", "--provider", "chaos-faults", *TINY_SAMPLE,
                                             "--yes", "--budget-usd", "1", "--ledger", str(ledger)])
    assert code == 0 and "about $0.329" in err and 0 < spent(ledger) <= 1


def test_sample_validates_and_prices_once_and_reports_what_the_ledger_recorded(capsys, tmp_path,
                                                                             monkeypatch):
    from qhil.execution import pricing
    from qhil.execution.provider import Provider

    calls, validate, price = [], Provider.validate, pricing.job_cost_usd
    monkeypatch.setattr(Provider, "validate", lambda self, r: calls.append(("validate", self.name))
                        or validate(self, r))
    monkeypatch.setattr(pricing, "job_cost_usd", lambda p, r: calls.append(("price", p.name))
                        or price(p, r))
    ledger = tmp_path / "l.sqlite"
    argv = ["sample", "--provider", "chaos-faults", *TINY_SAMPLE, "--yes", "--ledger", str(ledger)]
    code, out, _ = run_in_process(capsys, [*argv, "--json"])
    first = json.loads(out)
    mine = sorted(c for c in calls if c[1] == "chaos-faults")  # not its inner simulator's
    assert code == 0 and mine == [("price", "chaos-faults"), ("validate", "chaos-faults")]
    assert Decimal(first["cost_usd"]) == spent(ledger) > 0 and first["reused"] is False
    code, out, _ = run_in_process(capsys, [*argv, "--json"])  # the same request again
    again = json.loads(out)
    assert again["reused"] is True and Decimal(again["cost_usd"]) == 0
    assert spent(ledger) == Decimal(first["cost_usd"])
    assert "spent $0.00: the result was reused" in run_in_process(capsys, argv)[1]


def test_evaluate_spends_within_budget_in_its_own_ledger_section(world, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(world / "goodrun", run)
    code, out, err = run_in_process(capsys, ["evaluate", str(run), "--episodes", "1",
                                             "--provider", "chaos-faults", "--yes",
                                             "--budget-usd", "70", "--json"])
    report = json.loads(out)
    assert code == 0 and report["ledger"] == str(run / "evaluations" / "ledger.sqlite")
    assert 0 < spent(run / "evaluations" / "ledger.sqlite") <= 70
    assert not (run / "ledger.sqlite").exists()  # the training run's account is untouched
    rows = (run / "evaluations" / "evaluations.jsonl").read_text().splitlines()
    assert len(rows) == 1 and json.loads(rows[0])["provider"] == "chaos-faults"
    code, out, _ = run_in_process(capsys, ["ledger", str(run / "evaluations"), "--json"])
    assert code == 0 and list(json.loads(out)["providers"]) == ["chaos-faults"]


def test_compare_with_yes_and_a_budget_spends_at_most_the_budget(tmp_path, capsys):
    out = tmp_path / "cmp"
    code, _, err = run_in_process(capsys, ["compare", "--providers", "chaos-faults",
                                           *SMALL_COMPARE, "--yes", "--budget-usd", "2",
                                           "--out", str(out)])
    row = json.loads((out / "report.json").read_text())["providers"][0]
    assert code == 0 and "the comparison probes on chaos-faults" in err
    assert 0 < float(row["probe_cost_usd"]) <= 2


def test_qtrl_with_yes_and_a_budget_spends_at_most_the_budget(tmp_path, capsys):
    base = ["qtrl", *TINY_QTRL, "--provider", "chaos-faults", "--shots", "10", "--yes"]
    code, _, _ = run_in_process(capsys, [*base, "--budget-usd", "1", "--out", str(tmp_path / "a")])
    assert code == 0 and 0 < spent(tmp_path / "a" / "ledger.sqlite") <= 1
    code, _, err = run_in_process(capsys, [*base, "--budget-usd", "0.4", "--stop-at-budget",
                                           "--out", str(tmp_path / "b")])
    assert code == 3 and "budget reached" in err
    assert spent(tmp_path / "b" / "ledger.sqlite") <= Decimal("0.4")


def test_a_person_at_a_terminal_is_asked(monkeypatch, tmp_path):
    from qhil.errors import UserError
    from qhil.execution.spend import Spend, consent

    spend = Spend("one batch", ("priced",), True, 1, 10, Decimal("0.3"))
    asked = []
    consent(spend, yes=False, ask=lambda q: asked.append(q) or "y", say=asked.append)
    assert asked[0].startswith("qhil: one batch on priced") and "[y/N]" in asked[1]
    with pytest.raises(UserError, match="nothing was sent"):
        consent(spend, yes=False, ask=lambda q: "n", say=lambda s: None)
    consent(Spend("free", ("local",), False, 1, 10, Decimal(0)), yes=False)  # never asks


# -- every entry point that can submit, on a device that bills --------------------------------

BILLING_COMMANDS = ["sample", "train", "evaluate", "compare", "calibrate", "qtrl"]


@pytest.fixture
def submitted(monkeypatch):
    """The requests that reached the embedded simulator (behind chaos-faults and every other
    profile these tests bill on)."""
    from qhil.adapters.local import LocalProvider

    sent, real = [], LocalProvider._submit
    monkeypatch.setattr(LocalProvider, "_submit", lambda self, request: sent.append(request) or
                        real(self, request))
    return sent


def _template():
    from qhil import CircuitTemplate

    return CircuitTemplate.from_qasm('OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] a;'
                                     '\nqubit[2] q;\nbit[2] c;\nrx(a) q[0];\ncx q[0], q[1];\n'
                                     'c = measure q;\n')


def _layer(world, tmp_path, **spending):
    import torch

    from qhil import QuantumLayer

    QuantumLayer(_template(), provider="chaos-faults", shots=10, **spending)(torch.zeros(2, 1))


def _api_train(world, tmp_path, **spending):
    import qhil

    qhil.train(world / "good.toml", out=tmp_path / "run", provider="chaos-faults", **spending)


def _load_policy(world, tmp_path, **spending):
    import numpy as np

    import qhil

    run = tmp_path / "run"
    shutil.copytree(world / "goodrun", run)
    with qhil.load_policy(run, forward="hardware", provider="chaos-faults", **spending) as policy:
        policy.predict(np.zeros(3))


def _open_dispatcher(world, tmp_path, **spending):
    import numpy as np

    import qhil

    dispatcher = qhil.open_dispatcher("chaos-faults", **spending)
    with dispatcher.provider:
        dispatcher.run(qhil.SamplingRequest.from_templates(_template(), np.zeros((1, 1)), 10, 0))


PYTHON_ENTRIES = {"QuantumLayer": _layer, "qhil.train": _api_train,
                  "load_policy-hardware": _load_policy, "qhil.open_dispatcher": _open_dispatcher}


@pytest.mark.parametrize("command", BILLING_COMMANDS)
def test_no_command_spends_on_a_billing_device_without_consent(command, world, capsys, submitted,
                                                               monkeypatch):
    from tests.commands.test_bad_inputs import CASES

    monkeypatch.chdir(world)
    argv = [a.replace("{w}", str(world)) for a in CASES[f"{command}-billing-no-yes"]]
    code, out, err = run_in_process(capsys, argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "nothing was sent" in err, err
    assert submitted == []


@pytest.mark.parametrize("missing", ["budget", "consent"])
@pytest.mark.parametrize("entry", list(PYTHON_ENTRIES))
def test_no_python_entry_spends_on_a_billing_device_without_budget_and_consent(
        entry, missing, world, tmp_path, submitted):
    from qhil import Budget
    from qhil.errors import UserError

    spending = {"yes": True} if missing == "budget" else {"budget": Budget(usd=100)}
    with pytest.raises(UserError) as info:
        PYTHON_ENTRIES[entry](world, tmp_path, **spending)
    assert "\n" not in str(info.value) and "nothing was sent" in str(info.value)
    assert submitted == [] and not (tmp_path / "run" / "ledger.sqlite").exists()


@pytest.mark.parametrize("entry", list(PYTHON_ENTRIES))
def test_with_a_budget_and_yes_each_python_entry_spends(entry, world, tmp_path, submitted):
    from qhil import Budget

    PYTHON_ENTRIES[entry](world, tmp_path, budget=Budget(usd=500), yes=True)
    assert submitted  # the spy sees what a consented entry sends


# -- resume, interrupts, output ------------------------------------------------------------------

def test_resume_of_a_finished_run_says_so_and_changes_nothing(world, capsys):
    before = tree_hashes(world)
    code, out, err = run_in_process(capsys, ["train", "--resume", str(world / "goodrun")])
    assert code == 0 and "already finished" in err and out == ""
    assert tree_hashes(world) == before


def test_finished_qtrl_run_is_left_alone(tmp_path, capsys):
    import torch

    from qhil.files import toml_text

    run = tmp_path / "q"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.toml").write_text(toml_text({"env": "CartPole-v1", "episodes": 3}))
    torch.save({"episode": 3}, run / "checkpoints" / "latest.pt")
    (run / "summary.json").write_text('{"episodes": 3, "stopped": null}')
    before = tree_hashes(run)
    code, _, err = run_in_process(capsys, ["qtrl", "--resume", str(run)])
    assert code == 0 and "already finished" in err and tree_hashes(run) == before


def test_ctrl_c_exits_130_with_the_resume_command(tmp_path, capsys, monkeypatch, world):
    def interrupted(config, folder, *args, **kwargs):
        folder.create(config)
        raise KeyboardInterrupt

    monkeypatch.setattr("qhil.rl.run.run_training", interrupted)
    out = tmp_path / "run"
    code, _, err = run_in_process(capsys, ["train", "--config", str(world / "good.toml"),
                                           "--out", str(out)])
    assert code == 130 and f"qhil train --resume {out}" in err
    monkeypatch.setattr("qhil.execution.dispatcher.Dispatcher.run",
                        lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    code, _, err = run_in_process(capsys, ["sample", *TINY_SAMPLE])
    assert code == 130 and "interrupted" in err and len(err.strip().splitlines()) == 1


def test_ctrl_c_names_the_ledger_that_holds_the_jobs_and_none_that_does_not_exist(
        tmp_path, capsys, monkeypatch):
    stop = lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt())  # noqa: E731
    monkeypatch.setattr("qhil.report.measure._run_all", stop)
    code, _, err = run_in_process(capsys, ["compare", "--providers", "local", *SMALL_COMPARE,
                                           "--out", str(tmp_path / "report")])
    assert code == 130 and "compare kept no ledger" in err and "in the ledger" not in err, err
    ledger = tmp_path / "jobs.sqlite"
    Ledger(ledger).close()
    monkeypatch.setattr("qhil.execution.dispatcher.Dispatcher.run", stop)
    code, _, err = run_in_process(capsys, ["sample", *TINY_SAMPLE, "--ledger", str(ledger)])
    assert code == 130 and f"recorded in {ledger}" in err and len(err.strip().splitlines()) == 1


def test_debug_anywhere_on_the_line_shows_the_traceback():
    for argv in (["sample", "--qubits", "99", "--debug"], ["--debug", "sample", "--qubits", "99"]):
        with pytest.raises(RequestValidationError):
            main(argv)


def test_a_closed_pipe_is_not_an_error(tmp_path, capsys):
    ledger = tmp_path / "l.sqlite"
    assert run_in_process(capsys, ["sample", *TINY_SAMPLE, "--ledger", str(ledger)])[0] == 0
    for argv in (["estimate", "--qubits", "4", "--layers", "2", "--env-steps", "10", "--json"],
                 ["ledger", str(ledger)]):
        read, write = os.pipe()
        os.close(read)  # the reader (`head -1`) is gone before qhil writes
        proc = subprocess.run([sys.executable, "-m", "qhil", *argv], stdout=write,
                              stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": ROOT})
        os.close(write)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_compare_keeps_a_report_unless_forced_and_help_names_the_default(world, tmp_path, capsys):
    out = tmp_path / "report"
    shutil.copytree(world / "report", out)
    argv = ["compare", "--providers", "local", *SMALL_COMPARE, "--dry-run", "--out", str(out)]
    assert run_in_process(capsys, argv)[0] == 2
    assert json.loads((out / "report.json").read_text()) == {"measured": True}
    assert run_in_process(capsys, [*argv, "--force"])[0] == 0
    assert "providers" in json.loads((out / "report.json").read_text())
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    assert "compare-report" in capsys.readouterr().out


# -- guards ------------------------------------------------------------------------------------

def test_memory_guard_refuses_with_the_numbers(monkeypatch):
    from qhil import guards
    from qhil.errors import ResourceError

    monkeypatch.setattr(guards, "available_memory_bytes", lambda: 2**30)
    with pytest.raises(ResourceError, match=r"needs about 6.0 GiB .* 1.0 GiB free"):
        guards.check_simulator_memory(20, 256, "complex64")  # 3 x 256 x 2^20 x 8 bytes
    guards.check_simulator_memory(10, 256, "complex128")
    with pytest.raises(ResourceError, match="--agents"):
        guards.check_agents(10)  # 10 x 400 MiB > 1 GiB
    monkeypatch.setattr(guards, "available_memory_bytes", lambda: 2**40)
    monkeypatch.setattr(guards.os, "cpu_count", lambda: 2)
    with pytest.raises(ResourceError, match="--force"):
        guards.check_agents(17)
    guards.check_agents(17, force=True)


def _marked(mark: str) -> list[int]:
    """Processes whose environment carries `mark` (a test's own children, grandchildren)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if mark.encode() in f.read():
                    pids.append(int(entry))
        except (OSError, ValueError):
            continue
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_qtrl_1000_agents_is_refused_at_once_leaving_no_process(tmp_path):
    # "at once": refused before any agent starts (the seconds are measured in
    # benchmarks/check_money_safe.py; tests check behaviour, not timings)
    mark = f"QHIL_TEST_MARK=agents1000-{os.getpid()}"
    proc = cli("qtrl", *TINY_QTRL, "--agents", "1000", "--out", str(tmp_path / "r"),
               env={"QHIL_TEST_MARK": mark.split("=")[1]})
    assert proc.returncode == 2 and "--agents 1000" in proc.stderr
    assert not _marked(mark) and not (tmp_path / "r").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG, /proc")
def test_agents_die_with_a_killed_parent(tmp_path):
    import signal
    import time

    mark = f"QHIL_TEST_MARK=orphans-{os.getpid()}"
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": ROOT, "QHIL_TEST_MARK": mark.split("=")[1]}
    parent = subprocess.Popen([sys.executable, "-m", "qhil", "qtrl", *TINY_QTRL, "--agents", "2",
                               "--episodes", "100000", "--out", str(out)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "agents" / "rank-1.json").is_file():
        time.sleep(0.2)
    assert (out / "agents" / "rank-1.json").is_file() and len(_marked(mark)) >= 3
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    while time.time() < deadline and _marked(mark):
        time.sleep(0.2)
    assert _marked(mark) == []


# -- calibration, estimate, providers ----------------------------------------------------------

def test_calibrate_config_probes_the_run_sizes_and_flags_bad_fits(world, tmp_path, capsys):
    from qhil.commands.calibrate import residual_warnings

    out = tmp_path / "cal.toml"
    code, text, _ = run_in_process(capsys, ["calibrate", "--provider", "local", "--config",
                                            str(world / "good.toml"), "--repeats", "1",
                                            "--out", str(out), "--json"])
    fit = json.loads(text)
    assert code == 0 and out.is_file() and fit["jobs"] == 1 + 4 and fit["fitted_jobs"] == 4
    assert "5 probe jobs (1 warm-up + 4 fitted) of 2 qubits x 1 layers" in out.read_text()
    rows = [{"circuits": 1, "shots": 10, "measured_s": 0.010, "fitted_s": 0.011,
             "rel_residual": 0.1},
            {"circuits": 64, "shots": 1000, "measured_s": 0.5, "fitted_s": 4.98,
             "rel_residual": 8.97}]
    (line,) = residual_warnings(rows)
    assert "1 of 2 probe sizes" in line and "64 circuits x 1000 shots" in line
    assert "+897%" in line and residual_warnings(rows[:1]) == []


def test_estimate_from_an_uncalibrated_free_run_says_to_calibrate(world, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(world / "good.toml", run / "config.toml")
    assert run_in_process(capsys, ["sample", *TINY_SAMPLE, "--ledger",
                                   str(run / "ledger.sqlite")])[0] == 0
    code, out, _ = run_in_process(capsys, ["estimate", "--from-run", str(run), "--json"])
    assert code == 0 and "qhil calibrate --provider local" in json.loads(out)["hint"]


def test_providers_tell_unchecked_cloud_credentials_from_usable(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake")
    monkeypatch.setenv("QISKIT_IBM_TOKEN", "fake")

    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr("qhil.execution.reach.socket.create_connection", offline)
    rows = {r["name"]: r for r in json.loads(run_in_process(capsys, ["providers", "--json"])[1])}
    assert rows["local"]["status"] == "usable" and rows["braket-local"]["status"] == "usable"
    assert rows["braket-ionq-forte"]["status"] == "unchecked"
    assert rows["ibm-torino"]["status"] == "unchecked" and not rows["ibm-torino"]["checked"]
    text = run_in_process(capsys, ["providers"])[1]
    assert "credentials found - not checked (offline?)" in text
    rows = {r["name"]: r for r in json.loads(run_in_process(capsys, ["providers", "--check",
                                                                     "--json"])[1])}
    assert rows["braket-ionq-forte"]["status"] == "unreachable"
    assert "offline" in rows["ibm-torino"]["reason"]
    out = tmp_path / "r"
    code, _, err = run_in_process(capsys, ["train", "--provider", "ibm-torino", "--out", str(out)])
    assert code == 2 and "cannot be reached" in err and not out.exists()


def test_a_new_run_failing_at_the_provider_before_paying_leaves_no_folder(world, tmp_path, capsys):
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "broken"\nkind = "chaos"\n[limits]\nmax_qubits = 8\n'
                      "[retry]\nmax_attempts = 1\ninitial_backoff_s = 0.001\n"
                      "max_backoff_s = 0.001\njitter_s = 0.0\n"
                      '[options]\ninner = "local"\nseed = 1\nsubmit_failure_rate = 1.0\n')
    out = tmp_path / "run"
    code, _, err = run_in_process(capsys, ["train", "--config", str(world / "good.toml"),
                                           "--profile", str(broken), "--out", str(out)])
    assert code == 1 and "throttled" in err and not out.exists()
    assert run_in_process(capsys, ["train", "--config", str(world / "good.toml"),
                                   "--profile", str(broken), "--out", str(out)])[0] == 1  # not blocked


def test_a_line_cut_short_in_metrics_is_skipped(tmp_path):
    from qhil.files import read_jsonl

    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2, "cut\n[1, 2]\n{"step": 3}\n')
    assert read_jsonl(path) == [{"step": 1}, {"step": 3}]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pseudo-terminal")
@pytest.mark.parametrize("answer,code", [(b"n\n", 2), (b"y\n", 0)])
def test_at_a_real_terminal_the_question_is_asked_and_answered(tmp_path, answer, code):
    import pty

    ledger = tmp_path / "l.sqlite"
    pid, fd = pty.fork()
    if pid == 0:  # the child: qhil on a terminal
        os.environ["PYTHONPATH"] = ROOT
        os.execv(sys.executable, [sys.executable, "-m", "qhil", "sample", "--provider",
                                  "chaos-faults", *TINY_SAMPLE, "--ledger", str(ledger)])
    seen = b""
    while b"[y/N]" not in seen:
        seen += os.read(fd, 1024)
    os.write(fd, answer)
    try:
        while chunk := os.read(fd, 1024):
            seen += chunk
    except OSError:  # the terminal closed with the child
        pass
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == code
    assert b"one batch on chaos-faults" in seen
    assert ledger.exists() == (code == 0)
