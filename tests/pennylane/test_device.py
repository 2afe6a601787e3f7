"""The qhil PennyLane device: results against default.qubit, one job per batch, spending rules."""

from __future__ import annotations

import json

import numpy as np
import pytest

qml = pytest.importorskip("pennylane")

from qhil.errors import BudgetExceededError, UserError  # noqa: E402
from qhil.pennylane import QhilDevice  # noqa: E402

SHOTS = 20_000


def circuit(x):
    qml.RX(x, 0)
    qml.CNOT([0, 1])
    qml.Rot(0.1, 0.2, 0.3, wires=1)
    qml.IsingXX(0.4, wires=[1, 2])
    return (qml.expval(qml.Z(0) @ qml.Z(1)), qml.expval(qml.X(1)),
            qml.var(qml.Y(0) @ qml.X(2)), qml.probs(wires=[0, 1]),
            qml.expval(qml.Hamiltonian([0.5, -1.2], [qml.Z(0) @ qml.Z(2), qml.X(1)])))


def exact(fn, *args, wires=3):
    return qml.QNode(fn, qml.device("default.qubit", wires=wires))(*args)


def test_correlated_measurements_match_default_qubit():
    dev = QhilDevice(wires=3, shots=SHOTS, seed=1)
    got, want = qml.QNode(circuit, dev)(0.7), exact(circuit, 0.7)
    for g, w in zip(got, want, strict=True):
        assert np.allclose(g, w, atol=0.03)


def test_one_batch_is_one_job_with_a_circuit_per_broadcast_element(tmp_path):
    dev = QhilDevice(wires=3, shots=SHOTS, seed=2, ledger=str(tmp_path / "run.sqlite"))
    xs = np.array([0.1, 1.3, 2.9])
    with qml.Tracker(dev) as tracker:
        got = qml.QNode(circuit, dev)(xs)
    assert tracker.totals["jobs"] == 1 and dev.dispatcher.ledger.totals().jobs == 1
    assert got[0].shape == (3,) and got[3].shape == (3, 4)
    assert np.allclose(got[0], exact(circuit, xs)[0], atol=0.03)


@pytest.mark.parametrize("provider", ["local", "braket-local"])
def test_parameter_shift_gradient_is_one_job_of_2p_circuits(tmp_path, provider):
    if provider.startswith("braket"):
        pytest.importorskip("braket.devices")
    dev = QhilDevice(wires=2, shots=SHOTS, seed=3, ledger=str(tmp_path / "run.sqlite"),
                     provider=provider)

    def cost(w):
        qml.RX(w[0], 0)
        qml.RY(w[1], 1)
        qml.CNOT([0, 1])
        qml.RZ(w[2], 1)
        qml.RX(w[3], 1)
        return qml.expval(qml.Z(1))

    w = qml.numpy.array([0.3, 0.5, -0.2, 0.8], requires_grad=True)
    with qml.Tracker(dev) as tracker:
        grad = qml.grad(qml.QNode(cost, dev, diff_method="parameter-shift"))(w)
    assert tracker.history["jobs"] == [1, 1]  # the forward pass, then the whole gradient
    assert tracker.history["circuits"] == [1, 2 * len(w)]
    assert dev.dispatcher.ledger.totals().jobs == 2
    assert np.allclose(grad, qml.grad(qml.QNode(cost, qml.device("default.qubit")))(w), atol=0.03)


def test_shot_vectors_give_a_result_per_bin():
    dev = QhilDevice(wires=1, seed=4)

    @qml.set_shots(shots=[(5000, 2), 10])
    @qml.qnode(dev)
    def bins():
        qml.Hadamard(0)
        return qml.expval(qml.Z(0)), qml.sample(wires=0)

    got = bins()
    assert len(got) == 3 and got[2][1].shape == (10, 1)
    assert all(abs(part[0]) < 0.05 for part in got[:2])


def test_shots_over_the_device_limit_come_back_whole(tmp_path):
    dev = QhilDevice(wires=1, seed=5, provider="braket-local")
    limit = dev.dispatcher.provider.profile.limits.max_shots

    @qml.set_shots(shots=limit + 7)
    @qml.qnode(dev)
    def many():
        qml.RX(0.4, 0)
        return qml.sample(wires=0)

    assert many().shape == (limit + 7, 1)


