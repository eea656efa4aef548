"""One delivery attempt: sign the event, POST it, record the attempt, schedule what comes next.

Nothing is locked during the HTTP call: the plan is read in one short transaction, the outcome
recorded in another that locks the delivery row. Each delivery job carries the delivery's
`version`; a job that finds another version (the delivery was retried or redelivered since)
or a settled delivery does nothing, which makes a job run twice (a worker killed after
recording but before procrastinate marked the job done) harmless. The next retry is deferred
in the same transaction as the attempt it follows, so an attempt is never recorded without its
retry, nor a retry scheduled for an attempt that was not recorded.

Delivery is at least once: a worker killed during the HTTP call sends again after recovery, with
the same `webhook-id`, which is how receivers recognise a repeat.

A tenant's URL is called through `outbound.guarded_request` (checked right before the call,
connected to the checked address). An attempt that could not connect is shown as such, with a
`duration_ms` of 0 and its retry counted from its start: how long a connect takes to fail
(at once when refused, the whole timeout when filtered) is the port's state, which a tenant
must not learn through us. The real cause and duration go to the server log.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bettercallsold import __version__
from bettercallsold.bus import config, dispatch, repository
from bettercallsold.bus.envelope import encode_body, event_envelope
from bettercallsold.bus.retry_policy import DeliveryStatus, Outcome, RetryPolicy
from bettercallsold.bus.signing import signature_headers
from bettercallsold.db.engine import read_session
from bettercallsold.outbound import (
    AddressGuard,
    CouldNotConnect,
    OutboundError,
    OutboundResponse,
    Resolver,
    UrlRefused,
    guarded_request,
    operator_request,
)
from bettercallsold.runtime import Runtime
from bettercallsold.types import Clock, utcnow

logger = logging.getLogger(__name__)

USER_AGENT = f"BetterCallSold-Webhooks/{__version__}"
_BODY_READ_LIMIT = 64 * 1024
_ERROR_EXCERPT = 300
_SETTLED = ("delivered", "dead")


@dataclass(frozen=True)
class DeliveryEnv:
    """What an attempt needs from the process; tests build one with fakes."""

    sessionmaker: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    timeout: float
    allow_private_urls: bool
    policy: RetryPolicy
    resolver: Resolver
    clock: Clock = utcnow
    random: Callable[[], float] = field(default=random.random)

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> DeliveryEnv:
        return cls(
            sessionmaker=runtime.sessionmaker,
            http=runtime.http,
            timeout=runtime.settings.webhook_timeout_seconds,
            allow_private_urls=runtime.settings.webhook_allow_private_urls,
            policy=config.retry_policy(runtime),
            resolver=config.resolver(runtime),
        )

    @property
    def guard(self) -> AddressGuard:
        return AddressGuard(allow_private=self.allow_private_urls, resolver=self.resolver)


@dataclass(frozen=True, slots=True)
class _Attempted:
    outcome: Outcome
    duration_ms: int
    timing_hidden: bool = False
    """The attempt could not connect: its timing would tell the tenant the port's state."""


async def run_delivery(
    env: DeliveryEnv, delivery_id: uuid.UUID, version: int
) -> DeliveryStatus | None:
    """Make one attempt and record it; the delivery's new status, None for a stale job."""
    async with read_session(env.sessionmaker) as session:
        plan = await repository.load_attempt_plan(session, delivery_id)
    if plan is None or plan.version != version or plan.status in _SETTLED:
        return None
    started = env.clock()
    attempted = await _attempt(env, plan)
    return await _record(env, plan, attempted, started)


async def _attempt(env: DeliveryEnv, plan: repository.AttemptPlan) -> _Attempted:
    if plan.subscription_status != "active":
        return _Attempted(Outcome(refused=True, error="not sent: the subscription is paused"), 0)
    clock_start = time.perf_counter()
    body = encode_body(event_envelope(plan.event))
    timestamp = int(env.clock().timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signature_headers(plan.secret, str(plan.delivery_id), timestamp, body),
    }
    try:
        if plan.operator:
            # Operator subscriptions (the automation plugin, in-process by default) are
            # configured by the operator, not a tenant: the tenant URL policy does not apply.
            response = await operator_request(
                env.http,
                "POST",
                plan.url,
                headers=headers,
                content=body.encode(),
                time_limit=env.timeout,
                max_body=_BODY_READ_LIMIT,
            )
        else:
            response = await guarded_request(
                env.http,
                "POST",
                plan.url,
                guard=env.guard,
                headers=headers,
                content=body.encode(),
                time_limit=env.timeout,
                max_body=_BODY_READ_LIMIT,
            )
    except UrlRefused as exc:
        return _Attempted(Outcome(refused=True, error=f"not sent: {exc}"), _ms_since(clock_start))
    except CouldNotConnect as exc:
        logger.info(
            "webhook delivery %s could not connect after %d ms: %s",
            plan.delivery_id,
            _ms_since(clock_start),
            exc.cause,
        )
        return _Attempted(Outcome(error=str(exc)), 0, timing_hidden=True)
    except OutboundError as exc:
        return _Attempted(Outcome(error=str(exc)), _ms_since(clock_start))
    except Exception as exc:
        if not plan.operator:
            raise
        # httpx's ASGITransport re-raises the in-process app's own errors: the plugin failing
        # is a failed attempt (retried by the policy), not a crash of the delivery job.
        logger.exception("the in-process receiver failed on delivery %s", plan.delivery_id)
        error = f"the in-process receiver raised {type(exc).__name__}"
        return _Attempted(Outcome(error=error), _ms_since(clock_start))
    return _Attempted(_outcome(response), _ms_since(clock_start))


def _ms_since(clock_start: float) -> int:
    return round((time.perf_counter() - clock_start) * 1000)


def _outcome(response: OutboundResponse) -> Outcome:
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(status_code=code)
    excerpt = response.body[:_ERROR_EXCERPT].decode("utf-8", "replace").strip()
    error = f"HTTP {code} {httpx.codes.get_reason_phrase(code)}".strip()
    if excerpt:
        error += f": {excerpt}"
    return Outcome(status_code=code, error=error, retry_after=response.headers.get("retry-after"))


async def _record(
    env: DeliveryEnv,
    plan: repository.AttemptPlan,
    attempted: _Attempted,
    started: datetime,
) -> DeliveryStatus | None:
    outcome = attempted.outcome
    # A hidden timing must not show through the retry time either.
    now = started if attempted.timing_hidden else env.clock()
    # While the version is unchanged nothing else recorded an attempt, so the plan's count holds.
    attempt = plan.cycle_attempts + 1
    decision = env.policy.decide(attempt, outcome, random=env.random(), now=now)
    retry_at = None if decision.retry_in is None else now + timedelta(seconds=decision.retry_in)
    record = repository.AttemptRecord(
        status=decision.status,
        cycle_attempts=attempt,
        status_code=outcome.status_code,
        error=outcome.error,
        duration_ms=attempted.duration_ms,
        started_at=started,
        finished_at=now,
        next_attempt_at=retry_at,
    )
    async with env.sessionmaker() as session, session.begin():
        number = await repository.record_attempt(session, plan.delivery_id, plan.version, record)
        if number is None:
            return None  # recorded by a twin job, or superseded while we were sending
        if retry_at is not None:
            await dispatch.schedule(
                session, plan.tenant_id, plan.delivery_id, plan.version + 1, at=retry_at
            )
    if decision.status == "dead":
        logger.warning(
            "webhook delivery %s is dead after %d attempts: %s",
            plan.delivery_id,
            number,
            outcome.error,
        )
    return decision.status
