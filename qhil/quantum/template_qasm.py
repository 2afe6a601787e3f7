"""OpenQASM 3 <-> CircuitTemplate, through the `openqasm3` reference parser's syntax tree.

Read: `input float[64] name;` (or `input float name;`, `input angle name;`) declares a parameter
column, in declaration order; qubit registers (`qubit[n] q;`, `qreg q[n];`) are numbered in
declaration order; gates from the template gate set (with the aliases `U` and `CX`; `gate`
definitions of those names, such as Qiskit's `cu3`, are read past); angles are numbers, `pi`,
parameters, + - * / with a constant factor: affine in one parameter. Bit declarations, barriers,
pragmas and final measurements are read past. Anything else is a CircuitTemplateError naming
the line of the file.

Write: the same dialect, `include "stdgates.inc"`, `qubit[n] q; bit[n] c;`, a `cu3` definition
when used (ctrl @ U, Qiskit's CU3), `c = measure q;`.
"""

from __future__ import annotations

import contextlib
import io
import math
import re

from qhil.quantum.template import GATES, Angle, CircuitTemplate, CircuitTemplateError, Gate
from qhil.quantum.template_io import _qasm_angle

ALIASES = {"U": "u3", "CX": "cx", "cnot": "cx", "u": "u3"}
CONSTANTS = {"pi": math.pi, "π": math.pi, "tau": 2 * math.pi, "τ": 2 * math.pi,
             "euler": math.e, "ℇ": math.e}
CU3_DEFINITION = "gate cu3(theta, phi, lam) c, t { ctrl @ U(theta, phi, lam) c, t; }"


def template_from_qasm(text: str, source: str = "<qasm>") -> CircuitTemplate:
    """Parse OpenQASM 3 text into a template; errors say `<source>: line N: what`."""
    import openqasm3

    try:
        with contextlib.redirect_stderr(io.StringIO()):  # antlr prints what it recovers from
            program = openqasm3.parse(text)
    except Exception as exc:  # the parser bails out without a message: find the first error
        raise CircuitTemplateError(f"{source}: {syntax_error(text)}") from exc
    reader = _Reader(source)
    for statement in program.statements:
        reader.read(statement)
    return reader.template()


def syntax_error(text: str) -> str:
    """`line N: syntax error: ...` for the first error antlr finds in the text."""
    from antlr4 import CommonTokenStream, InputStream
    from openqasm3._antlr.qasm3Lexer import qasm3Lexer
    from openqasm3._antlr.qasm3Parser import qasm3Parser

    lexer = qasm3Lexer(InputStream(text))
    tokens = CommonTokenStream(lexer)
    parser = qasm3Parser(tokens)
    listener = _FirstError(tokens)
    for part in (lexer, parser):
        part.removeErrorListeners()
        part.addErrorListener(listener)
    parser.program()
    if listener.found is None:
        return "syntax error"
    line, message = listener.found
    return f"line {line}: syntax error: {message}"


class _FirstError:
    """An antlr error listener keeping the first error; a missing token is blamed on the line
    of the token before it (a missing ';' belongs to the line it should end)."""

    def __init__(self, tokens):
        self.tokens = tokens
        self.found: tuple[int, str] | None = None

    def syntaxError(self, recognizer, symbol, line, column, msg, exc):  # noqa: N802 - antlr's name
        if self.found is not None:
            return
        if msg.startswith("missing") and symbol is not None and symbol.tokenIndex > 0:
            before = [t for t in self.tokens.tokens[:symbol.tokenIndex] if t.channel == 0]
            line = before[-1].line if before else line
        self.found = (line, " ".join(msg.split())[:200])

    def reportAmbiguity(self, *args):  # noqa: N802
        pass

    reportAttemptingFullContext = reportContextSensitivity = reportAmbiguity  # noqa: N815


