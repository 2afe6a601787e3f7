"""`qhil sample`: one batch of random hDQNN circuits on a provider, with timings."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from qhil.commands._args import add_provider_flags, non_negative_int, positive_float, positive_int
from qhil.commands._budget import add_budget_flags, budget_from_args
from qhil.errors import ConfigError
from qhil.names import ENTANGLERS

if TYPE_CHECKING:

    from qhil.execution.job import SamplingResult
    from qhil.quantum.ansatz import HDQNNAnsatz


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample")
    add_provider_flags(p, "local", "Provider profile name or .toml path (default local).")
    p.add_argument("--qubits", type=positive_int, default=4, help="Qubits n.")
    p.add_argument("--layers", type=positive_int, default=2, help="Layers L.")
    p.add_argument("--batch", type=positive_int, default=8, help="Circuits in the batch.")
    p.add_argument("--shots", type=positive_int, default=100, help="Shots per circuit.")
    p.add_argument("--seed", type=non_negative_int, default=0, help="Seed for controls and shots.")
    p.add_argument("--entangler", choices=ENTANGLERS, default="data",
                   help="data (CZ indices from the controls), ring or chain (fixed).")
    p.add_argument("--timeout-s", type=positive_float, default=3600.0,
                   help="Stop waiting for the result after this many seconds.")
    p.add_argument("--json", dest="as_json", action="store_true", help="Print one JSON object.")
    p.add_argument("--ledger", default=None, metavar="PATH",
                   help="SQLite ledger: records the job and reuses a stored result for the same "
                   "request (default: none, nothing recorded).")
    p.add_argument("--circuit", default=None, metavar="FILE.qasm",
                   help="Your own circuit (OpenQASM 3, `input float[64]` parameters) in place of "
                   "the hDQNN ansatz (default: none).")
    p.add_argument("--params", default=None, metavar="FILE.npy",
                   help="With --circuit: a (B, P) array of parameter rows (default: none).")
    add_budget_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from qhil.quantum.ansatz import HDQNNAnsatz

    if args.circuit is not None:
        return run_sample(args)
    if args.params is not None:
        raise ConfigError(f"--params {args.params} needs --circuit FILE.qasm (the hDQNN ansatz "
                          f"draws its controls from --seed); add --circuit or drop --params")
    ansatz = HDQNNAnsatz(args.qubits, args.layers, args.entangler)
    controls = ansatz.random_controls(args.batch, np.random.default_rng(args.seed))
    request = ansatz.request(controls, shots=args.shots, seed=args.seed)
    sent = send_one(args, request)
    report = _report(sent.result, ansatz, args.batch, args.shots, sent.latency_s)
    report.update(cost_usd=str(sent.cost_usd), reused=sent.reused)
    print(json.dumps(report) if args.as_json else _summary(report))
    return 0


@dataclass(frozen=True)
class Sent:
    """One batch sent (or its stored result reused): `cost_usd` is what the ledger recorded."""

    result: SamplingResult
    latency_s: float
    cost_usd: Decimal
    reused: bool


def send_one(args, request) -> Sent:
    """The batch to `--provider`: the `--ledger` path checked, the request validated and priced
    once (`quote`), the service's dry run, then `dispatch_one`."""
    from qhil.execution.pricing import quote
    from qhil.execution.registry import get_provider
    from qhil.paths import check_ledger_path

    budget = budget_from_args(args)
    if args.ledger:
        check_ledger_path(args.ledger, "--ledger")
    with get_provider(args.provider) as backend:
        price = quote(backend, request)
        announce_dry_run(backend.dry_run(request, args.timeout_s))
        return dispatch_one(args, backend, request, price, budget)


def dispatch_one(args, backend, request, price, budget) -> Sent:
    """The spending road (consent, unless the `--ledger` already holds the result: nothing to
    pay, nothing to agree to), then one Dispatcher run, priced from its ledger."""
    from qhil.execution.consent import open_dispatcher

    ledger = _stored_ledger(args.ledger)
    stored = ledger is not None and ledger.find_result(price.digest, backend.name) is not None
    try:
        dispatcher = open_dispatcher(backend, _spend(args, backend, request, price, stored),
                                     budget, yes=args.yes, budget_required=False,
                                     ledger=ledger or args.ledger, quotes=[price])
    except BaseException:  # a refusal leaves no new ledger file behind
        if ledger is not None:
            ledger.close()
        raise
    with dispatcher.ledger:
        return _run(dispatcher, request, args.timeout_s)


def _stored_ledger(path: str | None):
    from qhil.paths import open_ledger

    return open_ledger(path, "--ledger") if path and Path(path).exists() else None


