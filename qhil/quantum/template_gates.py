"""The template gate set, in one table: name -> qubits, angles, matrix, shift rules, SDK names.

Every gate of OpenQASM 3's stdgates.inc and Qiskit's standard gates that parameterised circuits
use, with Qiskit's conventions. A matrix is written with the gate's FIRST qubit as the most
significant bit (control first), as everywhere in qhil; `matrix()` builds it batched, in torch.

Each angle carries its parameter-shift rule, from the frequencies its value has in an expectation:
    TWO         frequency 1 (rotations, phases): f'(x) = [f(x + pi/2) - f(x - pi/2)] / 2
    FOUR        frequencies 1/2, 1 (controlled rotations, XX+YY's theta): the four-term rule
    FOUR_DOUBLE frequencies 1, 2 (R's phi, XX+-YY's beta): FOUR on 2x
    NONE        no effect on any measurement (global phase)

`qiskit` names the class in qiskit.circuit.library; `braket` the Braket SDK gate, or None when
the Braket translation decomposes it (`qhil.quantum.template_braket.DECOMPOSITIONS`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

D1, D2 = (math.sqrt(2) + 1) / (4 * math.sqrt(2)), (math.sqrt(2) - 1) / (4 * math.sqrt(2))
TWO = ((math.pi / 2, 0.5), (-math.pi / 2, -0.5))
FOUR = ((math.pi / 2, D1), (-math.pi / 2, -D1), (3 * math.pi / 2, -D2), (-3 * math.pi / 2, D2))
FOUR_DOUBLE = tuple((shift / 2, 2 * c) for shift, c in FOUR)
NONE: tuple = ()
ShiftRule = tuple[tuple[float, float], ...]
"""(shift, coefficient) pairs: d f / d angle = sum coefficient * f(angle + shift)."""


@dataclass(frozen=True)
class GateSpec:
    """One gate: qubit count, angle count, matrix function (angles -> nested entries), a shift
    rule per angle, and its names in Qiskit's library and the Braket SDK."""

    qubits: int
    angles: int
    matrix: Callable
    shifts: tuple[ShiftRule, ...]
    qiskit: str
    braket: str | None


def _cos(t):
    return torch.cos(t / 2)


def _sin(t):
    return torch.sin(t / 2)


def _cis(x):
    return torch.exp(1j * x) if isinstance(x, torch.Tensor) else complex(math.cos(x), math.sin(x))


def controlled(entries: list[list]) -> list[list]:
    """|0><0| (x) I + |1><1| (x) U, control the first (high) qubit."""
    d = len(entries)
    eye = [[1 if i == j else 0 for j in range(d)] for i in range(d)]
    return [row + [0] * d for row in eye] + [[0] * d + row for row in entries]


R2 = 1 / math.sqrt(2)
ID = [[1, 0], [0, 1]]
X = [[0, 1], [1, 0]]
Y = [[0, -1j], [1j, 0]]
Z = [[1, 0], [0, -1]]
H = [[R2, R2], [R2, -R2]]
S = [[1, 0], [0, 1j]]
SDG = [[1, 0], [0, -1j]]
SX = [[(1 + 1j) / 2, (1 - 1j) / 2], [(1 - 1j) / 2, (1 + 1j) / 2]]
SXDG = [[(1 - 1j) / 2, (1 + 1j) / 2], [(1 + 1j) / 2, (1 - 1j) / 2]]
SWAP = [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]


def _rx(t):
    return [[_cos(t), -1j * _sin(t)], [-1j * _sin(t), _cos(t)]]


def _ry(t):
    return [[_cos(t), -_sin(t)], [_sin(t), _cos(t)]]


def _rz(t):
    return [[_cis(-t / 2), 0], [0, _cis(t / 2)]]


def _p(t):
    return [[1, 0], [0, _cis(t)]]


def _r(t, phi):
    return [[_cos(t), -1j * _cis(-phi) * _sin(t)], [-1j * _cis(phi) * _sin(t), _cos(t)]]


def _u2(phi, lam):
    return [[R2, -R2 * _cis(lam)], [R2 * _cis(phi), R2 * _cis(phi + lam)]]


