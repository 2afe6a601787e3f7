"""Bad or unlucky inputs, as a new user meets them, across every command: each exits 2 with one
line on stderr and no traceback, sends nothing, creates nothing and leaves every file it found
byte-identical (the folder is hashed before and after). The commands run in-process, with no
terminal on stdin (so a device that bills is never agreed to without --yes)."""

from __future__ import annotations

import pytest

from qhil.cli import main
from tests.commands.conftest import tree_hashes

TINY_SAMPLE = ["--qubits", "2", "--layers", "1", "--batch", "2", "--shots", "10"]
TINY_QTRL = ["--env", "CartPole-v1", "--blocks", "2", "--episodes", "2"]
SMALL_COMPARE = ["--qubits", "2", "--layers", "1", "--batch", "2", "--shots", "10",
                 "--repeats", "1"]
NEW = "{w}/new-folder"

CASES = {
    # sample
    "sample-memory": ["sample", "--qubits", "24", "--batch", "256"],
    "sample-billing-no-yes": ["sample", "--provider", "chaos-faults", *TINY_SAMPLE],
    "sample-billing-over-budget": ["sample", "--provider", "chaos-faults", *TINY_SAMPLE, "--yes",
                                   "--budget-usd", "0.01"],
    "sample-free-over-shot-budget": ["sample", *TINY_SAMPLE, "--budget-shots", "10"],
    "sample-free-over-job-budget-ledger": ["sample", *TINY_SAMPLE, "--budget-shots", "5",
                                           "--ledger", "{w}/new.sqlite"],
    "sample-ledger-corrupt": ["sample", *TINY_SAMPLE, "--ledger", "{w}/corrupt.sqlite"],
    "sample-ledger-under-file": ["sample", *TINY_SAMPLE, "--ledger", "{w}/afile/l.sqlite"],
    "sample-ledger-folder": ["sample", *TINY_SAMPLE, "--ledger", "{w}/somedir"],
    "sample-ledger-proc": ["sample", *TINY_SAMPLE, "--ledger", "/proc/qhil-l.sqlite"],
    "sample-precision-complex8": ["sample", "--profile", "{w}/complex8.toml", *TINY_SAMPLE],
    "sample-device-tpu": ["sample", "--profile", "{w}/tpu.toml", *TINY_SAMPLE],
    "sample-profile-not-utf8": ["sample", "--profile", "{w}/latin1-profile.toml"],
    "sample-provider-folder": ["sample", "--provider", "{w}/dir.toml"],
    "sample-zero-shots": ["sample", "--shots", "0"],
    "sample-too-many-qubits": ["sample", "--qubits", "99"],
    "sample-unknown-provider": ["sample", "--provider", "nowhere"],
    "sample-missing-profile": ["sample", "--profile", "{w}/missing.toml"],
    "sample-nan-timeout": ["sample", "--timeout-s", "nan"],
    # train
    "train-config-not-utf8": ["train", "--config", "{w}/latin1.toml", "--out", NEW],
    "train-config-folder": ["train", "--config", "{w}/dir.toml", "--out", NEW],
    "train-out-file": ["train", "--config", "{w}/good.toml", "--out", "{w}/afile"],
    "train-out-under-file": ["train", "--config", "{w}/good.toml", "--out", "{w}/afile/run"],
    "train-out-proc": ["train", "--config", "{w}/good.toml", "--out", "/proc/qhil-run"],
    "train-out-existing-run": ["train", "--config", "{w}/good.toml", "--out", "{w}/goodrun"],
    "train-resume-truncated-checkpoint": ["train", "--resume", "{w}/cutrun"],
    "train-resume-corrupt-ledger": ["train", "--resume", "{w}/badledger", "--steps", "480"],
    "train-resume-lower-steps": ["train", "--resume", "{w}/goodrun", "--steps", "100"],
    "train-resume-and-out": ["train", "--resume", "{w}/goodrun", "--out", NEW],
    "train-resume-changed-seed": ["train", "--resume", "{w}/goodrun", "--seed", "9"],
    "train-resume-config": ["train", "--resume", "{w}/goodrun", "--config", "{w}/good.toml"],
    "train-resume-missing": ["train", "--resume", "{w}/nothing-here"],
    "train-resume-qtrl-run": ["train", "--resume", "{w}/qtrlrun"],
    "train-no-out": ["train", "--config", "{w}/good.toml"],
    "train-billing-no-yes": ["train", "--config", "{w}/good.toml", "--provider", "chaos-faults",
                             "--out", NEW],
    "train-free-over-shot-budget": ["train", "--config", "{w}/good.toml", "--out", NEW,
                                    "--budget-shots", "100"],
    "train-precision-complex8": ["train", "--config", "{w}/good.toml", "--profile",
                                 "{w}/complex8.toml", "--out", NEW],
    "train-zero-steps": ["train", "--steps", "0", "--out", NEW],
    # evaluate
    "evaluate-missing": ["evaluate", "{w}/nothing-here"],
    "evaluate-a-file": ["evaluate", "{w}/afile"],
    "evaluate-truncated-checkpoint": ["evaluate", "{w}/cutrun"],
    "evaluate-billing-no-yes": ["evaluate", "{w}/goodrun", "--episodes", "1", "--provider",
                                "chaos-faults"],
    "evaluate-billing-over-budget": ["evaluate", "{w}/goodrun", "--episodes", "1",
                                     "--provider", "chaos-faults", "--yes", "--budget-usd", "1"],
    "evaluate-free-over-shot-budget": ["evaluate", "{w}/goodrun", "--episodes", "1",
                                       "--budget-shots", "10"],
    "evaluate-zero-episodes": ["evaluate", "{w}/goodrun", "--episodes", "0"],
    # estimate
    "estimate-from-run-corrupt-ledger": ["estimate", "--from-run", "{w}/badledger"],
    "estimate-from-run-missing": ["estimate", "--from-run", "{w}/nothing-here"],
    "estimate-config-not-utf8": ["estimate", "--config", "{w}/latin1.toml"],
    "estimate-config-folder": ["estimate", "--config", "{w}/dir.toml"],
    "estimate-no-workload": ["estimate", "--provider", "local"],
    "estimate-zero-qubits": ["estimate", "--qubits", "0", "--layers", "1"],
    # calibrate
    "calibrate-out-folder": ["calibrate", "--provider", "local", "--out", "{w}/somedir"],
    "calibrate-out-under-file": ["calibrate", "--provider", "local", "--out", "{w}/afile/c.toml"],
    "calibrate-out-proc": ["calibrate", "--provider", "local", "--out", "/proc/qhil-c.toml"],
    "calibrate-billing-no-yes": ["calibrate", "--provider", "chaos-faults", "--qubits", "2",
                                 "--layers", "1", "--circuits", "1,2", "--shots", "10",
                                 "--repeats", "1", "--budget-usd", "100", "--out", "{w}/c.toml"],
    "calibrate-billing-no-budget": ["calibrate", "--provider", "chaos-faults", "--yes",
                                    "--out", "{w}/c.toml"],
    "calibrate-ledger-corrupt": ["calibrate", "--provider", "local", "--ledger",
                                 "{w}/corrupt.sqlite", "--out", "{w}/c.toml"],
    "calibrate-config-not-utf8": ["calibrate", "--provider", "local", "--config",
                                  "{w}/latin1.toml", "--out", "{w}/c.toml"],
    "calibrate-over-shot-budget": ["calibrate", "--provider", "local", "--budget-shots", "10",
                                   "--out", "{w}/c.toml"],
    "calibrate-no-provider": ["calibrate"],
    # compare
    "compare-billing-no-yes": ["compare", "--providers", "chaos-faults", *SMALL_COMPARE,
                               "--out", NEW],
    "compare-billing-over-budget": ["compare", "--providers", "local,chaos-faults",
                                    *SMALL_COMPARE, "--yes", "--budget-usd", "0.5", "--out", NEW],
    "compare-out-proc": ["compare", "--providers", "local", *SMALL_COMPARE, "--out", "/proc/qx"],
    "compare-out-file": ["compare", "--providers", "local", *SMALL_COMPARE, "--out", "{w}/afile"],
    "compare-out-under-file": ["compare", "--providers", "local", *SMALL_COMPARE, "--out",
                               "{w}/afile/r"],
    "compare-existing-report": ["compare", "--providers", "local", *SMALL_COMPARE, "--dry-run",
                                "--out", "{w}/report"],
    "compare-qubits-30-memory": ["compare", "--providers", "local", "--qubits", "30",
                                 "--out", NEW],
    "compare-no-providers": ["compare", "--out", NEW],
    "compare-same-provider-twice": ["compare", "--providers", "local,local", "--out", NEW],
    "compare-config-not-utf8": ["compare", "--providers", "local", "--config", "{w}/latin1.toml",
                                "--out", NEW],
    # qtrl
    "qtrl-agents-1000": ["qtrl", *TINY_QTRL, "--agents", "1000", "--out", NEW],
    "qtrl-resume-train-run": ["qtrl", "--resume", "{w}/goodrun"],
    "qtrl-resume-truncated-checkpoint": ["qtrl", "--resume", "{w}/qtrlcut"],
    "qtrl-resume-lower-episodes": ["qtrl", "--resume", "{w}/qtrlrun", "--episodes", "2"],
    "qtrl-resume-missing": ["qtrl", "--resume", "{w}/nothing-here"],
    "qtrl-out-file": ["qtrl", *TINY_QTRL, "--out", "{w}/afile"],
    "qtrl-out-proc": ["qtrl", *TINY_QTRL, "--out", "/proc/qhil-q"],
    "qtrl-billing-no-yes": ["qtrl", *TINY_QTRL, "--provider", "chaos-faults", "--shots", "10",
                            "--out", NEW],
    "qtrl-billing-over-budget": ["qtrl", *TINY_QTRL, "--provider", "chaos-faults", "--shots",
                                 "10", "--yes", "--budget-usd", "0.5", "--out", NEW],
    "qtrl-zero-agents": ["qtrl", "--agents", "0", "--out", NEW],
    # ledger, providers, the command line
    "ledger-corrupt": ["ledger", "{w}/corrupt.sqlite"],
    "ledger-missing": ["ledger", "{w}/missing.sqlite"],
    "ledger-folder": ["ledger", "{w}/somedir"],
    "providers-unknown-flag": ["providers", "--colour"],
    "unknown-command": ["no-such-command"],
    "unknown-flag-after-command": ["sample", "--debugging"],
}


