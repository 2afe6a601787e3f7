"""CLI conventions: --version, every option's default in --help, --profile PATH beside
--provider, and a parser that builds without torch, numpy or a vendor SDK."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

import qhil
from qhil.cli import build_parser
from qhil.config import DATA_ROOT
from tests.test_cli import run_cli

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "numpy", "qiskit", "qiskit_ibm_runtime", "braket", "gymnasium", "matplotlib",
         "ray")
PROVIDER_COMMANDS = ("sample", "train", "evaluate", "estimate", "calibrate", "qtrl", "compare")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_top_level_help_lists_every_command_without_importing_one(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and all(name in out for name in subcommands())
    probe = ("import sys\nfrom qhil.cli import main\ntry:\n    main(['--help'])\n"
             "except SystemExit:\n    pass\n"
             "print([m for m in sys.modules if m.startswith('qhil.commands.')])")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr


def test_version(capsys):
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.strip() == f"qhil {qhil.__version__}"


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_every_option_help_states_its_default(command):
    parser = subcommands()[command]
    formatter = parser._get_formatter()
    missing = [a.option_strings[0] for a in parser._actions
               if a.option_strings and a.nargs != 0 and not isinstance(a, argparse._HelpAction)
               and "default" not in formatter._expand_help(a).lower()]
    assert missing == []


def test_help_shows_the_real_training_defaults(capsys):
    code, out, _ = run_cli(capsys, "train", "--help")
    text = " ".join(out.split())
    assert code == 0 and "(default 20,000)" in text and "(default local)" in text


@pytest.mark.parametrize("command", PROVIDER_COMMANDS)
def test_every_provider_command_takes_profile_path(command):
    options = {o for a in subcommands()[command]._actions for o in a.option_strings}
    assert "--profile" in options


def test_sample_with_profile_path(capsys, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text((DATA_ROOT / "providers" / "local.toml").read_text()
                    .replace('name = "local"', 'name = "mine"'))
    code, out, _ = run_cli(capsys, "sample", "--profile", str(path), "--qubits", "2",
                           "--batch", "2", "--shots", "10", "--json")
    assert code == 0 and json.loads(out)["provider"] == "mine"


@pytest.mark.parametrize("argv,fragment", [
    (["sample", "--profile", "/tmp/no-such-profile.toml"], "no profile file"),
    (["sample", "--profile", str(DATA_ROOT / "providers" / "local.toml"), "--provider", "local"],
     "not allowed with"),
    (["calibrate"], "--provider --profile"),
    (["estimate", "--method", "guess", "--qubits", "2", "--layers", "1"], "qtdnn"),
    (["qtrl", "--env", "Nowhere-v0"], "MiniGrid"),
])
def test_bad_profile_and_choice_input_is_one_line_exit_2(capsys, argv, fragment):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and fragment in err


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["sample", "--shots", "0"],
                                  ["qtrl", "--help"], ["estimate", "--help"], ["--version"],
                                  ["sweep", "--help"], ["sweep", "--seeds", "5-2"]])
def test_help_and_argument_errors_import_nothing_heavy(argv):
    probe = ("import sys\nfrom qhil.cli import main\ntry:\n    main(sys.argv[1:])\n"
             "except SystemExit:\n    pass\n"
             f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe, *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr
