"""Issue 26's "second round of bad and unlucky inputs" (its Why list, Build 4) and the faults of
Build 5, each beside the tests that pin the behaviour the issue asks for. check_trust.py runs
the tests (its "second-round inputs" check) and writes this table with their outcomes.

    INPUTS: (the issue's input, what qhil does now, test node ids, added on branch trust)
    FAULTS: (the fault, what qhil does now, a check_trust check name or test node ids)
"""

from __future__ import annotations

BAD = "tests/commands/test_bad_inputs.py::test_second_round_input_exits_2_with_one_line_and_changes_nothing"
LOCK = "tests/commands/test_run_folder_lock.py"
OUTPUTS = "tests/rl/test_run_outputs.py"
CIRCUIT = "tests/test_cli_circuit.py"
HOSTILE = "tests/commands/test_hostile_files.py"
MONEY = "tests/commands/test_money_safe.py"


def _bad(*names: str) -> list[str]:
    return [f"{BAD}[{name}]" for name in names]


INPUTS = [
    ("`[eval] episodes = 0`", "exit 2 naming eval.episodes and `final = false`, before training; the "
     "same on `--resume` of a run whose config.toml says it",
     ["tests/rl/test_configs.py::test_eval_episodes_0_is_refused_before_anything_is_trained",
      *_bad("train-resume-eval-episodes-0")], ["train-resume-eval-episodes-0"]),
    ("final evaluation twice when every_steps divides steps", "one final evaluation; the ledger's "
     "jobs equal `qhil estimate`'s",
     ["tests/rl/test_schedule.py::test_an_evaluation_due_at_the_last_step_is_the_final_one_only",
      "tests/rl/test_schedule.py::test_a_run_evaluates_once_at_its_last_step_and_estimate_counts_the_same"],
     []),
    ("two `--resume` of one folder racing", "the second exits 2 naming the owner's pid; the ledger "
     "verifies and holds what one resume buys",
     [f"{LOCK}::test_two_resumes_racing_on_one_folder_buy_what_one_resume_buys",
      f"{LOCK}::test_a_second_writer_is_refused_and_a_killed_owners_lock_is_taken_over"],
     ["test_two_resumes_racing_on_one_folder_buy_what_one_resume_buys"]),
    ("`compare --circuit` of a 30-qubit file", "exit 2: the 2^30-amplitude reference and the "
     "memory free", _bad("compare-circuit-30-qubits"), []),
    ("`sample --params` of a string array / an `.npz`", "exit 2: holds text / is an .npz archive "
     "(names its arrays)", _bad("sample-params-text", "sample-params-npz"), []),
    ("`--resume` after `qubits` changed in config.toml", "exit 2: does not fit the run's "
     "checkpoint (first tensor that differs); config.toml untouched",
     _bad("train-resume-qubits-edited"), []),
    ("`load_policy(..., budget=1.0)`", "ConfigError naming `qhil.Budget(usd=1.0)`",
     [f"{OUTPUTS}::test_a_bare_number_budget_is_refused_with_the_budget_it_meant"], []),
    ("`policy.predict` of the wrong size", "ConfigError with the shape it takes and the one given",
     [f"{OUTPUTS}::test_predict_refuses_an_observation_of_the_wrong_size"], []),
    ("NaN/Inf parameters blamed on the shape", "exit 2 naming NaN/Inf and the first index (before "
     "the shape)", _bad("sample-params-nan", "sample-params-inf-wrong-shape"), []),
    ("a read-only run folder called \"damaged\"", "exit 2: is read-only, copy it",
     [f"{LOCK}::test_a_read_only_run_folder_is_refused_before_anything_is_read"], []),
    ("Ctrl-C in `compare` pointing at a ledger that does not exist", "exit 130: compare kept no "
     "ledger; sample names the ledger that holds the jobs",
     [f"{MONEY}::test_ctrl_c_names_the_ledger_that_holds_the_jobs_and_none_that_does_not_exist"], []),
    ("`load_policy(forward=\"hardware\")` writing into the run's ledger", "its own ledger "
     "(RUN/policy/ledger.sqlite or ledger=); the run's is refused",
     [f"{OUTPUTS}::test_the_policys_hardware_jobs_go_to_its_own_ledger_not_the_runs"], []),
    ("`estimate --circuit` ignoring --config/--from-run/--method, defaults unlike --help",
     "flags that do not apply refused by name; --method honoured; batch 256, shots 100 as --help",
     [f"{CIRCUIT}::test_estimate_circuit_refuses_flags_it_would_ignore",
      f"{CIRCUIT}::test_estimate_circuit_honours_method_and_the_defaults_its_help_states"], []),
    ("a 30-qubit circuit priced on a 20-qubit device", "exit 2: has 30 qubits; the device has 20",
     [f"{CIRCUIT}::test_estimate_circuit_refuses_a_circuit_wider_than_the_device"], []),
    ("`sample --params` without `--circuit`", "exit 2: needs --circuit",
     _bad("sample-params-without-circuit"), []),
    ("complex parameters truncated", "exit 2: holds complex numbers",
     _bad("sample-params-complex"), []),
    ("a `qtrl` run folder given to `evaluate`", "exit 2: is a `qhil qtrl` run",
     _bad("evaluate-qtrl-run"), []),
    ("`providers`: a missing calibration \"usable\", one malformed file hiding the rest",
     "NOT usable (names the calibration file); INVALID profile on its own line, the others listed",
     ["tests/test_cli.py::test_providers_flag_a_broken_profile_and_a_missing_calibration_beside_the_good_ones"],
     []),
    ("`train --out` into a non-empty folder that is not a run", "exit 2: a folder of other "
     "files, not a run", _bad("train-out-folder-of-other-files"), []),
    ("a mistyped mount path silently created", "exit 2: does not exist beside mount points / at "
     "the top of the file system, is it mistyped",
     [f"{HOSTILE}::test_hostile_file_exits_2_in_bounded_time_and_memory[train-out-mistyped-mount]",
      f"{HOSTILE}::test_hostile_file_exits_2_in_bounded_time_and_memory[compare-out-mistyped-mount]",
      f"{HOSTILE}::test_a_mistyped_folder_beside_a_mount_point_is_refused"],
     ["test_a_mistyped_folder_beside_a_mount_point_is_refused"]),
]