def run_in_process(capsys, argv: list[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_there_are_at_least_sixty_cases():
    assert len(CASES) >= 60


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_exits_2_with_one_line_and_changes_nothing(name, world, capsys, monkeypatch):
    monkeypatch.chdir(world)  # default outputs (compare-report, NAME-measured.toml) land here
    argv = [a.replace("{w}", str(world)) for a in CASES[name]]
    before = tree_hashes(world)
    code, out, err = run_in_process(capsys, argv)
    assert code == 2, (code, err)
    assert out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(("qhil: error:", "usage:")) or "error" in err
    assert tree_hashes(world) == before


# -- the second round (issue 26) ---------------------------------------------------------------

ONE_INPUT = 'OPENQASM 3.0;\ninput float[64] a;\nqubit[2] q;\nrx(a) q[0];\ncx q[0], q[1];\n'
ROUND_TWO = {
    "compare-circuit-30-qubits": ["compare", "--providers", "local", "--circuit", "{w}/r2/q30.qasm",
                                  *SMALL_COMPARE, "--out", NEW],
    "sample-params-text": ["sample", "--circuit", "{w}/r2/one.qasm", "--params", "{w}/r2/text.npy"],
    "sample-params-npz": ["sample", "--circuit", "{w}/r2/one.qasm", "--params", "{w}/r2/p.npz"],
    "sample-params-nan": ["sample", "--circuit", "{w}/r2/one.qasm", "--params", "{w}/r2/nan.npy"],
    "sample-params-inf-wrong-shape": ["sample", "--circuit", "{w}/r2/one.qasm", "--params",
                                      "{w}/r2/inf3.npy"],
    "sample-params-complex": ["sample", "--circuit", "{w}/r2/one.qasm", "--params",
                              "{w}/r2/complex.npy"],
    "sample-params-without-circuit": ["sample", *TINY_SAMPLE, "--params", "{w}/r2/good.npy"],
    "train-resume-qubits-edited": ["train", "--resume", "{w}/r2/qubits-edited"],
    "train-resume-eval-episodes-0": ["train", "--resume", "{w}/r2/zero-episodes", "--steps", "480"],
    "evaluate-qtrl-run": ["evaluate", "{w}/qtrlrun"],
    "train-out-folder-of-other-files": ["train", "--config", "{w}/good.toml", "--out", "{w}/r2"],
}
SAYS = {  # what the one line must name, where a generic message would mislead
    "sample-params-text": "text", "sample-params-npz": ".npz", "sample-params-nan": "NaN/Inf",
    "sample-params-inf-wrong-shape": "NaN/Inf", "sample-params-complex": "complex",
    "sample-params-without-circuit": "--circuit", "compare-circuit-30-qubits": "2^30",
    "train-resume-qubits-edited": "does not fit the run's checkpoint",
    "train-resume-eval-episodes-0": "0 episodes cannot evaluate the policy",
    "evaluate-qtrl-run": "is a `qhil qtrl` run",
    "train-out-folder-of-other-files": "not a run",
}


@pytest.fixture(scope="module")
def round_two(world):
    import numpy as np

    folder = world / "r2"
    folder.mkdir()
    (folder / "q30.qasm").write_text("OPENQASM 3.0;\nqubit[30] q;\nh q[0];\ncx q[0], q[29];\n")
    (folder / "one.qasm").write_text(ONE_INPUT)
    np.save(folder / "text.npy", np.array([["0.1"], ["0.2"]]))
    np.savez(folder / "p.npz", params=np.zeros((2, 1)))
    np.save(folder / "nan.npy", np.array([[np.nan], [0.1]]))
    np.save(folder / "inf3.npy", np.array([[np.inf, 0.0, 0.0]]))  # the shape is wrong too
    np.save(folder / "complex.npy", np.array([[0.1 + 0.5j], [0.2]]))
    np.save(folder / "good.npy", np.array([[0.1], [0.2]]))
    _run_with_qubits_edited(folder / "qubits-edited")
    _run_with_zero_eval_episodes(world / "goodrun", folder / "zero-episodes")
    return world


def _run_with_qubits_edited(path):
    """A run folder whose checkpoint has 2 qubits and whose config.toml was then set to 3."""
    import torch

    from qhil.rl.config import TrainConfig, dump_toml
    from qhil.rl.learner import build_td3
    from qhil.rl.run import env_dims
    from qhil.rl.rundir import RunFolder
    from tests.rl.conftest import TINY

    config = TrainConfig(**TINY)
    td3 = build_td3(config, *env_dims(config.env), torch.device("cpu"))
    RunFolder(path).save_checkpoint({"td3": td3.state_dict()}, 0)
    edited = config.with_overrides(**{"quantum.qubits": 3})
    (path / "config.toml").write_text(dump_toml(edited))


def _run_with_zero_eval_episodes(run, path):
    """A run folder whose config.toml was edited to `[eval] episodes = 0` (the resume would
    train on and crash at the final evaluation)."""
    import shutil

    shutil.copytree(run, path)
    text = (path / "config.toml").read_text()
    assert "\nepisodes = 2\n" in text
    (path / "config.toml").write_text(text.replace("\nepisodes = 2\n", "\nepisodes = 0\n"))


@pytest.mark.parametrize("name", list(ROUND_TWO))
def test_second_round_input_exits_2_with_one_line_and_changes_nothing(name, round_two, capsys,
                                                                      monkeypatch):
    monkeypatch.chdir(round_two)
    argv = [a.replace("{w}", str(round_two)) for a in ROUND_TWO[name]]
    before = tree_hashes(round_two)
    code, out, err = run_in_process(capsys, argv)
    assert code == 2 and out == "" and "Traceback" not in err, (code, err)
    assert len(err.strip().splitlines()) == 1 and SAYS[name] in err, err
    assert tree_hashes(round_two) == before
