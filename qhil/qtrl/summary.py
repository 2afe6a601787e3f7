"""summary.json of a finished run, from metrics.jsonl and the agents' final files."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np

from qhil.calibration import load_calibration
from qhil.config import find_profile
from qhil.qtrl.agent import parameter_counts
from qhil.qtrl.config import QTRLConfig
from qhil.qtrl.generator import QTGenerator
from qhil.qtrl.runfolder import RunFolder


def build_summary(config: QTRLConfig, folder: RunFolder) -> dict:
    rows = folder.read_metrics()
    returns = np.array([r["return_mean"] for r in rows])
    window = max(1, len(rows) // 10)
    trainable, k = parameter_counts(config)
    shots = sum(r["hw/shots"] for r in rows)
    jobs = len(rows) * config.agents if config.provider else 0
    digests = {_agent_info(folder, rank).get("params_sha256") for rank in range(config.agents)}
    return {
        "env": config.env, "policy": config.policy, "agents": config.agents,
        "blocks": config.blocks if config.policy == "qt" else 0,
        "n_qubits": QTGenerator.qubits_for(k) if config.policy == "qt" else 0,
        "episodes": len(rows), "episodes_total": len(rows) * config.agents,
        "trainable_parameters": trainable, "policy_parameters": k,
        "final_return_mean": float(returns[-window:].mean()) if rows else None,
        "average_return": float(returns.mean()) if rows else None,
        "final_window_episodes": window,
        "wall_s": rows[-1]["wall_s"] if rows else 0.0,
        "params_identical_across_agents": len(digests) == 1 and None not in digests,
        "hw": {"provider": config.provider or "exact (embedded simulator)", "shots": shots,
               "jobs": jobs, "cost_usd": float(run_cost_usd(config.provider, shots, jobs))},
        "checkpoint": str(folder.checkpoint),
    }


def episodes_to_reach(returns: list[float], target: float, window: int) -> int | None:
    """First episode whose trailing `window`-episode mean return reaches `target` (None: never)."""
    values = np.asarray(returns, dtype=float)
    for end in range(window, len(values) + 1):
        if values[end - window:end].mean() >= target:
            return end
    return None


def run_cost_usd(provider: str | None, shots: int, jobs: int) -> Decimal:
    """Dollars of `jobs` shot jobs of `shots` shots in all, at the profile's calibration prices."""
    if provider is None:
        return Decimal(0)
    profile = find_profile(provider)
    if profile.calibration is None:
        return Decimal(0)
    pricing = load_calibration(profile.calibration).pricing
    return pricing.per_task_usd * jobs + pricing.per_shot_usd * shots


def _agent_info(folder: RunFolder, rank: int) -> dict:
    path = folder.agent_file(rank)
    return json.loads(path.read_text()) if path.is_file() else {}
