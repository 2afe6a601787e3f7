"""Plain-text tables of cost estimates (the `qhil estimate` output without --json)."""

from __future__ import annotations

from decimal import Decimal

from qhil.cost.model import CostEstimate, MethodEstimate, money_text


def human_s(seconds: float) -> str:
    """Seconds as the largest sensible unit: 281.6 s, 3.2 h, 12.4 d, 10.1 y."""
    for unit, size in (("y", 365.25 * 86400), ("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size * (1 if unit != "min" else 10):
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.4g} s"


def usd(value: Decimal | float | None) -> str:
    """Dollars for tables: $1,234.50, $0.0042; a dash where there is no figure."""
    if value is None:
        return "—"
    text = money_text(Decimal(str(value)) if isinstance(value, float) else Decimal(value))
    return f"${float(text):,.2f}" if value >= 1 or value == 0 else f"${float(text):.4g}"


def estimate_table(result: CostEstimate) -> str:
    """One row per method: run totals, the band, the per-update QPU time and the savings."""
    w, d = result.workload, result.device
    head = (f"{w.n_qubits} qubits x {w.n_layers} layers ({w.entangler}), batch {w.batch_size}, "
            f"{w.shots} shots; {w.env_steps:,} env steps x {w.num_envs} envs, {w.updates:,} "
            f"updates, {w.eval_steps:,} eval steps, {w.explorers} explorer(s); device {d.name} ({d.pricing.model})")
    cols = ("method", "circuits", "shots", "jobs", "QPU time", "QPU/update",
            "wall (low-high if they differ)", "cost (low-high if they differ)", "x qtDNN wall",
            "x qtDNN cost")
    rows = [cols] + [_row(name, m, result.savings.get(name)) for name, m in result.methods.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    lines = ["  ".join(c.ljust(wd) for c, wd in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join([head, *lines])


def _row(name: str, m: MethodEstimate, saving: dict | None) -> tuple[str, ...]:
    def ratio(key: str) -> str:
        return "-" if not saving or saving[key] is None else f"{saving[key]:.3g}"

    return (name, f"{m.circuits:,}", f"{m.shots:,}", f"{m.jobs:,}", human_s(m.qpu_s),
            human_s(m.qpu_s_per_update), _band(human_s, m.wall_s_low, m.wall_s, m.wall_s_high),
            _band(usd, m.cost_usd_low, m.cost_usd, m.cost_usd_high),
            ratio("wall_ratio"), ratio("cost_ratio"))


def _band(fmt, low, typical, high) -> str:
    """'typical (low-high)', or just 'typical' when the band is flat."""
    if low == typical == high:
        return fmt(typical)
    return f"{fmt(typical)} ({fmt(low)}-{fmt(high)})"
