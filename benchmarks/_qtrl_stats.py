"""Statistics of bench_qtrl: Table I rows, Table II speed-ups with bootstrap intervals, and the
diagnostics that say why a speed-up is what it is. Pure functions of the runs' returns."""

from __future__ import annotations

import numpy as np
from scipy import stats

from qhil.qtrl.summary import episodes_to_reach

BOOTSTRAP = 4000


def mean_ci(values: list[float]) -> dict:
    """Mean, sample std and a 95% Student-t interval over seeds."""
    x = np.asarray(values, dtype=float)
    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else 0.0
    return {"mean": float(x.mean()), "std": float(x.std(ddof=1)) if len(x) > 1 else 0.0,
            "ci95": [float(x.mean() - half), float(x.mean() + half)], "n": len(x)}


def ratio_ci(base: list[float], other: list[float], seed: int = 0) -> dict:
    """mean(base) / mean(other) and a 95% percentile bootstrap (seeds resampled per group)."""
    rng = np.random.default_rng(seed)
    b, o = np.asarray(base, float), np.asarray(other, float)
    boot = [rng.choice(b, len(b)).mean() / rng.choice(o, len(o)).mean() for _ in range(BOOTSTRAP)]
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return {"ratio": float(b.mean() / o.mean()), "ci95": [float(lo), float(hi)]}


def table_one_rows(runs: dict[str, list[dict]], paper: dict[str, tuple[float, int]]) -> list[dict]:
    rows = []
    for name, (reward, params) in paper.items():
        if name not in runs:
            continue
        results = runs[name]
        rows.append({"model": name, "average_reward": mean_ci([r["final_return_mean"] for r in results]),
                     "per_seed": [r["final_return_mean"] for r in results],
                     "trainable_parameters": results[0]["trainable_parameters"],
                     "wall_s": mean_ci([r["wall_s"] for r in results]),
                     "paper_average_reward": reward, "paper_parameters": params})
    return rows


def reach(run: dict, target: float, window: int, key: str = "returns") -> tuple[int, bool, float]:
    """(updates to reach the target or the run's length, reached?, wall seconds at that point)."""
    hit = episodes_to_reach(run[key], target, window)
    updates = hit if hit is not None else len(run[key])
    return updates, hit is not None, run["wall"][updates - 1]


def speedup_rows(runs: dict[str, list[dict]], window: int, paper: dict[int, float],
                 high_target: float = 0.75) -> dict:
    """Table II (pooled target, N-agent mean return) and the diagnostics beside it."""
    central = runs["qt-L3"]
    target = float(np.mean([r["final_return_mean"] for r in central]))
    out = {"target": target, "high_target": high_target, "speedup": [], "diagnostics": []}
    for name, group in runs.items():
        n = group[0]["agents"]
        if not name.startswith(("qt-L3", "dist-qt-L3")):
            continue
        row = _row(name, n, central, group, target, window, "returns")
        row["paper_speedup"] = paper.get(n)
        out["speedup"].append(row)
        diagnostic = _diagnostic(name, n, central, group, target, window, row)
        high = _row(name, n, central, group, high_target, window, "returns")
        diagnostic.update(high_target=high["speedup_updates"], high_target_reached=high["reached"],
                          high_target_updates=high["updates"]["mean"])
        out["diagnostics"].append(diagnostic)
    return out


def _row(name: str, n: int, central: list[dict], group: list[dict], target: float, window: int,
         key: str) -> dict:
    base = [reach(r, target, window) for r in central]
    mine = [reach(r, target, window, key) for r in group]
    return {"config": name, "agents": n,
            "updates": mean_ci([m[0] for m in mine]), "reached": sum(m[1] for m in mine),
            "seeds": len(group),
            "speedup_updates": ratio_ci([b[0] for b in base], [m[0] for m in mine]),
            "speedup_wall": ratio_ci([b[2] for b in base], [m[2] for m in mine]),
            "wall_to_target_s": mean_ci([m[2] for m in mine])}


def _diagnostic(name: str, n: int, central: list[dict], group: list[dict], target: float,
                window: int, main: dict) -> dict:
    """The same speed-up read other ways, to show what drives it."""
    agent0 = _row(name, n, central, group, target, window, "returns_agent0")
    base_own = [reach(c, c["final_return_mean"], window)[0] for c in central]
    mine_own = [reach(r, c["final_return_mean"], window)[0] for c, r in zip(central, group, strict=True)]
    wide = _row(name, n, central, group, target, 5 * window, "returns")
    return {"config": name, "agents": n,
            "agent0_returns": agent0["speedup_updates"], "agent0_reached": agent0["reached"],
            "per_seed_target": ratio_ci(base_own, mine_own),
            "window_x5": wide["speedup_updates"], "window_x5_reached": wide["reached"],
            "per_total_episodes": main["speedup_updates"]["ratio"] / n,
            "return_std_second_half": _noise(group)}


def _noise(group: list[dict]) -> float:
    """Mean over seeds of the std of the logged return over the second half of the run."""
    return float(np.mean([np.std(r["returns"][len(r["returns"]) // 2:]) for r in group]))
