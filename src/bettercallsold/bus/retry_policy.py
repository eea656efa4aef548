"""When to try a webhook again (pure): from the attempt number, what happened, and a random draw.

The contract: retry network errors, timeouts, 408, 429 and 5xx with exponential backoff and
jitter over at least 24 hours and 8 attempts, honouring `Retry-After`; any other answer that is
not a 2xx is final (`dead` at once). The default schedule waits 30 s, 1.5 min, 4.5 min, 13.5 min,
40 min, 2 h, 6 h, 8 h and 8 h between its 10 attempts (about 25 hours before `dead`), close to
the Standard Webhooks recommendation. Jitter only stretches a delay (by up to `jitter`), so
the schedule never gets shorter than its documented minimum while retries of many deliveries
that failed together still spread out instead of hitting a recovering receiver at once.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Literal

DeliveryStatus = Literal["pending", "delivered", "failed", "dead"]


class Verdict(Enum):
    DELIVERED = "delivered"
    RETRYABLE = "retryable"
    FINAL = "final"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt gave: an HTTP status, or an error before any status (`status_code`
    None), or a refusal by the URL guard (`refused`, never retried)."""

    status_code: int | None = None
    error: str | None = None
    retry_after: str | None = None
    refused: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    status: DeliveryStatus
    retry_in: float | None = None
    """Seconds until the next attempt when `status` is `failed`."""


def classify(outcome: Outcome) -> Verdict:
    if outcome.refused:
        return Verdict.FINAL
    code = outcome.status_code
    if code is None:  # connection refused, DNS failure, timeout, reset...
        return Verdict.RETRYABLE
    if 200 <= code < 300:
        return Verdict.DELIVERED
    if code in (408, 429) or code >= 500:
        return Verdict.RETRYABLE
    # Other 4xx, and 1xx/3xx: redirects are not followed (a redirect could point anywhere).
    return Verdict.FINAL


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds from `now`: either delta-seconds or an HTTP date (RFC 9110)."""
    if value is None:
        return None
    value = value.strip()
    # A receiver's header is untrusted: `isdigit()` alone admits "²" and 5,000-digit numbers.
    if value.isascii() and value.isdigit():
        return float(int(value)) if len(value) <= 9 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 10
    first_delay: float = 30.0
    """Seconds between the first attempt and the second, before jitter."""
    factor: float = 3.0
    max_delay: float = 8 * 3600.0
    jitter: float = 0.25
    """Each delay is stretched by a random fraction in [0, jitter)."""
    max_retry_after: float = 24 * 3600.0
    """A receiver's `Retry-After` is honoured up to this many seconds."""

    def backoff(self, attempt: int, random: float) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based); `random` in [0, 1)."""
        base = min(self.max_delay, self.first_delay * self.factor ** (attempt - 1))
        return base * (1.0 + self.jitter * random)

    def minimum_span(self) -> float:
        """The shortest time from the first attempt to the last (jitter drawing zero)."""
        return sum(self.backoff(attempt, 0.0) for attempt in range(1, self.max_attempts))

    def decide(self, attempt: int, outcome: Outcome, *, random: float, now: datetime) -> Decision:
        """What to do after attempt number `attempt` (1-based, since creation or redelivery).

        A `Retry-After` never makes the next attempt earlier than the backoff: a receiver
        answering `Retry-After: 1` to every attempt would otherwise use up the whole schedule
        in seconds.
        """
        verdict = classify(outcome)
        if verdict is Verdict.DELIVERED:
            return Decision("delivered")
        if verdict is Verdict.FINAL or attempt >= self.max_attempts:
            return Decision("dead")
        delay = self.backoff(attempt, random)
        asked = retry_after_seconds(outcome.retry_after, now)
        if asked is not None:
            delay = max(delay, min(asked, self.max_retry_after))
        return Decision("failed", retry_in=delay)


DEFAULT_POLICY = RetryPolicy()
