"""The cost model: a Workload meets a DeviceModel; out come circuits, shots, jobs, QPU seconds,
wall seconds and dollars per method, per run and per update, with a low / typical / high band.

    estimate(workload, device, methods=("qtdnn", "parameter-shift", "spsa"), latency=None)

How a run is counted (see README, "The cost model"):
- exploration: one job per vector-environment step carrying `num_envs` circuits (every method);
  `explorers` explorers send their shares side by side, so its wall time divides by them
  (jobs and fees do not), and each explorer holds its own session where a session bills;
- evaluation: one job per step of `eval_batch` side-by-side episodes (every method);
- learner: qtDNN needs no circuit. Parameter-shift needs 2 x (shifted controls) circuits per
  sample per actor update, SPSA 2; with `learner_forward` also N_b forward circuits per update
  (target actor) and per actor update (the actor's own forward pass). Each update's circuits go
  out as jobs of at most the device's circuits / shots per job, up to `max_jobs_in_flight` waiting
  together.
- start-up: a distributed run's actors start before its first job (`actors_start_s`, measured
  by `qhil calibrate --explorers N`), once per run, in every band;
- time of one job: latency (overhead + queue, by band) + circuits x per_circuit_s + shots x shot
  time, where shot time = per_shot_s if measured, else the ansatz depth in gate durations plus
  readout and reset. QPU seconds are the execution part only. Jobs of different rounds run one
  after another.
- money: per_task x jobs + per_shot x shots + per_qpu_second (and per_minute / 60) x billed
  seconds, billed = max(min_billed_s, overhead + execution) per job (as qhil.execution.pricing
  reserves it), or the run's wall clock for "session".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from qhil.cost.device import BANDS, DeviceModel, LatencyStats
from qhil.cost.workload import Workload
from qhil.errors import ConfigError

METHODS = ("qtdnn", "parameter-shift", "spsa")
# `exact` (autograd through the embedded simulator) is counted too, for `--from-run` of such a
# run: its learner sends only the forward circuits; `--method all` leaves it out
KNOWN = (*METHODS, "exact")
PHASES = ("exploration", "evaluation", "learner")


def method_name(name: str) -> str:
    """'parameter_shift' or 'parameter-shift' -> 'parameter-shift'; unknown names are errors."""
    canonical = name.strip().lower().replace("_", "-")
    if canonical not in KNOWN:
        raise ConfigError(f"unknown method '{name}'; choose from {', '.join(METHODS)} or all")
    return canonical


def json_key(name: str) -> str:
    """The JSON key of a method: 'parameter-shift' -> 'parameter_shift'."""
    return method_name(name).replace("-", "_")


class MethodTable(dict):
    """A dict keyed by method name that also answers to the JSON spelling (underscores)."""

    def __missing__(self, key: str) -> Any:
        canonical = key.replace("_", "-") if isinstance(key, str) else key
        if canonical == key or canonical not in self:
            raise KeyError(key)
        return self[canonical]


@dataclass(frozen=True)
class Round:
    """`repeats` identical rounds, each `circuits` circuits sent out together and awaited;
    `parallel` senders share the rounds and wait side by side."""

    repeats: int
    circuits: int
    parallel: int = 1


@dataclass(frozen=True)
class PhaseEstimate:
    """Totals of one phase (exploration, evaluation or learner) of one method."""

    circuits: int
    shots: int
    jobs: int
    qpu_s: float
    wall_s: dict[str, float]
    cost_usd: dict[str, Decimal]
    billed_s: float

    def to_json(self) -> dict[str, Any]:
        return {"circuits": self.circuits, "shots": self.shots, "jobs": self.jobs,
                "qpu_s": self.qpu_s, "wall_s": self.wall_s["typical"],
                "cost_usd": money_text(self.cost_usd["typical"])}


@dataclass(frozen=True)
class MethodEstimate:
    """One gradient method's demand over the run, its per-update figures and its band."""

    method: str
    updates: int
    circuits: int
    shots: int
    jobs: int
    qpu_s: float
    wall_s: float
    wall_s_low: float
    wall_s_high: float
    cost_usd: Decimal
    cost_usd_low: Decimal
    cost_usd_high: Decimal
    phases: dict[str, PhaseEstimate] = field(default_factory=dict)

    def per_update(self, total: float | Decimal) -> float | Decimal:
        """A run total spread over the run's updates (the total itself when there are none)."""
        return total / max(1, self.updates)

    @property
    def circuits_per_update(self) -> float:
        return self.per_update(self.circuits)

    @property
    def shots_per_update(self) -> float:
        return self.per_update(self.shots)

    @property
    def jobs_per_update(self) -> float:
        return self.per_update(self.jobs)

    @property
    def qpu_s_per_update(self) -> float:
        return self.per_update(self.qpu_s)

    @property
    def wall_s_per_update(self) -> float:
        return self.per_update(self.wall_s)

    @property
    def cost_usd_per_update(self) -> Decimal:
        return self.per_update(self.cost_usd)

    def updates_within(self, seconds: float, *, qpu: bool = True) -> float:
        """How many updates fit in `seconds` of QPU time (or wall time, qpu=False)."""
        per = self.qpu_s_per_update if qpu else self.wall_s_per_update
        return math.inf if per == 0 else seconds / per

    def to_json(self) -> dict[str, Any]:
        return {
            "circuits": self.circuits, "shots": self.shots, "jobs": self.jobs,
            "qpu_s": self.qpu_s, "wall_s": self.wall_s, "wall_s_low": self.wall_s_low,
            "wall_s_high": self.wall_s_high, "cost_usd": money_text(self.cost_usd),
            "cost_usd_low": money_text(self.cost_usd_low),
            "cost_usd_high": money_text(self.cost_usd_high), "updates": self.updates,
            "per_update": {"circuits": self.circuits_per_update, "shots": self.shots_per_update,
                           "jobs": self.jobs_per_update, "qpu_s": self.qpu_s_per_update,
                           "wall_s": self.wall_s_per_update,
                           "cost_usd": money_text(self.cost_usd_per_update)},
            "phases": {name: p.to_json() for name, p in self.phases.items()},
        }


