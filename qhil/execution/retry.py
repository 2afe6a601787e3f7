"""The one retry policy (tenacity): transient failures are retried, permanent ones are not.

    policy = RetryPolicy.from_settings(profile.retry, sleep=time.sleep, rng=np.random.default_rng())
    value = policy.call(fn)             fn(attempt: int) -> value; attempts count from 1
    policy.call(fn, on_retry=cb)        cb(attempt, exc, wait_s) before each backoff

Transient: `TransientProviderError` (throttling 429 / IBM 1202, 5xx, connection loss, device
offline, submission timeouts) and the builtin `ConnectionError` / `TimeoutError`. They are retried
after `min(max_backoff_s, initial_backoff_s * 2**(attempt-1)) + uniform(0, jitter_s)` seconds, up to
`max_attempts` attempts in all; the last one is raised as it came. Everything else (validation,
authentication, budget, limits, a failed job) is raised at once, with the vendor's message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from qhil.config import RetrySettings
from qhil.errors import TransientProviderError

T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """Whether a retry can mend this failure."""
    return isinstance(exc, (TransientProviderError, ConnectionError, TimeoutError))


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter for transient failures; injected sleep and randomness."""

    settings: RetrySettings
    sleep: Callable[[float], None] = time.sleep
    rng: np.random.Generator = field(default_factory=np.random.default_rng)

    @classmethod
    def from_settings(cls, settings: RetrySettings, *, sleep: Callable[[float], None] = time.sleep,
                      rng: np.random.Generator | None = None) -> RetryPolicy:
        return cls(settings, sleep, rng if rng is not None else np.random.default_rng())

    def backoff_s(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        s = self.settings
        base = min(s.max_backoff_s, s.initial_backoff_s * 2 ** (attempt - 1))
        return base + float(self.rng.uniform(0.0, s.jitter_s)) if s.jitter_s > 0 else base

    def call(self, fn: Callable[[int], T], *,
             on_retry: Callable[[int, BaseException, float], None] | None = None) -> T:
        """Run fn(attempt) until it succeeds, fails permanently, or attempts run out.

        The first attempt runs bare (most calls succeed at once, and tenacity's set-up costs
        more than a small job's bookkeeping); a transient failure of it is handed to tenacity as
        attempt 1's outcome, so backoff, `on_retry` and the last error are tenacity's alone."""
        try:
            return fn(1)
        except Exception as exc:
            if not is_transient(exc):
                raise
            first = exc
        return self._retry(_replaying(first, fn), on_retry)

    def _retry(self, fn: Callable[[int], T],
               on_retry: Callable[[int, BaseException, float], None] | None) -> T:
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self.settings.max_attempts),
            wait=lambda state: self.backoff_s(state.attempt_number),
            sleep=self.sleep,
            before_sleep=_notify(on_retry),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return fn(attempt.retry_state.attempt_number)
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover


def _replaying(first: BaseException, fn: Callable[[int], T]) -> Callable[[int], T]:
    """fn, whose attempt 1 already ran and raised `first`."""
    def attempt(number: int) -> T:
        if number == 1:
            raise first
        return fn(number)
    return attempt


def _notify(on_retry: Callable[[int, BaseException, float], None] | None):
    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            wait_s = state.next_action.sleep if state.next_action else 0.0
            on_retry(state.attempt_number, state.outcome.exception(), wait_s)
    return before_sleep
