"""What a probe job costs by a calibration snapshot's price list (Decimal dollars)."""

from __future__ import annotations

from decimal import Decimal

from qhil.calibration import Calibration


def job_cost_usd(calibration: Calibration | None, circuits: int, shots_per_circuit: int,
                 qpu_s: float | None) -> Decimal:
    """Per-task fee + per-shot fee + billed seconds (QPU seconds or minutes, with the minimum)."""
    if calibration is None:
        return Decimal(0)
    price = calibration.pricing
    billed_s = Decimal(str(max(qpu_s or 0.0, price.min_billed_s)))
    return (price.per_task_usd + price.per_shot_usd * circuits * shots_per_circuit
            + price.per_qpu_second_usd * billed_s + price.per_minute_usd * billed_s / 60)


def per_1k_shots_usd(calibration: Calibration | None, circuits: int, shots_per_circuit: int,
                     qpu_s: float | None) -> Decimal | None:
    """Cost of 1,000 shots when sent in jobs of this size; None for an empty job."""
    total = circuits * shots_per_circuit
    if total <= 0:
        return None
    return job_cost_usd(calibration, circuits, shots_per_circuit, qpu_s) * 1000 / total
