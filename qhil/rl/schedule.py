"""The schedule of a training run: one object that gives the loop its pacing and the cost model
its counts (vector steps, learner updates, evaluations), so the two can never disagree.

    schedule = Schedule.of(config)
    schedule.vector_steps          sampling jobs of exploration (one per vector step)
    schedule.updates_owed(vsteps)  learner updates due after `vsteps` vector steps
    schedule.updates               updates over the whole run
    schedule.evaluation_steps()    steps of the periodic evaluations (the final one follows)
    schedule.evaluation_due(n)     the periodic evaluation owed at n transitions, if any
    schedule.evaluations           how many evaluations the run makes, the final one included
"""

from __future__ import annotations

from dataclasses import dataclass

from qhil.rl.config import TrainConfig


@dataclass(frozen=True)
class Schedule:
    steps: int
    num_envs: int
    learning_starts: int
    updates_per_step: float
    eval_every_steps: int
    eval_final: bool = True

    @classmethod
    def of(cls, config: TrainConfig) -> Schedule:
        return cls(config.steps, config.num_envs, config.td3.learning_starts,
                   config.td3.updates_per_step, config.eval.every_steps, config.eval.final)

    @property
    def vector_steps(self) -> int:
        """The loop runs until `steps` transitions: ceil(steps / num_envs) vector steps."""
        return -(-self.steps // self.num_envs)

    @property
    def warm_vector_steps(self) -> int:
        """Vector steps of random actions before updates start (their pairs feed the qtDNN)."""
        return self.learning_starts // self.num_envs

    def updates_owed(self, vsteps: int) -> int:
        """`updates_per_step` updates per vector step after the warm-up (CleanRL's pacing)."""
        return int(self.updates_per_step * max(0, vsteps - self.warm_vector_steps))

    @property
    def updates(self) -> int:
        return self.updates_owed(self.vector_steps)

    def evaluation_steps(self) -> list[int]:
        """Where the periodic evaluations fall: every `eval_every_steps` before `steps` (one due
        at `steps` itself would repeat the final evaluation, which runs there anyway)."""
        if not self.eval_every_steps:
            return []
        return list(range(self.eval_every_steps, self.steps, self.eval_every_steps))

    def evaluation_due(self, transitions: int) -> int | None:
        """The periodic evaluation owed once the loop reached `transitions` (the last multiple of
        `eval_every_steps`), or None where that is the final evaluation's step or past it."""
        if not self.eval_every_steps:
            return None
        due = transitions // self.eval_every_steps * self.eval_every_steps
        return due if 0 < due < self.steps else None

    @property
    def evaluations(self) -> int:
        """Periodic evaluations and the final one (each of eval.episodes episodes)."""
        return len(self.evaluation_steps()) + int(self.eval_final)
