"""Recording platform events in the caller's transaction (the transactional outbox).

A platform service calls `record_event` after flushing its change; the event row, its
deliveries and their procrastinate jobs commit or roll back with it, so a committed write
always leads to its deliveries and a failed one never does. The jobs' insert trigger NOTIFYs
the workers at commit, so an idle worker starts delivering at once. With the automation plugin
in process, the event is handed to its intake here too (`ports.EventIntake`, carried by the
session), in the same transaction, instead of a signed webhook delivery.

A write made by the event receiver for a flow action carries the action's key
(`TenantContext.action_key`, from the signed service assertion), stored with its event under a
unique index: the action is performed once however often the receiver retries it (after a crash
it cannot tell whether its call went through). The platform's `perform_once`
(`platform/once.py`) answers a repeat with the first write's resource: before any work when that
write is committed, or, when both raced, as noted here (`KeyedWrite`), with this write rolled
back.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bettercallsold.bus import repository
from bettercallsold.bus.dispatch import fan_out
from bettercallsold.bus.models import PlatformEvent
from bettercallsold.catalogue import EVENT_TYPES
from bettercallsold.jobs.deferral import BACKLOG_CAP
from bettercallsold.ports import EventRecord, event_intake
from bettercallsold.types import TenantContext, utcnow


class KeyedWrite:
    """The scope of one keyed platform write (`platform/once.py`): a repeat found by
    `record_event` is noted here, on the session, instead of being recorded."""

    _KEY = "bcs.keyed_write"

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.repeated: dict[str, Any] | None = None

    def __enter__(self) -> KeyedWrite:
        self._session.info[self._KEY] = self
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._session.info.pop(self._KEY, None)

    @classmethod
    def note_repeat(cls, session: AsyncSession, resource: dict[str, Any] | None) -> None:
        scope = session.info.get(cls._KEY)
        if not isinstance(scope, KeyedWrite):
            # A keyed write outside `perform_once` could commit an action twice: a bug.
            raise RuntimeError("a keyed platform write must run inside perform_once")
        scope.repeated = resource or {}


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex


async def record_event(
    session: AsyncSession, context: TenantContext, event_type: str, payload: dict[str, Any]
) -> EventRecord:
    assert event_type in EVENT_TYPES, event_type
    event = EventRecord(
        event_id=new_event_id(),
        tenant_id=context.tenant_id,
        event_type=event_type,
        payload=payload,
        occurred_at=utcnow(),
        causation_execution_id=context.causation.flow_execution_id,
        causation_depth=context.causation.depth,
        causation_root_event_id=context.causation.root_event_id,
    )
    intake = event_intake(session)
    recorded = await repository.record_and_match(
        session,
        event,
        context.action_key,
        in_process_key=intake.subscription_key if intake is not None else None,
        cap=BACKLOG_CAP,
    )
    if not recorded.inserted:
        # The same action's write committed first (a concurrent repeat): noted for the keyed
        # write around this one (`platform/once.py`), which rolls this write back and answers
        # with the first one's resource. Nothing is delivered for it.
        KeyedWrite.note_repeat(
            session, await performed_action(session, context.tenant_id, context.action_key or "")
        )
        return event
    await fan_out(session, event, recorded.subscription_ids, recorded.waiting)
    if intake is not None:
        await intake.take(session, event)
    return event


async def performed_action(
    connection: AsyncSession | AsyncConnection, tenant_id: uuid.UUID, action_key: str
) -> dict[str, Any] | None:
    """The resource a keyed write recorded (its event's payload); None when it never happened."""
    found: dict[str, Any] | None = await connection.scalar(
        select(PlatformEvent.payload).where(
            PlatformEvent.tenant_id == tenant_id, PlatformEvent.action_key == action_key
        )
    )
    return found