FAULTS = [
    ("disk full at a journal, ledger, checkpoint write", "one line with the resume command; "
     "`ledger --verify` passes; resume loses 0, buys 0 twice", "disk full"),
    ("a read-only or vanished run folder", "exit 2 before anything is read or bought",
     [f"{LOCK}::test_a_read_only_run_folder_is_refused_before_anything_is_read",
      f"{LOCK}::test_a_vanished_run_folder_is_refused_in_one_line"]),
    ("concurrent writers: train --resume, evaluate, sweep; a stale lock", "exit 2 naming the "
     "owner's pid; a killed owner's lock taken over",
     [f"{LOCK}::test_a_second_writer_is_refused_and_a_killed_owners_lock_is_taken_over",
      f"{LOCK}::test_two_resumes_racing_on_one_folder_buy_what_one_resume_buys",
      "tests/sweep/test_cli_refusals.py::test_resume_of_a_sweep_another_process_writes_is_refused"]),
    ("hostile QASM and profiles, calibration paths leaving their folder, --out links",
     "exit 2, one line, < 5 s, < 256 MiB", "hostile files and paths"),
    ("crafted checkpoints", "refused in one line by every loader; the payload never runs",
     "crafted checkpoints"),
    ("`qhil ledger --verify`", "integrity check plus the accounting invariants",
     ["tests/execution/test_ledger_verify.py"]),
]
ADDED_FAULT_TESTS = ["test_resume_of_a_sweep_another_process_writes_is_refused"]


def node_ids() -> list[str]:
    """Every test the two tables name (the whole-check rows are run by their own checks)."""
    ids = [i for _, _, tests, _ in INPUTS for i in tests]
    ids += [i for _, _, tests in FAULTS if isinstance(tests, list) for i in tests]
    return list(dict.fromkeys(ids))
