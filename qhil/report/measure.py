"""Run the probe workload on one provider, or predict it from calibration data (dry run).

Every failure becomes the row's status and reason, so one broken provider never stops the
comparison of the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from qhil.calibration import Calibration
from qhil.config import ProviderProfile
from qhil.errors import BudgetExceededError, QhilError
from qhil.execution.budget import Budget
from qhil.execution.consent import Agreement, open_dispatcher
from qhil.execution.dispatcher import Dispatcher
from qhil.execution.job import SamplingResult
from qhil.execution.pricing import (
    billed_cost_usd,
    billed_seconds,
    job_cost_usd,
    tasks_for,
)
from qhil.execution.registry import adapter_class, availability
from qhil.progress import RecentRate, duration_text
from qhil.quantum.request import SamplingRequest
from qhil.report.metrics import SampleFidelity, batch_fidelity, mean_or_none, percentile
from qhil.report.model import (
    FAILED,
    UNAVAILABLE,
    LatencySummary,
    ProbeFigures,
    ProviderRow,
)
from qhil.report.probes import Probe

Progress = Callable[[str], None]


@dataclass(frozen=True)
class JobRecord:
    """One probe job as measured.

    overhead_s: round trip minus the calibration's device time of the job's circuits (its
    durations or fitted per-circuit / per-shot time; 0 without a snapshot): queue, compilation, transfer and, on a
    simulator, the simulation itself. The cost model adds the calibrated device time back.
    """

    probe: str
    circuits: int
    shots: int
    queue_s: float | None
    execution_s: float | None
    overhead_s: float
    round_trip_s: float
    fidelity: SampleFidelity
    cost_usd: Decimal


@dataclass
class Settings:
    """How each provider is probed; one budget spans every provider of the comparison."""

    repeats: int
    timeout_s: float
    budget: Budget | None = None
    progress: Progress = field(default=lambda line: None)
    agreement: Agreement | None = None
    """The comparison's consent (`qhil.execution.consent.agree`) every provider opens with."""


def new_row(profile: ProviderProfile) -> ProviderRow:
    return ProviderRow(name=profile.name, kind=profile.kind, device=profile.device,
                       calibration=profile.calibration or "")


def per_1k_shots_usd(profile: ProviderProfile, request: SamplingRequest) -> Decimal | None:
    """Price of 1,000 shots sent in jobs shaped like `request`, by the calibration snapshot."""
    if not request.total_shots:
        return None
    return job_cost_usd(profile, request) * 1000 / request.total_shots


def measure_provider(profile: ProviderProfile, probes: list[Probe],
                     settings: Settings) -> ProviderRow:
    """Submit every probe `repeats` times through the Dispatcher; a failure ends this provider."""
    row = new_row(profile)
    status = availability(profile)
    if not status.usable:
        row.status, row.reason = UNAVAILABLE, status.reason
        return row
    records: list[JobRecord] = []
    try:
        with adapter_class(profile)(profile) as provider:
            for probe in probes:
                provider.validate(probe.request)
            dispatcher = open_dispatcher(provider, budget=settings.budget,
                                         agreement=settings.agreement)
            _run_all(dispatcher, probes, settings, records)
    except BudgetExceededError as exc:
        row.status, row.reason = FAILED, f"budget: {exc}"
    except QhilError as exc:
        row.status, row.reason = FAILED, str(exc)
    except Exception as exc:  # a vendor SDK's own error: report it, go on with the others
        row.status, row.reason = FAILED, f"{type(exc).__name__}: {exc}"
    fill_row(row, records, profile, probes[0].request)
    return row


