from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bettercallsold.bus.retry_policy import (
    DEFAULT_POLICY,
    Outcome,
    RetryPolicy,
    Verdict,
    classify,
    retry_after_seconds,
)

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


class TestClassify:
    @pytest.mark.parametrize("code", [200, 201, 202, 204, 299])
    def test_2xx_is_delivered(self, code: int) -> None:
        assert classify(Outcome(status_code=code)) is Verdict.DELIVERED

    @pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 504, 599])
    def test_408_429_and_5xx_are_retried(self, code: int) -> None:
        assert classify(Outcome(status_code=code)) is Verdict.RETRYABLE

    def test_no_status_is_a_network_error_or_timeout_and_is_retried(self) -> None:
        assert classify(Outcome(error="ConnectError")) is Verdict.RETRYABLE

    @pytest.mark.parametrize("code", [400, 401, 403, 404, 410, 413, 422, 301, 302, 101])
    def test_other_answers_are_final(self, code: int) -> None:
        assert classify(Outcome(status_code=code)) is Verdict.FINAL

    def test_a_refused_url_is_final(self) -> None:
        assert classify(Outcome(refused=True, error="private")) is Verdict.FINAL


class TestRetryAfterSeconds:
    def test_delta_seconds(self) -> None:
        assert retry_after_seconds("120", NOW) == 120.0

    def test_http_date(self) -> None:
        header = format_datetime(NOW + timedelta(minutes=5), usegmt=True)
        assert retry_after_seconds(header, NOW) == 300.0

    def test_a_date_in_the_past_is_now(self) -> None:
        header = format_datetime(NOW - timedelta(minutes=5), usegmt=True)
        assert retry_after_seconds(header, NOW) == 0.0

    @pytest.mark.parametrize("header", [None, "", "soon", "-5", "1.5"])
    def test_absent_or_garbage_is_ignored(self, header: str | None) -> None:
        assert retry_after_seconds(header, NOW) is None


class TestBackoff:
    def test_grows_exponentially_up_to_the_cap(self) -> None:
        policy = RetryPolicy(first_delay=10, factor=2, max_delay=50, jitter=0)
        assert [policy.backoff(n, 0.5) for n in range(1, 6)] == [10, 20, 40, 50, 50]

    def test_jitter_only_stretches(self) -> None:
        policy = RetryPolicy(first_delay=10, factor=2, jitter=0.25)
        assert policy.backoff(1, 0.0) == 10
        assert policy.backoff(1, 0.999) == pytest.approx(12.4975)

    def test_default_schedule_spans_a_day_over_at_least_8_attempts(self) -> None:
        assert DEFAULT_POLICY.max_attempts >= 8
        assert DEFAULT_POLICY.minimum_span() >= 24 * 3600


class TestDecide:
    policy = RetryPolicy(max_attempts=4, first_delay=10, factor=2, max_delay=1000, jitter=0)

    def decide(self, attempt: int, outcome: Outcome) -> tuple[str, float | None]:
        decision = self.policy.decide(attempt, outcome, random=0.0, now=NOW)
        return decision.status, decision.retry_in

    def test_success_is_delivered(self) -> None:
        assert self.decide(1, Outcome(status_code=200)) == ("delivered", None)

    def test_a_retryable_failure_schedules_the_backoff(self) -> None:
        assert self.decide(1, Outcome(status_code=503)) == ("failed", 10)
        assert self.decide(3, Outcome(error="timeout")) == ("failed", 40)

    def test_the_last_attempt_is_dead(self) -> None:
        assert self.decide(4, Outcome(status_code=503)) == ("dead", None)

    def test_a_client_error_is_dead_at_once(self) -> None:
        assert self.decide(1, Outcome(status_code=404)) == ("dead", None)

    def test_retry_after_longer_than_the_backoff_is_honoured(self) -> None:
        assert self.decide(1, Outcome(status_code=429, retry_after="60")) == ("failed", 60)

    def test_retry_after_never_shortens_the_backoff(self) -> None:
        assert self.decide(3, Outcome(status_code=429, retry_after="1")) == ("failed", 40)

    def test_retry_after_is_capped(self) -> None:
        capped = RetryPolicy(max_attempts=4, first_delay=1, jitter=0, max_retry_after=3600)
        decision = capped.decide(
            1, Outcome(status_code=503, retry_after="999999"), random=0.0, now=NOW
        )
        assert decision.retry_in == 3600