def _u3(t, phi, lam):
    return [[_cos(t), -_cis(lam) * _sin(t)], [_cis(phi) * _sin(t), _cis(phi + lam) * _cos(t)]]


def _cu(t, phi, lam, gamma):
    return controlled([[_cis(gamma) * e for e in row] for row in _u3(t, phi, lam)])


def _rxx(t):
    c, s = _cos(t), -1j * _sin(t)
    return [[c, 0, 0, s], [0, c, s, 0], [0, s, c, 0], [s, 0, 0, c]]


def _ryy(t):
    c, s = _cos(t), 1j * _sin(t)
    return [[c, 0, 0, s], [0, c, -s, 0], [0, -s, c, 0], [s, 0, 0, c]]


def _rzz(t):
    a, b = _cis(-t / 2), _cis(t / 2)
    return [[a, 0, 0, 0], [0, b, 0, 0], [0, 0, b, 0], [0, 0, 0, a]]


def _rzx(t):
    c, s = _cos(t), -1j * _sin(t)
    return [[c, s, 0, 0], [s, c, 0, 0], [0, 0, c, -s], [0, 0, -s, c]]


def _xx_plus_yy(t, beta):
    c, s = _cos(t), -1j * _sin(t)
    return [[1, 0, 0, 0], [0, c, s * _cis(beta), 0], [0, s * _cis(-beta), c, 0], [0, 0, 0, 1]]


def _xx_minus_yy(t, beta):
    c, s = _cos(t), -1j * _sin(t)
    return [[c, 0, 0, s * _cis(-beta)], [0, 1, 0, 0], [0, 0, 1, 0], [s * _cis(beta), 0, 0, c]]


def _fixed(entries: list[list]) -> Callable:
    return lambda: entries


T = [[1, 0], [0, _cis(math.pi / 4)]]
TDG = [[1, 0], [0, _cis(-math.pi / 4)]]
ISWAP = [[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]]
DCX = [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0]]
ECR = [[0, 0, R2, 1j * R2], [0, 0, 1j * R2, R2], [R2, -1j * R2, 0, 0], [-1j * R2, R2, 0, 0]]


def _spec(qubits, matrix, shifts, qiskit, braket) -> GateSpec:
    return GateSpec(qubits, len(shifts), matrix, shifts, qiskit, braket)