@dataclass(frozen=True)
class CostEstimate:
    """Every requested method's estimate, and the savings of qtDNN against each other one."""

    workload: Workload
    device: DeviceModel
    methods: MethodTable
    savings: MethodTable

    def to_json(self) -> dict[str, Any]:
        """One entry per method (JSON spelling), plus savings, workload and device."""
        out: dict[str, Any] = {json_key(m): e.to_json() for m, e in self.methods.items()}
        out["savings"] = {json_key(m): s for m, s in self.savings.items()}
        out["workload"] = self.workload.to_json()
        out["device"] = self.device.to_json()
        out["explorers"] = self.workload.explorers
        return out


def estimate(workload: Workload, device: DeviceModel, methods: tuple[str, ...] | list[str] = METHODS,
             latency: Any = None) -> CostEstimate:
    """Estimate each method's demand; `latency` (LatencyStats-like) replaces the queue band."""
    wanted = [method_name(m) for m in methods] or list(METHODS)
    if latency is not None:
        stats = LatencyStats.coerce(latency)
        device = device.with_latency(stats, _measured_execution_s(stats, workload, device))
    every = {m: estimate_method(workload, device, m) for m in dict.fromkeys(["qtdnn", *wanted])}
    table = MethodTable({m: every[m] for m in dict.fromkeys(wanted)})
    savings = MethodTable({m: _savings(every[m], every["qtdnn"]) for m in table if m != "qtdnn"})
    return CostEstimate(workload=workload, device=device, methods=table, savings=savings)


def _measured_execution_s(stats: LatencyStats, workload: Workload, device: DeviceModel) -> float:
    """The modelled execution of the jobs the latency was measured on (0 without a shape)."""
    if stats.circuits is None:
        return 0.0
    shots = stats.circuits * (stats.shots or workload.shots)
    return (shots * shot_ns(workload, device) / 1e9) + stats.circuits * device.per_circuit_s


def estimate_method(workload: Workload, device: DeviceModel, method: str) -> MethodEstimate:
    """One method's phases added up, with the session price applied to the whole run."""
    method = method_name(method)
    phases = {name: _phase(rounds, workload, device)
              for name, rounds in demand(workload, method).items()}
    wall = {b: device.actors_start_s + sum(p.wall_s[b] for p in phases.values()) for b in BANDS}
    sessions = workload.explorers if workload.pqc else 1
    cost = {b: sum((p.cost_usd[b] for p in phases.values()), Decimal(0))
            + sessions * _session_usd(device, wall[b]) for b in BANDS}
    return MethodEstimate(
        method=method, updates=workload.updates,
        circuits=sum(p.circuits for p in phases.values()),
        shots=sum(p.shots for p in phases.values()), jobs=sum(p.jobs for p in phases.values()),
        qpu_s=sum(p.qpu_s for p in phases.values()), wall_s=wall["typical"],
        wall_s_low=wall["low"], wall_s_high=wall["high"], cost_usd=cost["typical"],
        cost_usd_low=cost["low"], cost_usd_high=cost["high"], phases=phases)


def demand(workload: Workload, method: str) -> dict[str, list[Round]]:
    """The rounds of circuits each phase sends, for one method (device-independent)."""
    w = workload
    if not w.pqc:
        return dict.fromkeys(PHASES, [])
    return {"exploration": [Round(w.env_steps, w.num_envs, w.explorers)],
            "evaluation": [Round(w.eval_jobs, w.eval_batch)],
            "learner": learner_rounds(w, method)}


def learner_rounds(w: Workload, method: str) -> list[Round]:
    """Circuits the learner needs per update and per actor update, by gradient method."""
    per_sample = {"qtdnn": 0, "exact": 0, "parameter-shift": 2 * w.shifted_controls,
                  "spsa": 2}[method]
    if method == "qtdnn" or (per_sample == 0 and not w.learner_forward):
        return []
    forward = 1 if w.learner_forward else 0
    rounds = [Round(w.actor_updates, w.batch_size * (per_sample + forward))]
    if forward:
        rounds.append(Round(w.updates, w.batch_size))
    return rounds


