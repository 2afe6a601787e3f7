"""OpenQASM 3 <-> CircuitTemplate, through the `openqasm3` reference parser's syntax tree.

Read: `input float[64] name;` (or `input float name;`, `input angle name;`) declares a parameter
column, in declaration order; qubit registers (`qubit[n] q;`, `qreg q[n];`) are numbered in
declaration order; gates are the template gate set under their OpenQASM 3 and Qiskit names
(stdgates.inc, `U`, `CX`, `gphase`, Qiskit's rzz, ecr, ...). A `gate` definition of a table gate
(as Qiskit's `qasm3.dumps` writes for rzz or cu3) is read past, the table's matrix being the
same; any other definition is inlined where it is called. Angles are numbers, pi, parameters,
+ - * / and integer powers: any polynomial of the parameters. Bit declarations, barriers, pragmas
and final measurements are read past; reset, mid-circuit measurement, classical control and
gate modifiers are refused, each with one line naming the line of the file and the instruction.
Hostile text is refused before it costs time or memory: over MAX_QASM_BYTES or MAX_STATEMENTS
(antlr's Python parser reads about a thousand statements a second), brackets nested deeper than
MAX_NESTING or a statement of over MAX_OPERATORS operators, registers over MAX_REGISTER qubits, more than MAX_GATES gates after inlining, gate
definitions calling each other deeper than MAX_NESTING, angles over MAX_TERMS monomials.

Write: the same dialect, `include "stdgates.inc"`, a `gate` definition for each gate used that
stdgates.inc lacks (its decomposition from template_decompose.py, so any OpenQASM 3 reader can
load the text), `qubit[n] q; bit[n] c;`, `c = measure q;`.
"""

from __future__ import annotations

import contextlib
import io
import math
import operator
import re

from qhil.quantum.template_angle import Angle
from qhil.quantum.template_decompose import decompose
from qhil.quantum.template_gates import GATES, canonical_name
from qhil.quantum.template_parts import CircuitTemplateError, Gate, TemplateLike, check_gate

CONSTANTS = {"pi": math.pi, "π": math.pi, "tau": 2 * math.pi, "τ": 2 * math.pi,
             "euler": math.e, "ℇ": math.e}
STDGATES = frozenset({"p", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "rx", "ry", "rz",
                      "cx", "cy", "cz", "cp", "crx", "cry", "crz", "ch", "swap", "ccx", "cswap",
                      "cu", "id", "u2", "u3", "gphase"})
"""Table gates OpenQASM 3 knows without a definition (stdgates.inc and the builtin gphase)."""
OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
             "**": operator.pow}
MAX_QASM_BYTES = 1 << 20
MAX_STATEMENTS = 20_000
MAX_NESTING = 64
MAX_OPERATORS = 512
MAX_REGISTER = 1024
MAX_GATES = 50_000
MAX_TERMS = 10_000
REFUSED = {"QuantumReset": "reset", "BranchingStatement": "classical control (if)",
           "WhileLoop": "classical control (while)", "ForInLoop": "classical control (for)",
           "SwitchStatement": "classical control (switch)"}


def template_from_qasm(text: str, source: str, cls: type[TemplateLike]) -> TemplateLike:
    """Parse OpenQASM 3 text into a template of class `cls`; errors say `<source>: line N: what`."""
    check_bounds(text, source)
    try:
        return _parse(text, source, cls)
    except RecursionError:  # a chain of operators the bracket count does not see
        raise CircuitTemplateError(f"{source}: an expression or gate call nested too deeply to "
                                   f"read; split it into several statements") from None


def _parse(text: str, source: str, cls: type[TemplateLike]) -> TemplateLike:
    import openqasm3

    try:
        with contextlib.redirect_stderr(io.StringIO()):  # antlr prints what it recovers from
            program = openqasm3.parse(text)
    except RecursionError:
        raise
    except Exception as exc:  # the parser bails out without a message: find the first error
        raise CircuitTemplateError(f"{source}: {syntax_error(text)}") from exc
    reader = _Reader(source)
    for statement in program.statements:
        reader.read(statement)
    return reader.template(cls)


