"""The Dispatcher over the chaos provider: reuse, re-attach, retries, budget, crash-safe results."""

from __future__ import annotations

import threading
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from qhil import get_provider
from qhil.errors import (
    BudgetExceededError,
    JobFailedError,
    PermanentProviderError,
    RequestValidationError,
    SubmissionTimeoutError,
    TransientProviderError,
)
from qhil.execution.budget import Budget
from qhil.execution.dispatcher import Dispatcher, StoredJob
from qhil.execution.ledger import DONE, FAILED, LOST, SUBMITTED, Ledger
from qhil.execution.pricing import job_cost_usd
from qhil.execution.provider import TOKEN_TAG
from tests.execution.helpers import FakeSleep, chaos_profile, small_request


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as handle:
        yield handle


def chaos(tmp_path, **options):
    return get_provider(chaos_profile(tmp_path, **options))


def test_result_is_stored_then_reused_without_spending(tmp_path, ledger, rng):
    budget = Budget(usd=Decimal("10"))
    with chaos(tmp_path) as provider:
        dispatcher = Dispatcher(provider, ledger=ledger, budget=budget)
        request = small_request(rng)
        first = dispatcher.run(request, timeout_s=60)
        spent = budget.spent()
        again = dispatcher.submit(request)
        assert isinstance(again, StoredJob)
        np.testing.assert_array_equal(again.result().marginals, first.marginals)
        assert provider.stats["accepted"] == 1 and budget.spent() == spent
    assert spent.cost_usd == job_cost_usd(provider.profile, request) == Decimal("0.30") + \
        Decimal("0.00145") * 200
    assert ledger.entries()[0].status == DONE and dispatcher.counters["reused"] == 1
    assert ledger.entries()[0].attempts == 1  # written with the row, the attempt made next


def test_a_result_not_stored_is_recorded_and_paid_but_never_reused(tmp_path, ledger, rng):
    budget = Budget(usd=Decimal("10"))
    with chaos(tmp_path) as provider:
        dispatcher = Dispatcher(provider, ledger=ledger, budget=budget)
        request = small_request(rng)
        dispatcher.run(request, timeout_s=60, store_result=False)
        assert ledger.find_result(request.digest()) is None  # the row, not the payload
        assert ledger.entries()[0].status == DONE and ledger.totals().jobs == 1
        again = dispatcher.submit(request)
        assert not isinstance(again, StoredJob)
        again.result(timeout_s=60)
    assert provider.stats["accepted"] == 2 and budget.spent().cost_usd == 2 * job_cost_usd(
        provider.profile, request)


def test_submission_timeout_is_looked_up_not_resubmitted(tmp_path, ledger, rng):
    sleep = FakeSleep()
    with chaos(tmp_path, submit_timeout_rate=1.0) as provider:
        dispatcher = Dispatcher(provider, ledger=ledger, sleep=sleep)
        for seed in range(3):
            dispatcher.run(small_request(rng, seed=seed), timeout_s=60)
        assert provider.stats["submit_timeouts"] == 3 and provider.stats["accepted"] == 3
        assert max(provider.jobs_per_request.values()) == 1
    assert dispatcher.counters["reattached"] == 3 and len(sleep.waits) == 3
    assert ledger.totals().resubmitted == 0 and ledger.totals().done == 3


def test_throttling_is_retried_and_an_exhausted_retry_releases_the_budget(tmp_path, ledger, rng):
    sleep = FakeSleep()
    budget = Budget(shots=1000)
    with chaos(tmp_path, submit_failure_rate=1.0) as provider:
        dispatcher = Dispatcher(provider, ledger=ledger, budget=budget, sleep=sleep)
        with pytest.raises(TransientProviderError, match="429"):
            dispatcher.submit(small_request(rng))
    assert provider.stats["throttled"] == 4 and len(sleep.waits) == 3
    assert sleep.waits[0] >= 0.5 and sleep.waits[1] >= 1.0 and sleep.waits[2] >= 2.0
    assert budget.spent().shots == 0 and budget.remaining().shots == 1000
    entry = ledger.entries()[0]
    assert entry.status == FAILED and not entry.billed and entry.attempts == 4