def shot_ns(workload: Workload, device: DeviceModel) -> float:
    """Time of one shot: measured per_shot_s, else the circuit's duration + readout + reset."""
    if device.per_shot_s > 0:
        return device.per_shot_s * 1e9
    steps_1q, steps_2q = logical_steps(workload)
    factor = device.depth_factor
    if workload.circuit_depth is not None:
        factor = workload.circuit_depth / max(1, steps_1q + steps_2q)
    gates_ns = steps_1q * device.gate_1q_ns + steps_2q * device.gate_2q_ns
    return gates_ns * factor + device.readout_ns + device.reset_ns


def logical_steps(workload: Workload) -> tuple[int, int]:
    """(single-qubit, two-qubit) gate steps of the ansatz: RX then RY, then the CZ layer."""
    ansatz = workload.ansatz
    if ansatz.entangler == "data":
        cz_steps = 1 if ansatz.n_qubits > 1 else 0
    else:
        cz_steps = _parallel_steps(ansatz.fixed_pairs())
    return 2 * ansatz.n_layers, cz_steps * ansatz.n_layers


def _parallel_steps(pairs: list[tuple[int, int]]) -> int:
    """Steps needed to run the CZ pairs, greedily packing disjoint pairs together."""
    steps: list[set[int]] = []
    for pair in pairs:
        slot = next((s for s in steps if not s & set(pair)), None)
        if slot is None:
            steps.append(slot := set())
        slot.update(pair)
    return len(steps)


def _phase(rounds: list[Round], workload: Workload, device: DeviceModel) -> PhaseEstimate:
    parts = [_round(r, workload, device) for r in rounds if r.repeats and r.circuits]
    return PhaseEstimate(
        circuits=sum(p.circuits for p in parts), shots=sum(p.shots for p in parts),
        jobs=sum(p.jobs for p in parts), qpu_s=sum(p.qpu_s for p in parts),
        wall_s={b: sum(p.wall_s[b] for p in parts) for b in BANDS},
        cost_usd={b: sum((p.cost_usd[b] for p in parts), Decimal(0)) for b in BANDS},
        billed_s=sum(p.billed_s for p in parts))


def _round(r: Round, workload: Workload, device: DeviceModel) -> PhaseEstimate:
    """`repeats` rounds of `circuits` circuits: jobs, execution, latency and fees."""
    cap = device.circuits_per_job(workload.shots) or r.circuits
    jobs = -(-r.circuits // cap)
    shots = r.circuits * workload.shots
    exec_ns = shots * shot_ns(workload, device) + r.circuits * device.per_circuit_s * 1e9
    exec_s = exec_ns / 1e9
    waits = -(-jobs // max(1, device.max_jobs_in_flight))
    in_turn = -(-r.repeats // r.parallel)  # rounds of the sender with the most
    wall = {b: in_turn * (waits * device.job_latency_s(b) + exec_s) for b in BANDS}
    per_job_s = device.job_overhead_s + exec_s / jobs
    billed_s = r.repeats * jobs * max(device.pricing.min_billed_s, per_job_s)
    fees = _job_fees(device, r.repeats * jobs, r.repeats * shots, billed_s)
    return PhaseEstimate(
        circuits=r.repeats * r.circuits, shots=r.repeats * shots, jobs=r.repeats * jobs,
        qpu_s=r.repeats * exec_ns / 1e9, wall_s=wall, cost_usd=dict.fromkeys(BANDS, fees),
        billed_s=billed_s)


def _job_fees(device: DeviceModel, jobs: int, shots: int, billed_s: float) -> Decimal:
    """Per-task, per-shot and billed-time fees (session billing is added on the whole run)."""
    p = device.pricing
    fees = p.per_task_usd * jobs + p.per_shot_usd * shots
    if p.model != "session":
        fees += _seconds_usd(device, billed_s)
    return fees


def _session_usd(device: DeviceModel, wall_s: float) -> Decimal:
    """A session bills its wall clock, idle time included."""
    if device.pricing.model != "session":
        return Decimal(0)
    return _seconds_usd(device, max(wall_s, device.pricing.min_billed_s))


def _seconds_usd(device: DeviceModel, seconds: float) -> Decimal:
    p = device.pricing
    s = Decimal(repr(seconds))
    return p.per_qpu_second_usd * s + p.per_minute_usd * s / 60


def _savings(other: MethodEstimate, qtdnn: MethodEstimate) -> dict[str, float | None]:
    """How many times more wall time and money `other` takes than qtDNN (None: qtDNN takes 0)."""
    return {"wall_ratio": _ratio(other.wall_s, qtdnn.wall_s),
            "cost_ratio": _ratio(other.cost_usd, qtdnn.cost_usd),
            "qpu_ratio": _ratio(other.qpu_s, qtdnn.qpu_s),
            "shots_ratio": _ratio(other.shots, qtdnn.shots)}


def _ratio(a: float | Decimal, b: float | Decimal) -> float | None:
    return None if b == 0 else float(a) / float(b)


def money_text(value: Decimal) -> str:
    """Dollars as text with six decimals (JSON keeps money exact as a string)."""
    return str(value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))
