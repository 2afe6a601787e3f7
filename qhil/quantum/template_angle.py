"""Angle: a gate angle as a polynomial in the parameter columns, evaluated per row.

An angle is `sum_k c_k * prod_{j in m_k} params[:, j]`: sums, products and constant multiples
(pi included) of any number of parameters. Each monomial m_k is a sorted tuple of columns (a
column repeated for a power; () for the constant term); the terms are kept canonical (sorted,
merged, no zero coefficient), so equal angles compare and hash equal.

    Angle(0, 2.0, 0.5)                      # 2 * p0 + 0.5 (the affine form of earlier builds)
    (math.pi - Angle(0)) * (math.pi - Angle(1)) * 2   # Qiskit's ZZ feature map angle
    angle.values(params)                    # (B,) for params (B, P), numpy or torch
    angle.gradient(params, n_params)        # (B, P) d angle / d params, by the chain rule

Arithmetic takes Angles and numbers; values and derivatives work on numpy arrays and torch
tensors alike (autograd flows through torch ones).
"""

from __future__ import annotations

from numbers import Real

Monomial = tuple[int, ...]


class Angle:
    """A polynomial angle; `Angle(column, scale, offset)` is `scale * p_column + offset`."""

    __slots__ = ("terms",)

    def __init__(self, column: int | None = None, scale: float = 1.0, offset: float = 0.0):
        terms = {(): float(offset)}
        if column is not None:
            terms[(int(column),)] = float(scale)
        object.__setattr__(self, "terms", _canonical(terms))

    @classmethod
    def const(cls, value: float) -> Angle:
        return cls(None, 0.0, float(value))

    @classmethod
    def poly(cls, terms: dict[Monomial, float]) -> Angle:
        """The angle sum(coefficient * prod(params[:, monomial]))."""
        angle = cls.__new__(cls)
        object.__setattr__(angle, "terms", _canonical(terms))
        return angle

    def __setattr__(self, name, value):
        raise AttributeError("Angle is immutable")

    def __reduce__(self):  # pickle and deepcopy (templates travel with layers and checkpoints)
        return Angle.poly, (dict(self.terms),)

    # --- what it reads -------------------------------------------------------------------

    @property
    def is_const(self) -> bool:
        return all(not m for m, _ in self.terms)

    @property
    def offset(self) -> float:
        """The constant term."""
        return dict(self.terms).get((), 0.0)

    @property
    def columns(self) -> tuple[int, ...]:
        """The parameter columns it reads, ascending."""
        return tuple(sorted({j for m, _ in self.terms for j in m}))

    @property
    def affine(self) -> tuple[int, float] | None:
        """(column, scale) when the angle is `scale * p_column + offset`, else None."""
        linear = [(m, c) for m, c in self.terms if m]
        if len(linear) != 1 or len(linear[0][0]) != 1:
            return None
        return linear[0][0][0], linear[0][1]

    # --- arithmetic ----------------------------------------------------------------------

    def __add__(self, other) -> Angle:
        other = _as_angle(other)
        if other is NotImplemented:
            return other
        terms = dict(self.terms)
        for m, c in other.terms:
            terms[m] = terms.get(m, 0.0) + c
        return Angle.poly(terms)

    __radd__ = __add__

    def __neg__(self) -> Angle:
        return self * -1.0

    def __sub__(self, other) -> Angle:
        return self + (-_as_angle(other))

    def __rsub__(self, other) -> Angle:
        return _as_angle(other) + (-self)

    def __mul__(self, other) -> Angle:
        other = _as_angle(other)
        if other is NotImplemented:
            return other
        terms: dict[Monomial, float] = {}
        for m1, c1 in self.terms:
            for m2, c2 in other.terms:
                m = tuple(sorted(m1 + m2))
                terms[m] = terms.get(m, 0.0) + c1 * c2
        return Angle.poly(terms)

    __rmul__ = __mul__

    def __truediv__(self, other) -> Angle:
        """Division by a nonzero constant (a number or a constant Angle); ValueError otherwise."""
        divisor = _as_angle(other)
        if divisor is NotImplemented or not divisor.is_const or divisor.offset == 0:
            raise ValueError("division by a parameter or by zero is not a polynomial")
        return self * (1.0 / divisor.offset)

    def __pow__(self, other) -> Angle:
        """A whole power 0..8 (a number or a constant Angle); ValueError otherwise."""
        power = _as_angle(other)
        if power is NotImplemented or not power.is_const or power.offset not in range(9):
            raise ValueError("only whole powers 0..8 of an angle are polynomials")
        out = Angle.const(1.0)
        for _ in range(int(power.offset)):
            out = out * self
        return out

    def derivative(self, column: int) -> Angle:
        """d angle / d p_column, an Angle."""
        terms: dict[Monomial, float] = {}
        for m, c in self.terms:
            if column in m:
                rest = list(m)
                rest.remove(column)
                terms[tuple(rest)] = terms.get(tuple(rest), 0.0) + c * m.count(column)
        return Angle.poly(terms)

    # --- values --------------------------------------------------------------------------

    def values(self, params):
        """(B,) angle values for params (B, P), a numpy array or a torch tensor."""
        out = _full(params, self.offset)
        for m, c in self.terms:
            if m:
                product = params[:, m[0]]
                for j in m[1:]:
                    product = product * params[:, j]
                out = out + c * product
        return out

    def gradient(self, params, n_params: int):
        """(B, P) d angle / d params for params (B, P) (numpy or torch, as given)."""
        out = params * 0.0 if params.shape[1] == n_params else None
        if out is None:
            raise ValueError(f"params must be (B, {n_params}), got {tuple(params.shape)}")
        for j in self.columns:
            out[:, j] = self.derivative(j).values(params)
        return out

    # --- identity and text ---------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Angle) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(self.terms)

    def __repr__(self) -> str:
        return f"Angle({self.text(lambda j: f'p{j}')})"

    def text(self, name_of) -> str:
        """The angle as an expression: `2.0*a*b + c - 0.5`; `name_of(column)` names columns."""
        parts = [_term_text(m, c, name_of) for m, c in self.terms if m]
        if self.offset != 0.0 or not parts:
            parts.append(repr(self.offset))
        return " + ".join(parts).replace("+ -", "- ")


def _canonical(terms: dict[Monomial, float]) -> tuple[tuple[Monomial, float], ...]:
    merged: dict[Monomial, float] = {}
    for m, c in terms.items():
        key = tuple(sorted(m))
        merged[key] = merged.get(key, 0.0) + float(c)
    return tuple((m, c) for m, c in sorted(merged.items()) if c != 0.0)


def _as_angle(value) -> Angle:
    if isinstance(value, Angle):
        return value
    if isinstance(value, Real):
        return Angle.const(float(value))
    return NotImplemented


def _full(params, value: float):
    """(B,) filled with value, in params' library and dtype."""
    if hasattr(params, "new_full"):
        return params.new_full((params.shape[0],), value)
    import numpy as np

    return np.full(params.shape[0], value, dtype=np.result_type(params.dtype, np.float32))


def _term_text(m: Monomial, c: float, name_of) -> str:
    names = "*".join(name_of(j) for j in m)
    return names if c == 1.0 else f"{c!r}*{names}"
