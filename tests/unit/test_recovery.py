"""`RetryAfterShutdown`: a job cut short by its worker's shutdown always runs again; any other
failure is left to the task's own retry strategy."""

from __future__ import annotations

import asyncio

import procrastinate
from procrastinate.jobs import Job

from bettercallsold.jobs.recovery import RetryAfterShutdown, retry_after_shutdown


def _job(attempts: int = 0) -> Job:
    return Job(
        id=7,
        queue="executions",
        lock=None,
        queueing_lock=None,
        task_name="automation:run_execution",
        attempts=attempts,
    )


class TransientError(Exception):
    pass


class TestRetryAfterShutdown:
    def test_a_cancelled_job_is_retried_at_once_even_past_the_last_attempt(self) -> None:
        inner = procrastinate.RetryStrategy(max_attempts=3, retry_exceptions=[TransientError])
        strategy = RetryAfterShutdown(inner)
        retry = strategy.get_retry_exception(asyncio.CancelledError(), _job(attempts=3))
        assert retry is not None
        assert retry.retry_decision.retry_at is None  # now

    def test_a_cancelled_job_of_a_task_without_retries_is_retried(self) -> None:
        strategy = RetryAfterShutdown(None)
        assert strategy.get_retry_exception(asyncio.CancelledError(), _job()) is not None

    def test_other_failures_follow_the_task_strategy(self) -> None:
        inner = procrastinate.RetryStrategy(
            max_attempts=3, exponential_wait=2, retry_exceptions=[TransientError]
        )
        strategy = RetryAfterShutdown(inner)
        retried = strategy.get_retry_exception(TransientError(), _job(attempts=1))
        assert retried is not None
        assert retried.retry_decision.retry_at is not None
        assert strategy.get_retry_exception(ValueError(), _job()) is None
        assert strategy.get_retry_exception(TransientError(), _job(attempts=3)) is None
        assert RetryAfterShutdown(None).get_retry_exception(TransientError(), _job()) is None

    def test_get_retry_decision_answers_the_same(self) -> None:
        strategy = RetryAfterShutdown(None)
        decision = strategy.get_retry_decision(exception=asyncio.CancelledError(), job=_job())
        assert decision is not None
        assert strategy.get_retry_decision(exception=ValueError(), job=_job()) is None


class TestWrapping:
    def test_wraps_each_task_once(self) -> None:
        blueprint = procrastinate.Blueprint()

        @blueprint.task(name="plain")
        async def plain() -> None: ...

        @blueprint.task(name="retried", retry=3)
        async def retried() -> None: ...

        tasks = list(blueprint.tasks.values())
        retry_after_shutdown(tasks)
        retry_after_shutdown(tasks)
        for task in tasks:
            assert isinstance(task.retry_strategy, RetryAfterShutdown)
            assert not isinstance(task.retry_strategy.inner, RetryAfterShutdown)
        assert blueprint.tasks["plain"].retry_strategy.inner is None
        assert isinstance(
            blueprint.tasks["retried"].retry_strategy.inner, procrastinate.RetryStrategy
        )