def check_bounds(text: str, source: str) -> None:
    """Refuse text too large or too deeply bracketed to parse in bounded time and memory."""
    size, statements = len(text.encode("utf-8", "surrogatepass")), text.count(";")
    if size > MAX_QASM_BYTES or statements > MAX_STATEMENTS:
        raise CircuitTemplateError(
            f"{source}: {size:,} bytes, {statements:,} statements; qhil reads OpenQASM files of at "
            f"most {MAX_QASM_BYTES:,} bytes and {MAX_STATEMENTS:,} statements: define repeated "
            f"blocks as gates, or build the circuit in Python (CircuitTemplate)")
    operators, line = _busiest_statement(text)
    if operators > MAX_OPERATORS:
        raise CircuitTemplateError(f"{source}: line {line}: a statement of {operators:,} operators "
                                   f"(at most {MAX_OPERATORS}); split the expression")
    depth, line = _deepest_bracket(text)
    if depth > MAX_NESTING:
        raise CircuitTemplateError(f"{source}: line {line}: brackets nested {depth} deep (at most "
                                   f"{MAX_NESTING}); simplify the expression")


def _busiest_statement(text: str) -> tuple[int, int]:
    """The most operators (+ - * /) in one statement and the line that statement starts on."""
    most, most_line, line = 0, 1, 1
    for statement in re.split(r"[;{}]", text):
        count = sum(statement.count(op) for op in "+-*/")
        if count > most:
            lead = len(statement) - len(statement.lstrip())
            most, most_line = count, line + statement[:lead].count("\n")
        line += statement.count("\n")
    return most, most_line


