"""`--circuit FILE.qasm`: the user's own circuit in `sample`, `estimate` and `compare`.

    load_template(path)             the file as a CircuitTemplate (exit 2 naming the file's line)
    load_params(path, template)     a (B, P) .npy array checked against the circuit's inputs
    run_estimate(args)              the estimate command's --circuit branch

Everything is read and checked before a provider is opened or a ledger created, so a mistake
exits 2 with one line and writes nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from qhil.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from qhil.quantum.template import CircuitTemplate

UPDATE_METHODS = ("qtdnn", "exact", "parameter-shift")
NOT_NUMBERS = {"U": "text", "S": "bytes", "b": "booleans", "V": "records", "M": "dates",
               "m": "time spans"}


def load_template(path: str | Path) -> CircuitTemplate:
    """The OpenQASM 3 file as a template; CircuitTemplateError (exit 2) names the line."""
    from qhil.quantum.template import CircuitTemplate
    from qhil.quantum.template_qasm import MAX_QASM_BYTES

    file = Path(path)
    if not file.exists():
        raise ConfigError(f"--circuit {path}: no such file")
    if not file.is_file():
        raise ConfigError(f"--circuit {path} is not a regular file (a folder, device or pipe); "
                          f"pass an OpenQASM 3 .qasm file")
    if file.stat().st_size > MAX_QASM_BYTES:  # refused before a byte is read
        raise ConfigError(f"--circuit {path}: {file.stat().st_size:,} bytes; qhil reads OpenQASM "
                          f"files of at most {MAX_QASM_BYTES:,} bytes")
    try:
        text = file.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--circuit {path}: cannot read it as text ({exc})") from None
    return CircuitTemplate.from_qasm(text, source=str(path))


def load_params(path: str | None, template: CircuitTemplate, batch: int | None = None) -> np.ndarray:
    """(B, P) parameters from a .npy file (a (P,) vector is one row); without a file, `batch`
    rows are allowed only for a circuit with no inputs."""
    import numpy as np

    from qhil.quantum.template import CircuitTemplateError

    if path is None:
        if template.n_params:
            raise ConfigError(f"{template.name} declares {template.n_params} inputs "
                              f"({', '.join(template.param_names)}); pass --params FILE.npy with "
                              f"shape (B, {template.n_params})")
        return np.zeros((batch or 1, 0))
    params = _real_finite(_read_npy(path), path)
    try:
        return template.check_params(params)
    except CircuitTemplateError:
        raise CircuitTemplateError(_count_mismatch(template, path, params.shape)) from None


def _read_npy(path: str) -> np.ndarray:
    """The one array of a .npy file; an .npz archive (several arrays) is refused by name."""
    import numpy as np

    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--params {path}: not a readable .npy array ({exc})") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        names = ", ".join(loaded.files) or "none"
        loaded.close()
        raise ConfigError(f"--params {path} is an .npz archive (arrays: {names}); save the one "
                          f"(B, P) array with np.save('params.npy', array)")
    return loaded


def _real_finite(params: np.ndarray, path: str) -> np.ndarray:
    """Refuse what np.asarray(..., float64) would crash on or silently change: text, objects,
    complex values (the imaginary parts dropped) and NaN/Inf."""
    import numpy as np

    if params.dtype.kind == "c":
        raise ConfigError(f"--params {path} holds complex numbers; parameters are real angles: "
                          f"save np.real(array) if the imaginary parts are meant to be 0")
    if params.dtype.kind not in "iuf":
        kind = NOT_NUMBERS.get(params.dtype.kind, str(params.dtype))
        raise ConfigError(f"--params {path} holds {kind} ({params.dtype}), not numbers; save a "
                          f"float array of shape (B, P)")
    bad = np.argwhere(~np.isfinite(params))
    if bad.size:
        raise ConfigError(f"--params {path} holds {len(bad)} NaN/Inf value(s) (first at index "
                          f"{tuple(int(i) for i in bad[0])}); parameters must be finite numbers")
    return params


def _count_mismatch(template: CircuitTemplate, path: str, shape: tuple) -> str:
    lines = [line for line in template.input_lines if line is not None]
    where = f"line {lines[-1]}" if lines else "line 1"
    declared = ", ".join(template.param_names) or "none"
    return (f"{template.name}: {where}: the circuit declares {template.n_params} inputs "
            f"({declared}) but --params {path} has shape {tuple(shape)}; expected "
            f"(B, {template.n_params})")


def update_requests(template: CircuitTemplate, batch: int, shots: int):
    """Per gradient method, the requests one training update of a QuantumLayer sends: the
    forward batch, plus the method's extra circuits (as the layer builds them)."""
    from qhil.layers.template_circuit import update_rows
    from qhil.quantum.request import SamplingRequest

    return {method: [SamplingRequest.from_templates(t, rows, shots) for t, rows in requests]
            for method, requests in update_rows(template, batch).items()}