def test_lost_and_duplicated_results_are_stored_once(tmp_path, ledger, rng):
    budget = Budget(jobs=10)
    with chaos(tmp_path, lost_result_rate=1.0, duplicate_delivery_rate=1.0) as provider:
        dispatcher = Dispatcher(provider, ledger=ledger, budget=budget, sleep=FakeSleep())
        job = dispatcher.submit(small_request(rng))
        result = job.result(timeout_s=60)
        assert job.result(timeout_s=60) is result
        assert provider.stats["lost_results"] == 1 and provider.stats["duplicate_deliveries"] == 1
        assert provider.stats["deliveries"] == 2
    assert budget.spent().jobs == 1 and ledger.totals().jobs == 1
    assert ledger.find_result(job_digest(ledger)).job_id == result.job_id


def job_digest(ledger: Ledger) -> str:
    return ledger.entries()[0].request_hash


def test_refusals_happen_before_anything_is_sent(tmp_path, ledger, rng):
    with chaos(tmp_path) as provider:
        dispatcher = Dispatcher(provider, ledger=ledger, budget=Budget(usd=Decimal("0.50")))
        with pytest.raises(BudgetExceededError, match=r"left: unlimited shots, \$0.50"):
            dispatcher.submit(small_request(rng, batch=100, shots=1000))
        with pytest.raises(RequestValidationError, match="shots"):
            dispatcher.submit(small_request(rng, shots=10**6))
        assert provider.stats["accepted"] == 0
    assert ledger.entries() == []