class _Reader:
    """Walks top-level statements, collecting registers, parameters and gates."""

    def __init__(self, source: str):
        self.source = source
        self.qubits: dict[str, tuple[int, int]] = {}  # register -> (first index, size)
        self.params: dict[str, int] = {}
        self.input_lines: list[int | None] = []
        self.gates: list[Gate] = []
        self.measured: set[int] = set()
        self.n_qubits = 0
        self.line: int | None = None

    def fail(self, message: str) -> CircuitTemplateError:
        where = f"{self.source}: line {self.line}" if self.line else self.source
        return CircuitTemplateError(f"{where}: {message}")

    def template(self) -> CircuitTemplate:
        self.line = None
        if self.n_qubits == 0:
            raise self.fail("no qubits declared (add e.g. `qubit[2] q;`)")
        names = sorted(self.params, key=self.params.get)
        template = CircuitTemplate(self.n_qubits, self.gates, n_params=len(names),
                                   param_names=names, name=self.source)
        template.input_lines = tuple(self.input_lines)
        return template

    def read(self, stmt) -> None:
        kind = type(stmt).__name__
        self.line = stmt.span.start_line if getattr(stmt, "span", None) else None
        handler = getattr(self, f"_{kind}", None)
        if handler is None:
            raise self.fail(f"unsupported statement ({kind}); a template holds gate calls on "
                            f"qubits, `input float[64]` parameters and final measurements")
        handler(stmt)

    def _Include(self, stmt) -> None:  # noqa: N802 - named after the AST node
        pass

    _QuantumBarrier = _Pragma = _Include  # noqa: N815

    def _QuantumGateDefinition(self, stmt) -> None:  # noqa: N802
        name = ALIASES.get(stmt.name.name, stmt.name.name)
        if name not in GATES:
            raise self.fail(f"gate definition '{stmt.name.name}': templates use only the gates "
                            f"{', '.join(GATES)}")

    def _ClassicalDeclaration(self, stmt) -> None:  # noqa: N802
        if type(stmt.type).__name__ != "BitType" or stmt.init_expression is not None:
            raise self.fail(f"unsupported declaration of '{stmt.identifier.name}'; declare "
                            f"parameters as `input float[64] {stmt.identifier.name};`")

    def _IODeclaration(self, stmt) -> None:  # noqa: N802
        name = stmt.identifier.name
        if getattr(stmt.io_identifier, "name", "") != "input":
            raise self.fail(f"'{name}': only `input` declarations are supported")
        if type(stmt.type).__name__ not in ("FloatType", "AngleType"):
            raise self.fail(f"input '{name}' must be `float[64]` (or float, angle)")
        if name in self.params or name in self.qubits:
            raise self.fail(f"'{name}' is declared twice")
        self.params[name] = len(self.params)
        self.input_lines.append(self.line)

    def _QubitDeclaration(self, stmt) -> None:  # noqa: N802
        name = stmt.qubit.name
        size = 1 if stmt.size is None else self._integer(stmt.size)
        if name in self.qubits or name in self.params:
            raise self.fail(f"'{name}' is declared twice")
        self.qubits[name] = (self.n_qubits, size)
        self.n_qubits += size

    def _QuantumMeasurementStatement(self, stmt) -> None:  # noqa: N802
        self.measured.update(self._qubit_list(stmt.measure.qubit))

    def _QuantumMeasurement(self, stmt) -> None:  # noqa: N802
        self.measured.update(self._qubit_list(stmt.qubit))

    def _QuantumGate(self, stmt) -> None:  # noqa: N802
        raw = stmt.name.name
        name = ALIASES.get(raw, raw)
        if stmt.modifiers:
            raise self.fail(f"gate modifiers on '{raw}' are not supported; use crx, cry, crz, "
                            f"cu3, cx or cz")
        if name not in GATES:
            raise self.fail(f"unknown gate '{raw}'; supported: {', '.join(GATES)}")
        qubits = tuple(q for operand in stmt.qubits for q in self._qubit_list(operand))
        if self.measured & set(qubits):
            raise self.fail(f"'{raw}' acts on a qubit after its measurement; a template measures "
                            f"every qubit once, at the end")
        angles = tuple(self._angle(arg) for arg in stmt.arguments)
        gate = Gate(name, qubits, angles)
        from qhil.quantum.template import check_gate

        try:
            check_gate(gate, self.n_qubits, len(self.params), f"'{raw}'")
        except CircuitTemplateError as exc:
            raise self.fail(str(exc)) from None
        self.gates.append(gate)

    def _qubit_list(self, operand) -> list[int]:
        kind = type(operand).__name__
        name = operand.name.name if kind == "IndexedIdentifier" else getattr(operand, "name", "")
        if name not in self.qubits:
            raise self.fail(f"unknown qubit register '{name}'")
        first, size = self.qubits[name]
        if kind != "IndexedIdentifier":
            return list(range(first, first + size))
        index = [self._integer(i) for group in operand.indices for i in group]
        if len(index) != 1 or not 0 <= index[0] < size:
            raise self.fail(f"qubit index {index} out of range for '{name}' (size {size})")
        return [first + index[0]]

    def _integer(self, expr) -> int:
        if type(expr).__name__ != "IntegerLiteral":
            raise self.fail("expected an integer literal")
        return int(expr.value)

    def _angle(self, expr) -> Angle:
        offset, terms = self._affine(expr)
        terms = {k: v for k, v in terms.items() if v != 0.0}
        if len(terms) > 1:
            names = sorted(self.params, key=self.params.get)
            raise self.fail(f"an angle depends on {', '.join(names[k] for k in terms)}; a "
                            f"template angle is affine in one parameter")
        if not terms:
            return Angle.const(offset)
        (column, scale), = terms.items()
        return Angle(column, scale, offset)

    def _affine(self, expr) -> tuple[float, dict[int, float]]:
        """An expression as (constant, {column: coefficient}); raise if it is not affine."""
        kind = type(expr).__name__
        if kind in ("FloatLiteral", "IntegerLiteral"):
            return float(expr.value), {}
        if kind == "Identifier":
            return self._name(expr.name)
        if kind == "UnaryExpression" and expr.op.name == "-":
            c, t = self._affine(expr.expression)
            return -c, {k: -v for k, v in t.items()}
        if kind == "BinaryExpression":
            return self._binary(expr)
        raise self.fail(f"unsupported angle expression ({kind}); use numbers, pi, parameters "
                        f"and + - * /")

    def _name(self, name: str) -> tuple[float, dict[int, float]]:
        if name in CONSTANTS:
            return CONSTANTS[name], {}
        if name in self.params:
            return 0.0, {self.params[name]: 1.0}
        raise self.fail(f"unknown name '{name}' in an angle; declare it as `input float[64] "
                        f"{name};`")

    def _binary(self, expr) -> tuple[float, dict[int, float]]:
        (lc, lt), (rc, rt), op = self._affine(expr.lhs), self._affine(expr.rhs), expr.op.name
        if op in ("+", "-"):
            sign = 1.0 if op == "+" else -1.0
            terms = dict(lt)
            for k, v in rt.items():
                terms[k] = terms.get(k, 0.0) + sign * v
            return lc + sign * rc, terms
        if op == "*" and (not lt or not rt):
            factor, (c, t) = (lc, (rc, rt)) if not lt else (rc, (lc, lt))
            return factor * c, {k: factor * v for k, v in t.items()}
        if op == "/" and not rt and rc != 0:
            return lc / rc, {k: v / rc for k, v in lt.items()}
        raise self.fail(f"angle expression with '{op}' is not affine in one parameter")