def _deepest_bracket(text: str) -> tuple[int, int]:
    """The deepest (, [ or { nesting and the line it is reached on."""
    depth = deepest = line = deepest_line = 0
    for match in re.finditer(r"[([{]|[)\]}]|\n", text):
        char = match.group()
        line += char == "\n"
        depth += 1 if char in "([{" else -1 if char in ")]}" else 0
        if depth > deepest:
            deepest, deepest_line = depth, line + 1
    return deepest, deepest_line


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
    """Walks top-level statements, collecting registers, parameters, definitions and gates."""

    def __init__(self, source: str):
        self.source = source
        self.qubits: dict[str, tuple[int, int]] = {}  # register -> (first index, size)
        self.params: dict[str, int] = {}
        self.input_lines: list[int | None] = []
        self.definitions: dict[str, object] = {}  # user gate name -> its definition node
        self.gates: list[Gate] = []
        self.measured: set[int] = set()
        self.n_qubits = 0
        self.line: int | None = None
        self.depth = 0  # gate definitions being inlined, one inside the other
        self.sizes: dict[str, int] = {}  # user gate name -> gates its body inlines to

    def fail(self, message: str) -> CircuitTemplateError:
        where = f"{self.source}: line {self.line}" if self.line else self.source
        return CircuitTemplateError(f"{where}: {message}")

    def template(self, cls: type[TemplateLike]) -> TemplateLike:
        self.line = None
        if self.n_qubits == 0:
            raise self.fail("no qubits declared (add e.g. `qubit[2] q;`)")
        names = sorted(self.params, key=self.params.get)
        template = cls(self.n_qubits, self.gates, n_params=len(names),
                                   param_names=names, name=self.source)
        template.input_lines = tuple(self.input_lines)
        return template

    def read(self, stmt) -> None:
        kind = type(stmt).__name__
        self.line = stmt.span.start_line if getattr(stmt, "span", None) else None
        if kind in REFUSED:
            raise self.fail(f"{REFUSED[kind]} is not supported; a template is a unitary circuit "
                            f"measured once, at the end")
        handler = getattr(self, f"_{kind}", None)
        if handler is None:
            raise self.fail(f"unsupported statement ({kind}); a template holds gate calls on "
                            f"qubits, `input float[64]` parameters and final measurements")
        handler(stmt)

    def _Include(self, stmt) -> None:  # noqa: N802 - named after the AST node
        pass

    _QuantumBarrier = _Pragma = _Include  # noqa: N815

    def _QuantumGateDefinition(self, stmt) -> None:  # noqa: N802
        name = stmt.name.name
        if canonical_name(name) not in GATES:  # a table gate's definition is the table's matrix
            self.definitions[name] = stmt

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
        if not 1 <= size <= MAX_REGISTER - self.n_qubits:
            raise self.fail(f"register '{name}' of {size} qubits: a template holds 1 to "
                            f"{MAX_REGISTER} qubits in all")
        self.qubits[name] = (self.n_qubits, size)
        self.n_qubits += size

    def _QuantumMeasurementStatement(self, stmt) -> None:  # noqa: N802
        self.measured.update(self._qubit_list(stmt.measure.qubit))

    def _QuantumMeasurement(self, stmt) -> None:  # noqa: N802
        self.measured.update(self._qubit_list(stmt.qubit))

    def _QuantumPhase(self, stmt, env: dict | None = None) -> None:  # noqa: N802
        if stmt.modifiers or stmt.qubits:
            raise self.fail("gphase with modifiers or qubits is not supported")
        self.gates.append(Gate("gphase", (), (self._angle(stmt.argument, env or {}),)))

    def _QuantumGate(self, stmt, env: dict | None = None, local: dict | None = None) -> None:  # noqa: N802
        raw = stmt.name.name
        if stmt.modifiers:
            raise self.fail(f"gate modifiers on '{raw}' are not supported; use the controlled "
                            f"gates of the gate set (cx, crx, cu, ccx, ...)")
        qubits = tuple(q for operand in stmt.qubits for q in self._operand(operand, local))
        if self.measured & set(qubits):
            raise self.fail(f"'{raw}' acts on a qubit after its measurement (mid-circuit "
                            f"measurement); a template measures every qubit once, at the end")
        angles = tuple(self._angle(arg, env or {}) for arg in stmt.arguments)
        if raw in self.definitions:
            if len(self.gates) + self._inlined_size(raw, ()) > MAX_GATES:  # before, not during
                raise self.fail(f"more than {MAX_GATES:,} gates once gate definitions are "
                                f"inlined; a template of that size is not simulated or sent in "
                                f"bounded time")
            return self._inline(self.definitions[raw], angles, qubits)
        self._append(Gate(canonical_name(raw), qubits, angles), raw)

    def _append(self, gate: Gate, raw: str) -> None:
        if gate.name not in GATES:
            raise self.fail(f"unknown gate '{raw}'; supported: {', '.join(GATES)}")
        try:
            check_gate(gate, self.n_qubits, len(self.params), f"'{raw}'")
        except CircuitTemplateError as exc:
            raise self.fail(str(exc)) from None
        if len(self.gates) >= MAX_GATES:
            raise self.fail(f"more than {MAX_GATES:,} gates once gate definitions are inlined; "
                            f"a template of that size is not simulated or sent in bounded time")
        self.gates.append(gate)

    def _inlined_size(self, name: str, calling: tuple[str, ...]) -> int:
        """Gates user gate `name` inlines to (memoised), counted without inlining: a gate that
        doubles its callee 40 times is refused at once, not after 50,000 gates are built."""
        if name not in self.sizes:
            if name in calling or len(calling) >= MAX_NESTING:
                raise self.fail(f"gate '{name}' calls gates nested more than {MAX_NESTING} deep "
                                f"(does a gate call itself?)")
            self.sizes[name] = sum(
                self._inlined_size(stmt.name.name, (*calling, name))
                if type(stmt).__name__ == "QuantumGate" and stmt.name.name in self.definitions
                else int(type(stmt).__name__ != "QuantumBarrier")
                for stmt in self.definitions[name].body)
        return self.sizes[name]

    def _inline(self, definition, angles: tuple[Angle, ...], qubits: tuple[int, ...]) -> None:
        """A user gate's body, its arguments and qubits bound to this call's."""
        names = [a.name for a in definition.arguments]
        wires = [q.name for q in definition.qubits]
        if len(names) != len(angles) or len(wires) != len(qubits):
            raise self.fail(f"'{definition.name.name}' takes {len(names)} angle(s) and "
                            f"{len(wires)} qubit(s); got {len(angles)} and {len(qubits)}")
        if self.depth >= MAX_NESTING:
            raise self.fail(f"gate '{definition.name.name}' calls gates nested more than "
                            f"{MAX_NESTING} deep (does a gate call itself?)")
        env, local = dict(zip(names, angles, strict=True)), dict(zip(wires, qubits, strict=True))
        self.depth += 1
        try:
            self._inline_body(definition, env, local)
        finally:
            self.depth -= 1

    def _inline_body(self, definition, env: dict, local: dict) -> None:
        for stmt in definition.body:
            kind = type(stmt).__name__
            if kind == "QuantumGate":
                self._QuantumGate(stmt, env, local)
            elif kind == "QuantumPhase":
                self._QuantumPhase(stmt, env)
            elif kind != "QuantumBarrier":
                raise self.fail(f"unsupported statement ({kind}) in gate '{definition.name.name}'")

    def _operand(self, operand, local: dict | None) -> list[int]:
        if local is not None:  # inside a gate body: the gate's own qubit names
            if getattr(operand, "name", None) not in local:
                raise self.fail(f"unknown qubit '{getattr(operand, 'name', operand)}' in a gate body")
            return [local[operand.name]]
        return self._qubit_list(operand)

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

    def _angle(self, expr, env: dict) -> Angle:
        """An angle expression as an Angle (a polynomial of the parameters)."""
        kind = type(expr).__name__
        if kind in ("FloatLiteral", "IntegerLiteral"):
            return Angle.const(float(expr.value))
        if kind == "Identifier":
            return self._name(expr.name, env)
        if kind == "UnaryExpression" and expr.op.name == "-":
            return -self._angle(expr.expression, env)
        if kind == "BinaryExpression":
            return self._binary(expr, env)
        raise self.fail(f"unsupported angle expression ({kind}); use numbers, pi, parameters "
                        f"and + - * / **")

    def _name(self, name: str, env: dict) -> Angle:
        if name in env:
            return env[name]
        if name in CONSTANTS:
            return Angle.const(CONSTANTS[name])
        if name in self.params:
            return Angle(self.params[name])
        raise self.fail(f"unknown name '{name}' in an angle; declare it as `input float[64] "
                        f"{name};`")

    def _binary(self, expr, env: dict) -> Angle:
        lhs, rhs, op = self._angle(expr.lhs, env), self._angle(expr.rhs, env), expr.op.name
        if op not in OPERATORS:
            raise self.fail(f"angle expression with '{op}' is not a polynomial of the parameters")
        if _terms_bound(lhs, rhs, op) > MAX_TERMS:
            raise self.fail(f"angle expression with '{op}' would expand to more than "
                            f"{MAX_TERMS:,} terms; simplify it")
        try:
            return OPERATORS[op](lhs, rhs)
        except ValueError as exc:
            raise self.fail(f"angle expression with '{op}' is not a polynomial of the "
                            f"parameters ({exc})") from None


