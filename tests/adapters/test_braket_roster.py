"""The shipped Braket roster: devices the SDK lists, snapshots that say where each number came
from, program-set limits read from the live device, and a retired device that refuses to run."""

from __future__ import annotations

import re

import pytest
from braket.devices import Devices

from qhil import HDQNNAnsatz
from qhil.adapters.braket import BraketProvider
from qhil.calibration import load_calibration
from qhil.config import DATA_ROOT, find_profile, profile_names
from qhil.errors import ProviderUnavailableError
from qhil.execution.registry import availability, get_provider
from tests.adapters.braket_fakes import BUCKET, FakeBraket
from tests.conftest import random_controls
from tests.test_cli import run_cli

ROSTER = ("braket-rigetti-cepheus", "braket-iqm-emerald", "braket-ionq-forte-enterprise",
          "braket-aqt-ibex")
RETIRED = "braket-rigetti-ankaa3"


def sdk_arns(active: bool) -> set[str]:
    """ARNs in braket.devices.Devices; the SDK prefixes retired devices' names with '_'."""
    return {str(arn) for vendor in vars(Devices).values() if isinstance(vendor, type)
            for name, arn in vars(vendor).items() if not name.startswith("__")
            and isinstance(arn, str) and name.startswith("_") != active}


def qpu_profiles() -> list[str]:
    return [n for n in profile_names() if find_profile(n).device.startswith("arn:aws:braket:")
            and "/qpu/" in find_profile(n).device]


def test_the_roster_ships_and_every_live_profile_names_a_device_the_sdk_lists():
    assert set(ROSTER) <= set(qpu_profiles())
    live = [n for n in qpu_profiles() if n != RETIRED]
    assert {find_profile(n).device for n in live} <= sdk_arns(active=True)
    assert find_profile(RETIRED).device in sdk_arns(active=False)


@pytest.mark.parametrize("name", ROSTER)
def test_every_number_of_a_roster_snapshot_says_where_it_came_from(name):
    profile = find_profile(name)
    calibration = load_calibration(profile.calibration)
    assert calibration.device == profile.device and re.fullmatch(r"2026-\d\d-\d\d", calibration.date)
    assert "aws.amazon.com/braket/pricing" in calibration.source
    text = (DATA_ROOT / "calibration" / f"{name}.toml").read_text()
    numbers = [line for line in text.splitlines()
               if re.match(r"\w+ = \"?[\d.]", line) and not line.startswith("date")]
    unsourced = [line for line in numbers if "UNCONFIRMED" not in line and "AWS" not in line]
    assert numbers and unsourced == []


def test_prices_not_from_aws_are_marked_unconfirmed():
    for name in ("braket-rigetti-cepheus", "braket-iqm-emerald", "braket-aqt-ibex"):
        text = (DATA_ROOT / "calibration" / f"{name}.toml").read_text()
        (line,) = [ln for ln in text.splitlines() if ln.startswith("per_shot_usd")]
        assert "UNCONFIRMED" in line


def test_a_roster_device_is_chunked_by_its_live_program_set_limits(rng):
    profile = find_profile("braket-iqm-emerald")
    profile = profile.model_copy(update={"options": {**profile.options, "s3_bucket": BUCKET,
                                                     "poll_interval_s": 0}})
    fake = FakeBraket(profile.device)
    fake.device(max_executables=3)  # what the live device's properties say, not the profile
    for i in range(3):
        fake.create(i)
    ansatz = HDQNNAnsatz(3, 2)
    req = ansatz.request(random_controls(rng, ansatz, 8), shots=100)
    with BraketProvider(profile, aws_session=fake.session, sleep=lambda s: None) as provider:
        provider.submit(req)
    assert [s["shots"] for s in fake.sent] == [300, 300, 200]
    assert {s["deviceArn"] for s in fake.sent} == {profile.device}
    fake.braket.deactivate()


def test_the_retired_profile_explains_itself_and_refuses_to_run(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    status = availability(find_profile(RETIRED))
    assert not status.usable and "retired" in status.reason and "braket-rigetti-cepheus" in status.reason
    with pytest.raises(ProviderUnavailableError, match="retired"):
        get_provider(RETIRED)


def test_sample_on_the_retired_profile_is_one_line_exit_2(capsys):
    code, out, err = run_cli(capsys, "sample", "--provider", RETIRED, "--qubits", "2")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "Ankaa-3" in err and "braket-rigetti-cepheus" in err


def test_providers_lists_the_retired_profile_with_its_reason(capsys):
    code, out, _ = run_cli(capsys, "providers")
    (line,) = [ln for ln in out.splitlines() if ln.startswith(RETIRED)]
    assert code == 0 and "NOT usable" in line and "retired" in line


def test_train_on_the_retired_profile_is_refused_before_the_cost_question(capsys, tmp_path):
    code, out, err = run_cli(capsys, "train", "--provider", RETIRED, "--out", str(tmp_path / "r"))
    assert code == 2 and "retired" in err and "estimate on" not in out
    assert not (tmp_path / "r").exists()