def template_to_qasm(template: CircuitTemplate) -> str:
    """OpenQASM 3 text of the template; `from_qasm` of it gives the template back."""
    names = qasm_names(template.param_names)
    n = template.n_qubits
    lines = ["OPENQASM 3.0;", 'include "stdgates.inc";']
    if any(g.name == "cu3" for g in template.gates):
        lines.append(CU3_DEFINITION)
    lines += [f"input float[64] {name};" for name in names]
    lines += [f"qubit[{n}] q;", f"bit[{n}] c;"]
    for gate in template.gates:
        args = ", ".join(_qasm_angle(a, lambda k: names[k]) for a in gate.angles)
        call = f"{gate.name}({args})" if gate.angles else gate.name
        lines.append(f"{call} {', '.join(f'q[{q}]' for q in gate.qubits)};")
    lines.append("c = measure q;")
    return "\n".join(lines) + "\n"


RESERVED = {"q", "c", "pi", "tau", "euler", "input", "output", "gate", "measure", "reset",
            "qubit", "bit", "float", "angle", "int", "U", "CX", *GATES}


def qasm_names(names: tuple[str, ...]) -> list[str]:
    """Parameter names as distinct OpenQASM identifiers (Qiskit's `theta[3]` -> `theta_3`)."""
    out: list[str] = []
    for name in names:
        clean = re.sub(r"\W", "_", name).strip("_") or "p"
        clean = f"p_{clean}" if clean[0].isdigit() or clean in RESERVED else clean
        while clean in out:
            clean += "_"
        out.append(clean)
    return out