GATES: dict[str, GateSpec] = {
    "id": _spec(1, _fixed(ID), (), "IGate", "i"),
    "x": _spec(1, _fixed(X), (), "XGate", "x"),
    "y": _spec(1, _fixed(Y), (), "YGate", "y"),
    "z": _spec(1, _fixed(Z), (), "ZGate", "z"),
    "h": _spec(1, _fixed(H), (), "HGate", "h"),
    "s": _spec(1, _fixed(S), (), "SGate", "s"),
    "sdg": _spec(1, _fixed(SDG), (), "SdgGate", "si"),
    "t": _spec(1, _fixed(T), (), "TGate", "t"),
    "tdg": _spec(1, _fixed(TDG), (), "TdgGate", "ti"),
    "sx": _spec(1, _fixed(SX), (), "SXGate", "v"),
    "sxdg": _spec(1, _fixed(SXDG), (), "SXdgGate", "vi"),
    "p": _spec(1, _p, (TWO,), "PhaseGate", "phaseshift"),
    "rx": _spec(1, _rx, (TWO,), "RXGate", "rx"),
    "ry": _spec(1, _ry, (TWO,), "RYGate", "ry"),
    "rz": _spec(1, _rz, (TWO,), "RZGate", "rz"),
    "r": _spec(1, _r, (TWO, FOUR_DOUBLE), "RGate", None),
    "u2": _spec(1, _u2, (TWO, TWO), "U2Gate", None),
    "u3": _spec(1, _u3, (TWO, TWO, TWO), "U3Gate", "U"),
    "gphase": _spec(0, lambda t: [[_cis(t)]], (NONE,), "GlobalPhaseGate", "gphase"),
    "cx": _spec(2, _fixed(controlled(X)), (), "CXGate", "cnot"),
    "cy": _spec(2, _fixed(controlled(Y)), (), "CYGate", "cy"),
    "cz": _spec(2, _fixed(controlled(Z)), (), "CZGate", "cz"),
    "ch": _spec(2, _fixed(controlled(H)), (), "CHGate", None),
    "cs": _spec(2, _fixed(controlled(S)), (), "CSGate", None),
    "csdg": _spec(2, _fixed(controlled(SDG)), (), "CSdgGate", None),
    "csx": _spec(2, _fixed(controlled(SX)), (), "CSXGate", "cv"),
    "cp": _spec(2, lambda t: controlled(_p(t)), (TWO,), "CPhaseGate", "cphaseshift"),
    "crx": _spec(2, lambda t: controlled(_rx(t)), (FOUR,), "CRXGate", None),
    "cry": _spec(2, lambda t: controlled(_ry(t)), (FOUR,), "CRYGate", None),
    "crz": _spec(2, lambda t: controlled(_rz(t)), (FOUR,), "CRZGate", None),
    "cu3": _spec(2, lambda *a: controlled(_u3(*a)), (FOUR, TWO, TWO), "CU3Gate", None),
    "cu": _spec(2, _cu, (FOUR, TWO, TWO, TWO), "CUGate", None),
    "swap": _spec(2, _fixed(SWAP), (), "SwapGate", "swap"),
    "iswap": _spec(2, _fixed(ISWAP), (), "iSwapGate", "iswap"),
    "dcx": _spec(2, _fixed(DCX), (), "DCXGate", None),
    "ecr": _spec(2, _fixed(ECR), (), "ECRGate", "ecr"),
    "rxx": _spec(2, _rxx, (TWO,), "RXXGate", "xx"),
    "ryy": _spec(2, _ryy, (TWO,), "RYYGate", "yy"),
    "rzz": _spec(2, _rzz, (TWO,), "RZZGate", "zz"),
    "rzx": _spec(2, _rzx, (TWO,), "RZXGate", None),
    "xx_plus_yy": _spec(2, _xx_plus_yy, (FOUR, FOUR_DOUBLE), "XXPlusYYGate", None),
    "xx_minus_yy": _spec(2, _xx_minus_yy, (FOUR, FOUR_DOUBLE), "XXMinusYYGate", None),
    "ccx": _spec(3, _fixed(controlled(controlled(X))), (), "CCXGate", "ccnot"),
    "cswap": _spec(3, _fixed(controlled(SWAP)), (), "CSwapGate", "cswap"),
    "ccz": _spec(3, _fixed(controlled(controlled(Z))), (), "CCZGate", None),
}
"""Gate name -> GateSpec; the whole template gate set."""

ALIASES = {"CX": "cx", "cnot": "cx", "U": "u3", "u": "u3", "phase": "p", "u1": "p",
           "cphase": "cp", "cu1": "cp", "global_phase": "gphase", "i": "id", "toffoli": "ccx",
           "fredkin": "cswap"}
"""Other names of table gates (OpenQASM 3 and Qiskit spellings)."""


def canonical_name(name: str) -> str:
    """The table name of a gate name or alias (unknown names unchanged)."""
    return ALIASES.get(name, name)


_CACHE: dict[tuple, torch.Tensor] = {}


def matrix(name: str, angles: list[torch.Tensor], dtype: torch.dtype,
           device: torch.device) -> torch.Tensor:
    """(B, d, d) matrix of gate `name` for angle tensors (B,) (or (1,) when constant); a gate
    without angles is built once per dtype and device, (1, d, d)."""
    spec = GATES[name]
    if not angles:
        key = (name, dtype, str(device))
        if key not in _CACHE:  # a normal tensor even when first built under inference_mode
            with torch.inference_mode(False):
                _CACHE[key] = _stack(spec.matrix(), 1, dtype, device)
        return _CACHE[key]
    batch = max(a.shape[0] for a in angles)
    return _stack(spec.matrix(*angles), batch, dtype, device)


def _stack(entries: list[list], batch: int, dtype: torch.dtype,
           device: torch.device) -> torch.Tensor:
    d = len(entries)
    flat = [e.to(dtype).expand(batch) if isinstance(e, torch.Tensor)
            else torch.full((batch,), complex(e), dtype=dtype, device=device)
            for row in entries for e in row]
    return torch.stack(flat, dim=-1).reshape(batch, d, d)
