"""Dry run: the probe figures predicted from a calibration snapshot; nothing is submitted.

Latency: queue p50 / p95 from the snapshot; execution = the device seconds the pricing module
bills (fitted per-job, per-circuit and per-shot time, or gate, readout and reset durations).
Fidelity: the exact distribution under the snapshot's error rates (global depolarising noise per
layer and independent readout flips, the embedded simulator's noise model) against the ideal one.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import torch

from qhil.calibration import Calibration
from qhil.config import ProviderProfile
from qhil.execution.pricing import billed_seconds, calibration_for, job_cost_usd, tasks_for
from qhil.execution.registry import availability
from qhil.quantum.bitstrings import probability_marginals
from qhil.quantum.noise import NoiseModel
from qhil.report.measure import new_row, per_1k_shots_usd
from qhil.report.metrics import mean_distances
from qhil.report.model import PREDICTED, LatencySummary, ProbeFigures, ProviderRow
from qhil.report.probes import Probe


def predict_provider(profile: ProviderProfile, probes: list[Probe]) -> ProviderRow:
    """A row from the profile's calibration alone."""
    row = new_row(profile)
    status = availability(profile)
    row.status = PREDICTED
    row.reason = "" if status.usable else f"not usable here: {status.reason}"
    calibration = calibration_for(profile)
    if calibration is None:
        return _ideal_row(row, probes)
    request = probes[0].request
    execution_s = billed_seconds(calibration, request, tasks_for(profile, request))
    row.latency = predicted_latency(calibration, execution_s)
    trip_s = row.latency.round_trip_s_p50 or 0.0
    row.circuits_per_s = request.batch_size / trip_s if trip_s > 0 else None
    row.shots_per_s = request.total_shots / trip_s if trip_s > 0 else None
    row.probes = [predicted_fidelity(probe, calibration) for probe in probes]
    row.cost_per_1k_shots_usd = per_1k_shots_usd(profile, request)
    row.probe_cost_usd = sum((job_cost_usd(profile, p.request) for p in probes), Decimal(0))
    return row


def _ideal_row(row: ProviderRow, probes: list[Probe]) -> ProviderRow:
    """No calibration file: an ideal, free device whose latency is unknown."""
    ideal = Calibration(device=row.device, source="none", date="")
    row.reason = (row.reason + "; " if row.reason else "") + \
        "no calibration file: taken as ideal and free, latency unknown"
    row.probes = [predicted_fidelity(probe, ideal) for probe in probes]
    row.cost_per_1k_shots_usd = Decimal(0)
    return row


def predicted_latency(calibration: Calibration, execution_s: float) -> LatencySummary:
    t = calibration.timing
    return LatencySummary(
        queue_s_p50=t.queue_p50_s, queue_s_p95=t.queue_p95_s,
        execution_s_p50=execution_s, execution_s_p95=execution_s,
        round_trip_s_p50=t.queue_p50_s + execution_s, round_trip_s_p95=t.queue_p95_s + execution_s,
        round_trip_s=[])


def noisy_distribution(ideal: np.ndarray, n_layers: int, calibration: Calibration) -> np.ndarray:
    """Exact (B, 2**n) distribution under the calibration's depolarising and readout errors."""
    n_qubits = int(np.log2(ideal.shape[1]))
    e = calibration.errors
    noise = NoiseModel.from_error_rates(n_qubits, gate_1q_error=e.gate_1q, gate_2q_error=e.gate_2q,
                                        readout_p01=e.readout_p01, readout_p10=e.readout_p10)
    probs = noise.depolarise(torch.from_numpy(ideal), n_layers=n_layers).numpy()
    return readout_confusion(probs, n_qubits, e.readout_p01, e.readout_p10)


def readout_confusion(probs: np.ndarray, n_qubits: int, p01: float, p10: float) -> np.ndarray:
    """Apply independent per-qubit readout flips to basis probabilities (qubit 0 most significant)."""
    confusion = np.array([[1 - p01, p10], [p01, 1 - p10]])  # [read, prepared]
    tensor = probs.reshape((probs.shape[0],) + (2,) * n_qubits)
    for qubit in range(n_qubits):
        tensor = np.moveaxis(np.tensordot(confusion, tensor, axes=([1], [qubit + 1])), 0, qubit + 1)
    return tensor.reshape(probs.shape)


def predicted_fidelity(probe: Probe, calibration: Calibration) -> ProbeFigures:
    noisy = noisy_distribution(probe.ideal, probe.request.n_layers, calibration)
    request = probe.request
    hellinger, tvd = mean_distances(noisy, probe.ideal)
    return ProbeFigures(
        probe=probe.name, jobs=1, circuits=request.batch_size, shots=request.total_shots,
        hellinger_fidelity=hellinger, tvd=tvd, marginal_mae=float(np.abs(probability_marginals(noisy) - probability_marginals(probe.ideal)).mean()))
