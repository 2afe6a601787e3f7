"""The retry policy: transient failures backed off and retried, permanent ones raised at once."""

from __future__ import annotations

import numpy as np
import pytest

from qhil.config import RetrySettings
from qhil.errors import AuthenticationError, BudgetExceededError, TransientProviderError
from qhil.execution.retry import RetryPolicy, is_transient
from tests.execution.helpers import FakeSleep


def policy(sleep, attempts=5, jitter_s=0.0, max_backoff_s=60.0) -> RetryPolicy:
    settings = RetrySettings(max_attempts=attempts, initial_backoff_s=1.0,
                             max_backoff_s=max_backoff_s, jitter_s=jitter_s)
    return RetryPolicy.from_settings(settings, sleep=sleep, rng=np.random.default_rng(0))


def flaky(failures: int, exc: Exception):
    calls = []

    def fn(attempt: int) -> str:
        calls.append(attempt)
        if len(calls) <= failures:
            raise exc
        return "ok"
    return fn, calls


def test_transient_errors_are_retried_with_exponential_backoff():
    sleep = FakeSleep()
    fn, calls = flaky(3, TransientProviderError("HTTP 429 Too Many Requests"))
    assert policy(sleep).call(fn) == "ok"
    assert calls == [1, 2, 3, 4]
    assert sleep.waits == [1.0, 2.0, 4.0]


def test_backoff_is_capped_and_jittered_within_bounds():
    sleep = FakeSleep()
    fn, _ = flaky(6, ConnectionError("reset by peer"))
    policy(sleep, attempts=7, jitter_s=0.5, max_backoff_s=5.0).call(fn)
    bases = [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert all(b <= w <= b + 0.5 for b, w in zip(bases, sleep.waits, strict=True))
    assert len(set(w - b for b, w in zip(bases, sleep.waits, strict=True))) > 1


def test_attempts_run_out_and_the_last_error_is_raised():
    sleep = FakeSleep()
    fn, calls = flaky(10, TransientProviderError("service unavailable (503)"))
    with pytest.raises(TransientProviderError, match="503"):
        policy(sleep, attempts=3).call(fn)
    assert calls == [1, 2, 3] and len(sleep.waits) == 2


@pytest.mark.parametrize("exc", [AuthenticationError("401: invalid token"),
                                 BudgetExceededError("left: 0 shots"), ValueError("bad")])
def test_permanent_errors_are_raised_at_once_with_their_message(exc):
    sleep = FakeSleep()
    fn, calls = flaky(1, exc)
    with pytest.raises(type(exc), match=str(exc).split(":")[0]):
        policy(sleep).call(fn)
    assert calls == [1] and sleep.waits == []


def test_on_retry_sees_each_failure():
    seen = []
    fn, _ = flaky(2, TimeoutError("read timed out"))
    policy(FakeSleep()).call(fn, on_retry=lambda n, exc, wait: seen.append((n, type(exc), wait)))
    assert seen == [(1, TimeoutError, 1.0), (2, TimeoutError, 2.0)]


def test_classification():
    assert is_transient(TransientProviderError("x")) and is_transient(ConnectionResetError())
    assert not is_transient(AuthenticationError("x")) and not is_transient(KeyError("x"))