def _spend(args, backend, request, price, stored: bool):
    from qhil.execution.spend import Spend, request_spend

    if stored:
        return Spend(f"one batch (reused from {args.ledger}: nothing to pay)", (backend.name,),
                     False, 0, 0, Decimal(0))
    return request_spend("one batch", backend.profile, [request], quotes=[price])


def _run(dispatcher, request, timeout_s: float) -> Sent:
    before = dispatcher.ledger.totals().cost_usd
    started = time.perf_counter()
    result = dispatcher.run(request, timeout_s)
    latency_s = time.perf_counter() - started
    return Sent(result, latency_s, dispatcher.ledger.totals().cost_usd - before,
                dispatcher.counters["reused"] > 0)


def announce_dry_run(checked) -> None:
    """Say on stderr what the service's dry run found (nothing where it offers none)."""
    if checked is not None:
        print(f"qhil: {checked.describe()}", file=sys.stderr)


def _report(result, ansatz: HDQNNAnsatz, batch: int, shots: int, latency_s: float) -> dict:
    import numpy as np

    t = result.timings
    return {
        "provider": result.provider, "job_id": result.job_id, "qubits": ansatz.n_qubits,
        "layers": ansatz.n_layers, "entangler": ansatz.entangler, "batch": batch, "shots": shots,
        "marginals": np.round(result.marginals, 6).tolist(), "latency_s": latency_s,
        "queue_s": t.queue_s, "execution_s": t.execution_s, "round_trip_s": t.round_trip_s,
        "circuits_per_s": batch / latency_s, "shots_per_s": batch * shots / latency_s,
    }


def _summary(r: dict) -> str:
    import numpy as np

    marg = np.asarray(r["marginals"])
    lines = [
        f"provider {r['provider']}  job {r['job_id']}",
        f"{r['batch']} circuits x {r['shots']} shots, {r['qubits']} qubits x {r['layers']} layers "
        f"({r['entangler']} entangler)",
        f"latency {r['latency_s'] * 1e3:.1f} ms  ({r['circuits_per_s']:.0f} circuits/s, "
        f"{r['shots_per_s']:.3g} shots/s)",
        "mean P(1) per qubit: " + " ".join(f"{v:.3f}" for v in marg.mean(axis=0)),
        "first circuit:       " + " ".join(f"{v:.3f}" for v in marg[0]),
        spent_line(r),
    ]
    return "\n".join(lines)


def spent_line(r: dict) -> str:
    """What the ledger recorded for the batch: a reused result cost nothing and says so."""
    from qhil.execution.budget import format_usd

    if r["reused"]:
        return "spent $0.00: the result was reused from the ledger (nothing sent)"
    return f"spent {format_usd(Decimal(r['cost_usd']))} (as the ledger recorded it)"


def run_sample(args: argparse.Namespace) -> int:
    """`qhil sample --circuit`: one batch of the user's circuit; marginals (B, n) out. Ledger,
    consent and budget as the hDQNN `sample` has them (commands/sample.py)."""
    from qhil.commands._circuit import load_params, load_template
    from qhil.quantum.request import SamplingRequest

    template = load_template(args.circuit)
    params = load_params(args.params, template, args.batch)
    request = SamplingRequest.from_templates(template, params, args.shots, seed=args.seed,
                                             tags={"purpose": "sample"})
    report = _sample_report(args, template, request, send_one(args, request))
    print(json.dumps(report) if args.as_json else _sample_summary(report))
    return 0


def _sample_report(args, template, request, sent) -> dict:
    import numpy as np

    result, latency_s = sent.result, sent.latency_s
    return {"provider": result.provider, "job_id": result.job_id, "circuit": str(args.circuit),
            "qubits": template.n_qubits, "parameters": template.n_params,
            "gates": len(template.gates), "batch": request.batch_size, "shots": args.shots,
            "marginals": np.round(result.marginals, 6).tolist(), "latency_s": latency_s,
            "circuits_per_s": request.batch_size / latency_s, "cost_usd": str(sent.cost_usd),
            "reused": sent.reused}


def _sample_summary(r: dict) -> str:
    import numpy as np

    marg = np.asarray(r["marginals"])
    return "\n".join([
        f"provider {r['provider']}  job {r['job_id']}",
        f"{r['circuit']}: {r['qubits']} qubits, {r['gates']} gates, {r['parameters']} inputs; "
        f"{r['batch']} circuits x {r['shots']} shots",
        f"latency {r['latency_s'] * 1e3:.1f} ms  ({r['circuits_per_s']:.0f} circuits/s)",
        spent_line(r),
        "mean P(1) per qubit: " + " ".join(f"{v:.3f}" for v in marg.mean(axis=0)),
        "first circuit:       " + " ".join(f"{v:.3f}" for v in marg[0])])
