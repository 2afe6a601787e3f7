"""summary.json of a finished run, from metrics.jsonl and the agents' final files."""

from __future__ import annotations

import json

import numpy as np
from pydantic import ConfigDict

from qhil.execution.ledger import Ledger
from qhil.qtrl.agent import parameter_counts
from qhil.qtrl.config import QTRLConfig
from qhil.qtrl.generator import QTGenerator
from qhil.qtrl.runfolder import QTRLRunFolder
from qhil.qtrl.spending import LEDGER
from qhil.rl.summary import Record


class QTRLHardware(Record):
    """What a qtrl run bought, from its ledger (the exact simulator: zeros, no ledger)."""

    provider: str
    shots: int = 0
    jobs: int = 0
    cost_usd: float = 0.0
    resubmitted: int = 0
    ledger: str | None = None


class QTRLSummary(Record):
    """summary.json of a `qhil qtrl` run (every key declared; the JSON keys are the contract of
    `qhil qtrl --json`). Read by key as before (`summary["hw"]["shots"]`) or by attribute."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    env: str
    policy: str
    agents: int
    blocks: int
    n_qubits: int
    episodes: int
    episodes_total: int
    trainable_parameters: int
    policy_parameters: int
    final_return_mean: float | None
    average_return: float | None
    final_window_episodes: int
    wall_s: float
    params_identical_across_agents: bool
    hw: QTRLHardware
    stopped: str | None = None
    checkpoint: str


def build_summary(config: QTRLConfig, folder: QTRLRunFolder) -> QTRLSummary:
    rows = folder.read_metrics()
    returns = np.array([r["return_mean"] for r in rows])
    window = max(1, len(rows) // 10)
    trainable, k = parameter_counts(config)
    hw = hardware_totals(config, folder)
    digests = {_agent_info(folder, rank).get("params_sha256") for rank in range(config.agents)}
    return QTRLSummary(
        env=config.env, policy=config.policy, agents=config.agents,
        blocks=config.blocks if config.policy == "qt" else 0,
        n_qubits=QTGenerator.qubits_for(k) if config.policy == "qt" else 0,
        episodes=len(rows), episodes_total=len(rows) * config.agents,
        trainable_parameters=trainable, policy_parameters=k,
        final_return_mean=float(returns[-window:].mean()) if rows else None,
        average_return=float(returns.mean()) if rows else None,
        final_window_episodes=window, wall_s=rows[-1]["wall_s"] if rows else 0.0,
        params_identical_across_agents=len(digests) == 1 and None not in digests,
        hw=hw, stopped=_agent_info(folder, 0).get("stopped"), checkpoint=str(folder.checkpoint))


def hardware_totals(config: QTRLConfig, folder: QTRLRunFolder) -> QTRLHardware:
    """What the run bought, read from its ledger (the one count of jobs, shots and dollars)."""
    path = folder.root / LEDGER
    if config.provider is None or not path.is_file():
        return QTRLHardware(provider=config.provider or "exact (embedded simulator)")
    with Ledger(path) as ledger:
        totals = ledger.totals()
    return QTRLHardware(provider=config.provider, shots=totals.shots, jobs=totals.jobs,
                        cost_usd=float(totals.cost_usd), resubmitted=totals.resubmitted,
                        ledger=str(path))


def episodes_to_reach(returns: list[float], target: float, window: int) -> int | None:
    """First episode whose trailing `window`-episode mean return reaches `target` (None: never)."""
    values = np.asarray(returns, dtype=float)
    for end in range(window, len(values) + 1):
        if values[end - window:end].mean() >= target:
            return end
    return None


def _agent_info(folder: QTRLRunFolder, rank: int) -> dict:
    path = folder.agent_file(rank)
    return json.loads(path.read_text()) if path.is_file() else {}
