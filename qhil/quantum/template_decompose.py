"""Gates in terms of other table gates: one table, used wherever a target lacks a gate.

`decompose(gate, native)` rewrites a gate until every step is in `native`: the Braket translation
(native = the gates the Braket SDK has) and the OpenQASM 3 writer (native = stdgates.inc, whose
`gate` definitions for the other gates are these decompositions). Each is the same unitary up to
a global phase (tests check every one against the gate's matrix); none loops back on itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from qhil.quantum.template_angle import Angle
from qhil.quantum.template_parts import Gate, TemplateLike

PI = math.pi


def _c(value: float) -> Angle:
    return Angle.const(value)


def _crot(axis: str) -> Callable[[Gate], list[Gate]]:
    def steps(g: Gate) -> list[Gate]:
        (c, t), (theta,) = g.qubits, g.angles
        return [Gate(f"r{axis}", (t,), (theta / 2,)), Gate("cx", (c, t)),
                Gate(f"r{axis}", (t,), (-theta / 2,)), Gate("cx", (c, t))]
    return steps


def _crx(g: Gate) -> list[Gate]:  # RX = RZ(-pi/2) RY RZ(pi/2)
    t = g.qubits[1]
    return [Gate("rz", (t,), (_c(PI / 2),)), *_crot("y")(g), Gate("rz", (t,), (_c(-PI / 2),))]


def _cu3(g: Gate) -> list[Gate]:
    (c, t), (theta, phi, lam) = g.qubits, g.angles
    return [Gate("p", (c,), ((lam + phi) / 2,)), Gate("p", (t,), ((lam - phi) / 2,)),
            Gate("cx", (c, t)), Gate("u3", (t,), (-theta / 2, _c(0.0), -(phi + lam) / 2)),
            Gate("cx", (c, t)), Gate("u3", (t,), (theta / 2, phi, _c(0.0)))]


def _xx_plus_yy(g: Gate) -> list[Gate]:
    (a, b), (theta, beta) = g.qubits, g.angles
    return [Gate("rz", (a,), (beta,)), Gate("rxx", (a, b), (theta / 2,)),
            Gate("ryy", (a, b), (theta / 2,)), Gate("rz", (a,), (-beta,))]


def _xx_minus_yy(g: Gate) -> list[Gate]:
    (a, b), (theta, beta) = g.qubits, g.angles
    return [Gate("rz", (b,), (-beta,)), Gate("rxx", (a, b), (theta / 2,)),
            Gate("ryy", (a, b), (-theta / 2,)), Gate("rz", (b,), (beta,))]


def _iswap(g: Gate) -> list[Gate]:
    a, b = g.qubits
    return [Gate("s", (a,)), Gate("s", (b,)), Gate("h", (a,)), Gate("cx", (a, b)),
            Gate("cx", (b, a)), Gate("h", (b,))]


def _ecr(g: Gate) -> list[Gate]:
    return [Gate("rzx", g.qubits, (_c(PI / 4),)), Gate("x", g.qubits[:1]),
            Gate("rzx", g.qubits, (_c(-PI / 4),))]


def _rzz(g: Gate) -> list[Gate]:
    (a, b), (theta,) = g.qubits, g.angles
    return [Gate("cx", (a, b)), Gate("rz", (b,), (theta,)), Gate("cx", (a, b))]


def _rxx(g: Gate) -> list[Gate]:
    a, b = g.qubits
    return [Gate("h", (a,)), Gate("h", (b,)), *_rzz(g), Gate("h", (a,)), Gate("h", (b,))]


def _ryy(g: Gate) -> list[Gate]:
    (a, b), half = g.qubits, _c(PI / 2)
    return [Gate("rx", (a,), (half,)), Gate("rx", (b,), (half,)), *_rzz(g),
            Gate("rx", (a,), (-half,)), Gate("rx", (b,), (-half,))]


DECOMPOSITIONS: dict[str, Callable[[Gate], list[Gate]]] = {
    "r": lambda g: [Gate("u3", g.qubits, (g.angles[0], g.angles[1] - PI / 2, PI / 2 - g.angles[1]))],
    "u2": lambda g: [Gate("u3", g.qubits, (_c(PI / 2), *g.angles))],
    "ch": lambda g: [Gate("ry", g.qubits[1:], (_c(-PI / 4),)), Gate("cz", g.qubits),
                     Gate("ry", g.qubits[1:], (_c(PI / 4),))],
    "cs": lambda g: [Gate("cp", g.qubits, (_c(PI / 2),))],
    "csdg": lambda g: [Gate("cp", g.qubits, (_c(-PI / 2),))],
    "crx": _crx, "cry": _crot("y"), "crz": _crot("z"), "cu3": _cu3,
    "cu": lambda g: [Gate("p", g.qubits[:1], g.angles[3:]), Gate("cu3", g.qubits, g.angles[:3])],
    "dcx": lambda g: [Gate("cx", g.qubits), Gate("cx", g.qubits[::-1])],
    "rzx": lambda g: [Gate("h", g.qubits[1:]), Gate("rzz", g.qubits, g.angles),
                      Gate("h", g.qubits[1:])],
    "xx_plus_yy": _xx_plus_yy, "xx_minus_yy": _xx_minus_yy,
    "ccz": lambda g: [Gate("h", g.qubits[2:]), Gate("ccx", g.qubits), Gate("h", g.qubits[2:])],
    "sxdg": lambda g: [Gate("s", g.qubits), Gate("h", g.qubits), Gate("s", g.qubits)],
    "csx": lambda g: [Gate("ch", g.qubits), Gate("cp", g.qubits, (_c(PI / 2),)),
                      Gate("ch", g.qubits)],
    "iswap": _iswap, "ecr": _ecr, "rxx": _rxx, "ryy": _ryy, "rzz": _rzz,
    "gphase": lambda g: [],  # a global phase changes no measurement: targets without it drop it
}
"""Template gate -> the same unitary (up to a global phase) in other table gates."""


def decompose_template(template: TemplateLike, native: frozenset[str] | set[str]
                       ) -> TemplateLike:
    """The template with every gate outside `native` decomposed (same parameters and names)."""
    if all(g.name in native for g in template.gates):
        return template
    gates = [step for gate in template.gates for step in decompose(gate, native)]
    return type(template)(template.n_qubits, gates, template.n_params,
                           list(template.param_names), template.name)


def decompose(gate: Gate, native: frozenset[str] | set[str]) -> list[Gate]:
    """The gate as gates in `native`, through DECOMPOSITIONS as deep as needed."""
    if gate.name in native:
        return [gate]
    if gate.name not in DECOMPOSITIONS:
        raise KeyError(f"no decomposition of {gate.name} into {sorted(native)}")
    return [step for part in DECOMPOSITIONS[gate.name](gate) for step in decompose(part, native)]