def test_analytic_mode_on_local_matches_default_qubit(tmp_path):
    dev = QhilDevice(wires=3, seed=3, ledger=str(tmp_path / "run.sqlite"))  # shots=None
    got, want = qml.QNode(circuit, dev)(0.7), exact(circuit, 0.7)
    for g, w in zip(got, want, strict=True):
        assert np.allclose(g, w, atol=1e-6)
    broadcast = np.array([0.1, 0.7, 2.0])
    for g, w in zip(qml.QNode(circuit, dev)(broadcast), exact(circuit, broadcast), strict=True):
        assert np.allclose(g, w, atol=1e-6)
    totals = dev.dispatcher.ledger.totals()
    assert (totals.jobs, totals.shots) == (2, 0)  # split_non_commuting: still a job a call


def test_analytic_parameter_shift_gradient_is_exact():
    dev = QhilDevice(wires=3)

    def energy(w):
        qml.RY(w[0], 0)
        qml.CRX(w[1], wires=[0, 1])
        qml.U3(w[2], 0.3, 0.5, wires=2)
        return qml.expval(qml.Z(1) + 0.5 * qml.X(2))

    w = qml.numpy.array([0.4, 1.3, -0.8], requires_grad=True)
    want = qml.grad(qml.QNode(energy, qml.device("default.qubit", wires=3)))(w)
    got = qml.grad(qml.QNode(energy, dev, diff_method="parameter-shift"))(w)
    assert np.allclose(got, want, atol=1e-6)


def test_analytic_mode_on_a_shots_only_provider_is_refused_in_one_line(tmp_path):
    dev = QhilDevice(wires=1, provider="braket-local", ledger=str(tmp_path / "run.sqlite"))

    @qml.qnode(dev)
    def analytic():
        return qml.expval(qml.Z(0))

    with pytest.raises(UserError, match="needs a provider that gives exact probabilities") as e:
        analytic()
    assert "\n" not in str(e.value) and "set shots" in str(e.value)
    assert dev.dispatcher.ledger.totals().jobs == 0


def test_a_billing_device_without_a_budget_sends_nothing(tmp_path):
    path = tmp_path / "run.sqlite"
    with pytest.raises(UserError, match="no budget: nothing was sent"):
        QhilDevice(wires=1, shots=10, provider="chaos-faults", ledger=str(path))
    assert not path.exists()


def test_a_billing_device_asks_before_it_exists_and_sends_nothing_unasked(tmp_path):
    from qhil.execution.ledger import Ledger

    with pytest.raises(UserError, match="no terminal to ask on: nothing was sent"):
        QhilDevice(wires=1, shots=10, provider="chaos-faults", budget_usd=1,
                   ledger=str(tmp_path / "run.sqlite"))  # pytest's stdin is no terminal, no yes
    assert not (tmp_path / "run.sqlite").exists() or Ledger(tmp_path / "run.sqlite").totals().jobs == 0


def test_a_profile_path_names_the_provider():
    from qhil.config import find_profile

    dev = QhilDevice(wires=1, shots=10, provider=str(find_profile("local").source_path))
    assert dev.dispatcher.provider.name == "local"


def test_the_budget_stops_a_loop_with_nothing_overspent(tmp_path):
    dev = QhilDevice(wires=1, shots=10, provider="chaos-faults", budget_shots=25, yes=True,
                     seed=6, ledger=str(tmp_path / "run.sqlite"))
    node = qml.QNode(lambda x: (qml.RX(x, 0), qml.expval(qml.Z(0)))[1], dev)
    node(0.1), node(0.2)
    with pytest.raises(BudgetExceededError):
        node(0.3)
    assert dev.dispatcher.ledger.totals().shots == 20


def test_qhil_ledger_reads_the_device_ledger(tmp_path, capsys):
    from qhil.cli import main

    path = tmp_path / "run.sqlite"
    dev = QhilDevice(wires=1, shots=100, seed=7, ledger=str(path))
    qml.QNode(lambda: (qml.Hadamard(0), qml.expval(qml.Z(0)))[1], dev)()
    dev.close()
    with pytest.raises(SystemExit) as done:
        main(["ledger", str(path), "--json"])
    assert done.value.code in (0, None)
    report = json.loads(capsys.readouterr().out)
    assert report["totals"]["jobs"] == 1 and report["totals"]["shots"] == 100
    assert list(report["providers"]) == ["local"]


def test_unsupported_operations_are_decomposed():
    dev = QhilDevice(wires=3, shots=SHOTS, seed=8)

    def many_gates():
        qml.Toffoli([0, 1, 2])
        qml.PauliX(0)
        qml.S(1)
        qml.Hadamard(1)
        qml.Toffoli([0, 1, 2])
        qml.QubitUnitary(qml.matrix(qml.Rot(0.2, 0.3, 0.4, wires=0)), wires=0)
        return qml.probs(wires=[0, 1, 2])

    assert np.allclose(qml.QNode(many_gates, dev)(), exact(many_gates), atol=0.02)