def _terms_bound(lhs: Angle, rhs: Angle, op: str) -> int:
    """At most how many monomials `lhs op rhs` has (before expanding it)."""
    if op == "*":
        return len(lhs.terms) * len(rhs.terms)
    if op == "**" and rhs.is_const and rhs.offset in range(9):
        return len(lhs.terms) ** int(rhs.offset)
    return len(lhs.terms) + len(rhs.terms)


def template_to_qasm(template: TemplateLike) -> str:
    """OpenQASM 3 text of the template; `from_qasm` of it gives the template back."""
    names = qasm_names(template.param_names)
    n = template.n_qubits
    lines = ["OPENQASM 3.0;", 'include "stdgates.inc";']
    used = sorted({g.name for g in template.gates} - STDGATES, key=list(GATES).index)
    lines += [definition(name) for name in used]
    lines += [f"input float[64] {name};" for name in names]
    lines += [f"qubit[{n}] q;", f"bit[{n}] c;"]
    lines += [_call(g, lambda k: names[k], lambda q: f"q[{q}]") for g in template.gates]
    lines.append("c = measure q;")
    return "\n".join(lines) + "\n"


def definition(name: str) -> str:
    """`gate name(a0, ...) g0, ... { body }`: the gate in stdgates.inc gates."""
    spec = GATES[name]
    placeholder = Gate(name, tuple(range(spec.qubits)), tuple(Angle(k) for k in range(spec.angles)))
    body = " ".join(_call(g, lambda k: f"a{k}", lambda q: f"g{q}")
                    for g in decompose(placeholder, STDGATES))
    args = f"({', '.join(f'a{k}' for k in range(spec.angles))})" if spec.angles else ""
    return f"gate {name}{args} {', '.join(f'g{q}' for q in range(spec.qubits))} {{ {body} }}"


def _call(gate: Gate, name_of, qubit_of) -> str:
    args = f"({', '.join(a.text(name_of) for a in gate.angles)})" if gate.angles else ""
    operands = f" {', '.join(qubit_of(q) for q in gate.qubits)}" if gate.qubits else ""
    return f"{gate.name}{args}{operands};"


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