CIRCUIT_ESTIMATE_FLAGS = {"circuit", "provider", "batch", "shots", "method", "as_json",
                          "command", "func", "debug", "quiet"}


def run_estimate(args: argparse.Namespace) -> int:
    """`qhil estimate --circuit`: jobs, QPU time and dollars per batch and per update."""
    from qhil.config import find_profile
    from qhil.cost.workload import Workload

    _refuse_unused_flags(args)
    template = load_template(args.circuit)
    if args.provider is None:
        raise ConfigError("qhil estimate --circuit needs --provider NAME (whose limits and "
                          "calibration price the circuit)")
    profile = find_profile(args.provider)
    if template.n_qubits > profile.limits.max_qubits:
        raise ConfigError(f"--circuit {args.circuit} has {template.n_qubits} qubits; "
                          f"'{profile.name}' has {profile.limits.max_qubits}: it cannot run it, "
                          f"so there is no price; pick a larger device")
    batch, shots = args.batch or Workload.batch_size, args.shots or Workload.shots
    figures = _update_figures(profile, template, batch, shots, args.method)
    report = {"provider": profile.name, "circuit": str(args.circuit), "qubits": template.n_qubits,
              "parameters": template.n_params, "batch": batch, "shots": shots,
              "per_batch": _update_figures(profile, template, batch, shots, "qtdnn")["qtdnn"],
              "per_update": figures}
    print(json.dumps(report) if args.as_json else _estimate_summary(report))
    return 0


def _refuse_unused_flags(args: argparse.Namespace) -> None:
    """--circuit prices one circuit per batch and per update: the training-run flags (--config,
    --from-run, the workload and device overrides) would be silently ignored, so they are refused."""
    unused = [k for k, v in vars(args).items() if k not in CIRCUIT_ESTIMATE_FLAGS and v is not None]
    if unused:
        flag = "--" + unused[0].replace("_", "-")
        raise ConfigError(f"{flag} does not apply to --circuit (which prices one circuit with "
                          f"--provider, --batch, --shots, --method); drop {flag} or --circuit")
    if args.method not in ("all", *UPDATE_METHODS):
        raise ConfigError(f"--method {args.method} is not priced for --circuit; choose one of "
                          f"{', '.join(UPDATE_METHODS)} or all")


def _update_figures(profile, template: CircuitTemplate, batch: int, shots: int,
                    method: str) -> dict:
    """Per gradient method (`method`, or every one for "all"): jobs, circuits, shots, QPU
    seconds and dollars of one training update."""
    from qhil.execution.pricing import billed_seconds, calibration_for, job_cost_usd, tasks_for

    calibration = calibration_for(profile)
    figures = {}
    for name, requests in update_requests(template, batch, shots).items():
        if method not in ("all", name):
            continue
        qpu_s = sum(billed_seconds(calibration, r, tasks_for(profile, r)) for r in requests) \
            if calibration is not None else 0.0
        figures[name] = {"jobs": sum(tasks_for(profile, r) for r in requests),
                         "circuits": sum(r.batch_size for r in requests),
                         "shots": sum(r.total_shots for r in requests), "qpu_s": qpu_s,
                         "cost_usd": str(sum(job_cost_usd(profile, r) for r in requests))}
    return figures


def _estimate_summary(r: dict) -> str:
    b = r["per_batch"]
    lines = [f"{r['circuit']} on {r['provider']}: {r['qubits']} qubits, {r['parameters']} inputs, "
             f"batch {r['batch']} x {r['shots']} shots",
             f"one batch: {b['jobs']} job(s), {b['qpu_s']:.3g} QPU s, ${b['cost_usd']}",
             "per training update of a QuantumLayer:"]
    for method, f in r["per_update"].items():
        lines.append(f"  {method:16s} {f['jobs']:4d} job(s) {f['circuits']:8d} circuits "
                     f"{f['qpu_s']:10.3g} QPU s  ${f['cost_usd']}")
    return "\n".join(lines)