def _run_all(dispatcher: Dispatcher, probes: list[Probe], settings: Settings,
             records: list[JobRecord]) -> None:
    """Each repeat re-seeds the probes, so repeats are fresh samples of the same circuits."""
    name = dispatcher.provider.name
    total, pace = settings.repeats * len(probes), RecentRate(window_s=120.0)
    for repeat in range(settings.repeats):
        for probe in probes:
            pace.add(time.perf_counter(), len(records))
            settings.progress(f"{name}: {probe.name} repeat {repeat + 1}/{settings.repeats} "
                              f"(job {len(records) + 1}/{total}, "
                              f"ETA {duration_text(pace.eta_s(len(records), total))})")
            request = replace(probe.request, seed=(probe.request.seed or 0) + repeat)
            started = time.perf_counter()
            result = dispatcher.run(request, timeout_s=settings.timeout_s)
            elapsed_s = time.perf_counter() - started
            records.append(_record(dispatcher, probe, request, result, elapsed_s))


def _record(dispatcher: Dispatcher, probe: Probe, request: SamplingRequest,
            result: SamplingResult, elapsed_s: float) -> JobRecord:
    t = result.timings
    profile = dispatcher.provider.profile
    tasks = tasks_for(profile, request)
    billed = billed_cost_usd(dispatcher.calibration, request, tasks, result.usage)
    round_trip_s = t.round_trip_s or elapsed_s
    device_s = circuit_time_s(dispatcher.calibration, request, tasks)
    return JobRecord(
        probe=probe.name, circuits=request.batch_size, shots=request.total_shots,
        queue_s=t.queue_s, execution_s=t.execution_s, round_trip_s=round_trip_s,
        overhead_s=max(round_trip_s - device_s, 0.0),
        fidelity=batch_fidelity(probe.ideal, result.marginals, result.counts),
        cost_usd=billed if billed is not None else job_cost_usd(profile, request))


def circuit_time_s(calibration: Calibration | None, request: SamplingRequest, tasks: int) -> float:
    """The calibration's device time of a job's circuits, its per-job overhead left out (the
    measured overhead replaces that); 0 without a snapshot."""
    if calibration is None:
        return 0.0
    overhead_s = calibration.timing.job_overhead_s * tasks
    return max(billed_seconds(calibration, request, tasks) - overhead_s, 0.0)


def fill_row(row: ProviderRow, records: list[JobRecord], profile: ProviderProfile,
             shape: SamplingRequest) -> None:
    """Latency, throughput, fidelity per probe and prices from the job records."""
    if not records:
        return
    row.latency = latency_summary(records)
    busy_s = sum(r.round_trip_s for r in records)
    row.circuits_per_s = sum(r.circuits for r in records) / busy_s if busy_s > 0 else None
    row.shots_per_s = sum(r.shots for r in records) / busy_s if busy_s > 0 else None
    row.probes = [_probe_figures(name, [r for r in records if r.probe == name])
                  for name in dict.fromkeys(r.probe for r in records)]
    row.probe_cost_usd = sum((r.cost_usd for r in records), Decimal(0))
    row.cost_per_1k_shots_usd = per_1k_shots_usd(profile, shape)


def latency_summary(records: list[JobRecord]) -> LatencySummary:
    queue = [r.queue_s for r in records]
    execution = [r.execution_s for r in records]
    trip = [r.round_trip_s for r in records]
    overhead = [r.overhead_s for r in records]
    return LatencySummary(
        queue_s_p50=percentile(queue, 50), queue_s_p95=percentile(queue, 95),
        execution_s_p50=percentile(execution, 50), execution_s_p95=percentile(execution, 95),
        round_trip_s_p50=percentile(trip, 50), round_trip_s_p95=percentile(trip, 95),
        round_trip_s=[float(v) for v in trip],
        overhead_s_p50=percentile(overhead, 50), overhead_s_p95=percentile(overhead, 95))


def _probe_figures(name: str, records: list[JobRecord]) -> ProbeFigures:
    return ProbeFigures(
        probe=name, jobs=len(records), circuits=sum(r.circuits for r in records),
        shots=sum(r.shots for r in records),
        hellinger_fidelity=mean_or_none([r.fidelity.hellinger_fidelity for r in records]),
        tvd=mean_or_none([r.fidelity.tvd for r in records]),
        marginal_mae=mean_or_none([r.fidelity.marginal_mae for r in records]))
