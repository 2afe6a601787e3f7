"""Transpile cache, restriction of a fake backend to the qubits a layout uses, calibration
snapshots from a backend target, and the Aer adapter's exact path."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.primitives import BackendSamplerV2
from qiskit_aer import AerSimulator

from qhil import HDQNNAnsatz
from qhil.adapters.qiskit import aer_exact_marginals
from qhil.adapters.qiskit_backends import (
    ReducedDevice,
    TranspileCache,
    active_qubits,
    compact_circuit,
    fake_backend,
    reduced_target,
)
from qhil.adapters.qiskit_calibration import calibration_from_target, to_toml
from qhil.adapters.qiskit_circuits import translate
from qhil.calibration import Calibration, load_calibration
from qhil.config import load_toml
from qhil.errors import ConfigError
from tests.conftest import random_controls
from tests.reference import reference_marginals


@pytest.fixture(scope="module")
def torino():
    return fake_backend("FakeTorino")


def test_unknown_fake_backend_is_a_config_error():
    with pytest.raises(ConfigError, match="FakeNowhere"):
        fake_backend("FakeNowhere")


def test_transpile_cache_hits_per_structure_and_shares_one_layout(torino, rng):
    cache = TranspileCache(torino)
    ansatz = HDQNNAnsatz(3, 2)
    req = ansatz.request(random_controls(rng, ansatz, 6), shots=10)
    pubs = translate(req)
    isa = [cache.get(p.key, p.circuit) for p in pubs]
    again = [cache.get(p.key, p.circuit) for p in pubs]
    assert all(a is b for a, b in zip(isa, again, strict=True))
    assert (cache.misses, cache.hits) == (len(pubs), len(pubs)) and cache.hit_rate == 0.5
    assert all(c.num_parameters == 12 for c in isa)
    layouts = {tuple(c.layout.initial_index_layout()[:3]) for c in isa}
    assert len(layouts) == 1 and len(active_qubits(isa)) <= 6


def test_restricted_target_keeps_the_errors_of_the_used_qubits(torino):
    active = [5, 6, 7]
    small = reduced_target(torino.target, active)
    assert small.num_qubits == 3
    assert small["sx"][(1,)].error == torino.target["sx"][(6,)].error
    assert small["measure"][(2,)].error == torino.target["measure"][(7,)].error
    pairs = {q for q in torino.target["cz"] if set(q) <= set(active)}
    assert {tuple(active[i] for i in q) for q in small["cz"]} == pairs


def test_reduced_simulation_matches_the_ideal_circuit_up_to_device_noise(torino, rng):
    ansatz = HDQNNAnsatz(3, 2)
    req = ansatz.request(random_controls(rng, ansatz, 4), shots=4000)
    cache, device = TranspileCache(torino), ReducedDevice(torino)
    pubs = translate(req)
    isa = [cache.get(p.key, p.circuit) for p in pubs]
    active = active_qubits(isa)
    compact = [(compact_circuit(c, active), p.values) for c, p in zip(isa, pubs, strict=True)]
    assert all(c.num_qubits == len(active) for c, _ in compact)
    sampler = BackendSamplerV2(backend=device.simulator(active), options={"seed_simulator": 3})
    results = sampler.run(compact, shots=4000).result()
    ideal = reference_marginals(req.hdqnn_arrays[0], req.hdqnn_arrays[1])
    for pub, res in zip(pubs, results, strict=True):
        got = res.data.meas.to_bool_array(order="big").mean(axis=1)
        assert np.abs(got - ideal[pub.rows]).max() < 0.1


def test_calibration_from_target_reads_durations_and_errors(torino):
    cal = calibration_from_target(torino.target, "fake_torino", "test", "2026-11-22")
    sx = [p.error for p in torino.target["sx"].values()]
    assert cal.errors.gate_1q == pytest.approx(float(np.median(sx)))
    assert cal.durations.gate_2q_ns == pytest.approx(68.0)
    assert 0 < cal.errors.gate_1q < cal.errors.gate_2q < 0.05
    assert cal.durations.readout_ns > cal.durations.gate_2q_ns > cal.durations.gate_1q_ns > 0


def test_calibration_toml_round_trips(torino, tmp_path):
    cal = calibration_from_target(torino.target, "fake_torino", "test", "2026-11-22")
    path = tmp_path / "cal.toml"
    path.write_text(to_toml(cal))
    assert Calibration(**load_toml(path)) == cal


def test_shipped_ibm_snapshots_have_source_date_and_ibm_price():
    torino = load_calibration("calibration/ibm-torino.toml")
    assert torino.pricing.model == "per-qpu-second" and str(torino.pricing.per_qpu_second_usd) == "1.6"
    assert "unconfirmed" in torino.source and torino.date
    for name in ("torino", "sherbrooke", "fez"):
        cal = load_calibration(f"calibration/ibm-fake-{name}.toml")
        assert cal.errors.gate_2q > 0 and cal.durations.readout_ns > 0 and cal.pricing.model == "free"


def test_aer_exact_marginals_match_reference(rng):
    ansatz = HDQNNAnsatz(4, 3)
    req = ansatz.request(random_controls(rng, ansatz, 5), shots=None)
    for pub in translate(req, measure=False):
        got = aer_exact_marginals(AerSimulator(), pub.circuit, pub.values)
        np.testing.assert_allclose(got, reference_marginals(req.hdqnn_arrays[0][pub.rows], req.hdqnn_arrays[1][pub.rows]),
                                   atol=1e-6)


def _local_provider(local_sampler: str):
    from qhil.adapters.qiskit_runtime import IBMProvider
    from qhil.config import find_profile

    profile = find_profile("ibm-fake-torino")
    options = {**profile.options, "local_sampler": local_sampler}
    return IBMProvider(profile.model_copy(update={"options": options}))


def test_the_two_local_samplers_draw_the_same_distribution_and_repeat_their_seed(rng):
    """Local testing mode's two samplers (one Aer execution per job, or the client-side Sampler's
    one per PUB) run the same noisy circuits: they agree within shot noise (5 sigma of the
    difference of two 4,000-shot marginals), both sit within the conformance suite's device-noise
    allowance of the ideal marginals, rows in request order, and a seed repeats its shots."""
    ansatz = HDQNNAnsatz(3, 2)
    req = ansatz.request(random_controls(rng, ansatz, 5), shots=4000, seed=11)
    got = {}
    for local_sampler in ("aer", "executor"):
        with _local_provider(local_sampler) as provider:
            got[local_sampler] = provider.submit(req).result(timeout_s=300).marginals
            again = provider.submit(req).result(timeout_s=300).marginals
        np.testing.assert_array_equal(got[local_sampler], again)
    ideal = reference_marginals(req.hdqnn_arrays[0], req.hdqnn_arrays[1])
    assert np.abs(got["aer"] - ideal).max() < 0.2 and np.abs(got["executor"] - ideal).max() < 0.2
    assert np.abs(got["aer"] - got["executor"]).max() < 5 * np.sqrt(2 * 0.25 / 4000)


def test_an_unknown_local_sampler_is_refused_naming_the_field():
    with pytest.raises(ConfigError, match="local_sampler"):
        _local_provider("qpu")
