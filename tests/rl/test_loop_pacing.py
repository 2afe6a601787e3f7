"""The async loop's update-to-data ratio: the learner holds td3.updates_per_step (it waits for
data); `loop.learner_pace = "free"` keeps the free-running learner; the summary reports the ratio."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import torch

from qhil.execution.registry import get_provider
from qhil.rl.loop import Loop, LoopClock
from qhil.rl.run import run_training as train
from qhil.rl.rundir import RunFolder
from qhil.rl.schedule import Schedule
from qhil.threads import ThreadPlan
from tests.rl.conftest import tiny_config


class StepExplorer:
    """Counts vector steps of one transition each; `gate` holds a step until it returns True."""

    def __init__(self, gate=lambda: True):
        self.transitions = self.vsteps = 0
        self.policy_version = -1
        self.sampler = SimpleNamespace(stats=SimpleNamespace(busy_s=0.0))
        self.gate = gate

    def step(self) -> None:
        deadline = time.monotonic() + 5
        while not self.gate() and time.monotonic() < deadline:
            time.sleep(0.001)
        self.transitions += 1
        self.vsteps += 1

    def load_policy(self, actor, version: int) -> None:
        self.policy_version = version


class CountLearner:
    """Counts updates; records the most updates it ever held beyond what the schedule owed."""

    def __init__(self, explorer: StepExplorer, schedule: Schedule):
        self.updates, self.explorer, self.schedule = 0, explorer, schedule
        self.ahead = 0
        self.td3 = SimpleNamespace(actor=torch.nn.Linear(1, 1))

    def update(self) -> None:
        self.updates += 1
        owed = self.schedule.updates_owed(self.explorer.vsteps)
        self.ahead = max(self.ahead, self.updates - owed)


def pacing_run(pace: str, gate=None, steps: int = 60):
    config = tiny_config(num_envs=1, steps=steps).with_overrides(**{
        "td3.learning_starts": 10, "td3.batch_size": 1, "loop.mode": "async",
        "loop.learner_pace": pace, "loop.max_updates_per_transition": 3.0})
    explorer = StepExplorer()
    learner = CountLearner(explorer, Schedule.of(config))
    if gate:
        explorer.gate = lambda: gate(learner, explorer)
    loop = Loop(config, explorer, learner, [], LoopClock(), ThreadPlan.of(1, side=1))
    loop.run()
    return learner, Schedule.of(config)


def test_the_learner_never_runs_ahead_of_the_ratio():
    learner, schedule = pacing_run("ratio")
    assert learner.ahead <= 0 and learner.updates == schedule.updates  # 50 steps after warm-up


def test_free_pace_lets_the_learner_run_while_the_explorer_is_slow():
    """Each step waits for the learner to reach the cap (3 updates per transition after the
    warm-up): free pace gets there, far past the ratio's one update per step."""
    def slow(learner, explorer):
        fresh = max(1, explorer.transitions - 10)
        return explorer.transitions < 10 or learner.updates >= 3 * fresh

    learner, schedule = pacing_run("free", slow, steps=30)
    assert learner.updates == 3 * 19 > 2 * schedule.updates  # the cap before the last step


def test_an_async_run_on_local_holds_the_ratio(tmp_path):
    config = tiny_config(num_envs=1, steps=240).with_overrides(**{
        "loop.mode": "async", "td3.updates_per_step": 0.5, "eval.final": False})
    summary = train(config, RunFolder(tmp_path / "run"), get_provider("local"))
    owed = 0.5 * (240 - config.td3.learning_starts)
    assert abs(summary["updates"] - owed) <= 0.05 * owed
    assert abs(summary["utd_ratio"] - 0.5) <= 0.025 and summary["utd_ratio_target"] == 0.5
    assert summary["catch_up_updates"] <= config.loop.max_policy_lag + 1
    assert summary["threads"]["learner"] >= 1 and summary["threads"]["explorer"] == 1


def test_explorer_thread_keeps_one_torch_thread():
    seen = {}
    explorer = StepExplorer(gate=lambda: seen.setdefault("threads", torch.get_num_threads()) > 0)
    config = tiny_config(num_envs=1, steps=5).with_overrides(**{"loop.mode": "async"})
    learner = CountLearner(explorer, Schedule.of(config))
    Loop(config, explorer, learner, [], LoopClock(), ThreadPlan(cpus=4, learner=3)).run()
    assert seen["threads"] == 1 and threading.current_thread().name == "MainThread"