def test_concurrent_submitters_never_exceed_the_budget(tmp_path, ledger, rng):
    budget = Budget(shots=2000, usd=Decimal("4.00"))
    requests = [small_request(rng, seed=i) for i in range(40)]
    errors: list[Exception] = []
    with chaos(tmp_path, submit_failure_rate=0.3, submit_timeout_rate=0.1) as provider:
        dispatcher = Dispatcher(provider, ledger=ledger, budget=budget, sleep=lambda s: None)

        def work(chunk):
            for request in chunk:
                try:
                    dispatcher.run(request, timeout_s=60)
                except BudgetExceededError as exc:
                    errors.append(exc)

        threads = [threading.Thread(target=work, args=(requests[i::8],)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        accepted = provider.stats["accepted"]
    spent, totals = budget.spent(), ledger.totals()
    assert errors and spent.cost_usd <= Decimal("4.00") and spent.shots <= 2000
    assert totals.jobs == accepted == totals.done == 40 - len(errors)
    assert totals.resubmitted == 0 and totals.cost_usd == spent.cost_usd


def test_resume_reattaches_to_jobs_left_in_flight(tmp_path, rng):
    path = tmp_path / "ledger.sqlite"
    request = small_request(rng)
    with chaos(tmp_path) as provider:
        with Ledger(path) as first:
            job = Dispatcher(provider, ledger=first).submit(request)
            assert first.entry(first.entries()[0].token).status == SUBMITTED
        with Ledger(path) as second:  # a restarted dispatcher, the same service
            budget = Budget(shots=10_000, spent=second.spent())
            dispatcher = Dispatcher(provider, ledger=second, budget=budget)
            resumed = dispatcher.resume()
            assert [j.job_id for j in resumed] == [job.job_id] and dispatcher.jobs_in_flight == 1
            assert dispatcher.submit(request) is resumed[0]
            resumed[0].result(timeout_s=60)
            assert provider.stats["accepted"] == 1 and budget.spent().shots == 200
            assert second.totals().done == 1 and dispatcher.jobs_in_flight == 0


def test_a_job_the_service_forgot_is_marked_lost_and_sent_again(tmp_path, rng):
    path = tmp_path / "ledger.sqlite"
    request = small_request(rng)
    with chaos(tmp_path) as provider, Ledger(path) as ledger:
        Dispatcher(provider, ledger=ledger).submit(request)
    with chaos(tmp_path) as fresh, Ledger(path) as ledger:  # the old process's jobs are gone
        dispatcher = Dispatcher(fresh, ledger=ledger)
        assert dispatcher.resume() == []
        assert ledger.entries()[0].status == LOST
        dispatcher.run(request, timeout_s=60)
        assert [e.status for e in ledger.entries()] == [LOST, DONE]



def test_paid_ambiguous_submission_without_lookup_is_not_resubmitted(tmp_path, ledger, rng):
    with chaos(tmp_path, submit_timeout_rate=1.0) as provider:
        provider.supports_lookup = False  # e.g. a service without task search by tag
        dispatcher = Dispatcher(provider, ledger=ledger, budget=Budget(jobs=5), sleep=FakeSleep())
        with pytest.raises(PermanentProviderError, match="not resubmitting"):
            dispatcher.submit(small_request(rng))
        assert provider.stats["accepted"] == 1
    assert dispatcher.budget.spent().jobs == 1  # it may have been billed: counted, not released


def test_the_same_request_from_many_threads_is_paid_once(tmp_path, ledger, rng):
    request = small_request(rng)
    with chaos(tmp_path, submit_timeout_rate=0.5, latency_median_s=0.05,
               latency_p95_s=0.05) as provider:
        dispatcher = Dispatcher(provider, ledger=ledger, sleep=lambda s: None)
        results = []
        threads = [threading.Thread(target=lambda: results.append(
            dispatcher.run(request, timeout_s=60))) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert provider.stats["accepted"] == 1 and len(results) == 8
    assert len({r.job_id for r in results}) == 1 and ledger.totals().jobs == 1


def test_ambiguous_last_attempt_on_a_blind_paid_service_counts_as_billed(tmp_path, ledger, rng):
    retry = {"max_attempts": 1, "initial_backoff_s": 0.0, "max_backoff_s": 0.0, "jitter_s": 0.0}
    with get_provider(chaos_profile(tmp_path, retry=retry, submit_timeout_rate=1.0)) as provider:
        provider.supports_lookup = False
        budget = Budget(usd=Decimal("10"))
        with pytest.raises(PermanentProviderError, match="pay twice"):
            Dispatcher(provider, ledger=ledger, budget=budget).submit(small_request(rng))
    assert budget.spent().jobs == 1 and ledger.entries()[0].billed


def test_a_crash_between_send_and_id_is_resolved_by_the_token(tmp_path, rng):
    path = tmp_path / "ledger.sqlite"
    request = small_request(rng)
    with chaos(tmp_path) as provider:
        with Ledger(path) as ledger:  # what a process killed inside provider.submit leaves
            ledger.begin("tok-9", provider=provider.name, device="embedded",
                         request_hash=request.digest(), circuits=4, shots=200,
                         cost_usd=Decimal("0.59"), submit_called_at=0.0)
            sent = provider.submit(replace(request, tags={TOKEN_TAG: "tok-9"}))
        with Ledger(path) as ledger:
            dispatcher = Dispatcher(provider, ledger=ledger)
            result = dispatcher.run(request, timeout_s=60)
            assert result.job_id == sent.job_id and provider.stats["accepted"] == 1
            assert ledger.entry("tok-9").status == DONE and ledger.entry("tok-9").job_id == sent.job_id


def test_resume_in_a_new_process_reattaches_through_the_service(tmp_path, rng):
    profile = chaos_profile(tmp_path, service_dir=str(tmp_path / "service"))
    path, request = tmp_path / "ledger.sqlite", small_request(rng)
    with get_provider(profile) as provider, Ledger(path) as ledger:
        job = Dispatcher(provider, ledger=ledger).submit(request)
    with get_provider(profile) as provider, Ledger(path) as ledger:
        dispatcher = Dispatcher(provider, ledger=ledger)
        assert [j.job_id for j in dispatcher.resume()] == [job.job_id]
        assert dispatcher.run(request, timeout_s=60).job_id == job.job_id
        assert provider.stats["accepted"] == 0 and ledger.totals().done == 1


def test_a_billing_provider_makes_the_ledger_fsync_each_write(tmp_path, rng):
    with Ledger(tmp_path / "free.sqlite") as free, Ledger(tmp_path / "paid.sqlite") as paid:
        with chaos(tmp_path, calibration=None) as provider:
            Dispatcher(provider, ledger=free)
        with chaos(tmp_path) as provider:  # priced by calibration/chaos-priced.toml
            Dispatcher(provider, ledger=paid)
        assert not free.durable and paid.durable


def test_a_failed_job_is_settled_released_and_can_be_sent_again(tmp_path, ledger, rng):
    budget = Budget(jobs=2)
    request = small_request(rng)
    with chaos(tmp_path, job_failure_rate=1.0) as provider:
        dispatcher = Dispatcher(provider, ledger=ledger, budget=budget, sleep=FakeSleep())
        with pytest.raises(JobFailedError):
            dispatcher.run(request, timeout_s=60)
        assert dispatcher.jobs_in_flight == 0 and budget.remaining().jobs == 2
        assert ledger.entries()[0].status == FAILED and not ledger.entries()[0].billed
        with pytest.raises(JobFailedError):
            dispatcher.run(request, timeout_s=60)
        assert provider.stats["accepted"] == 2 and ledger.totals().jobs == 0


def test_max_jobs_in_flight_waits_for_the_oldest_job(tmp_path, ledger, rng):
    with chaos(tmp_path, max_jobs_in_flight=2, latency_median_s=0.05,
               latency_p95_s=0.05) as provider:
        dispatcher = Dispatcher(provider, ledger=ledger)
        requests = [small_request(rng, seed=i) for i in range(5)]
        jobs = []
        for request in requests:
            jobs.append(dispatcher.submit(request))
            assert dispatcher.jobs_in_flight <= 2
        assert dispatcher.counters["waited_for_room"] == 3
        assert ledger.totals().done == 3  # stored while making room
        results = [job.result(timeout_s=60) for job in jobs]
    assert len({r.job_id for r in results}) == 5 and ledger.totals().done == 5


def test_a_failed_job_found_after_a_timeout_is_no_substitute(tmp_path, ledger, rng):
    def settle(seconds: float) -> None:  # let the timed-out (failing) job end before the retry
        with pytest.raises(JobFailedError):
            provider.find_job(ledger.entries()[0].token).result(timeout_s=60)

    with chaos(tmp_path, submit_timeout_rate=1.0, job_failure_rate=1.0) as provider:
        dispatcher = Dispatcher(provider, ledger=ledger, sleep=settle)
        try:
            job = dispatcher.submit(small_request(rng))
        except SubmissionTimeoutError:
            pass
        else:  # the last job may still be running at the final look-up: then it is waited on
            with pytest.raises(JobFailedError):
                job.result(timeout_s=60)
        assert provider.stats["accepted"] == 4  # each attempt sent anew: nothing alive to reuse
    assert dispatcher.counters["lookups"] == 4 and dispatcher.counters["reattached"] <= 1


def test_a_billed_partial_failure_consumes_its_reservation(tmp_path, ledger, rng):
    request = small_request(rng)
    with chaos(tmp_path, partial_failure_rate=1.0) as provider:
        cost = job_cost_usd(provider.profile, request)
        budget = Budget(usd=cost * 3)
        dispatcher = Dispatcher(provider, ledger=ledger, budget=budget, sleep=FakeSleep())
        with pytest.raises(BudgetExceededError):
            dispatcher.submit(request)
    assert budget.spent().cost_usd == cost * 3 and budget.reserved().cost_usd == 0
    assert [(e.status, e.billed) for e in ledger.entries()] == [(FAILED, True)] * 3
    assert dispatcher.counters["paid_failures"] == 3 and ledger.totals().cost_usd == cost * 3
