"""Scheduled flows: `trigger_event: "schedule"` with `{"cron": "0 9 * * 1", "timezone": ...}`.

Each flow keeps its next due time (`next_run_at`, UTC), computed at save, at activation and
after each run with cronsim (Debian cron's rules, DST included: a 02:30 run on a spring-forward
day runs once, at 03:00; on a fall-back day it runs once). A tick every minute (`tasks.py`,
a procrastinate periodic task) claims the due flows with `FOR UPDATE SKIP LOCKED`, so several
workers ticking at once share them, and starts each due time under the execution key
`sch:<epoch seconds>` (unique per flow): even two ticks that saw the same due time start it
once. A due time missed while no worker ran is started on return if it is less than an hour
late; older ones are skipped (at most `MAX_CATCH_UP` per flow and tick).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation import repository
from bettercallsold.automation.conditions import iso_utc

SCHEDULE_TRIGGER = "schedule"
MAX_LATE = timedelta(hours=1)
MAX_CATCH_UP = 60
TICK_BATCH = 200
"""Flows claimed per tick transaction; a tick loops until none is due."""


@dataclass(frozen=True)
class Schedule:
    cron: str
    timezone: str = "UTC"

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Schedule:
        return cls(cron=str(raw["cron"]), timezone=str(raw.get("timezone") or "UTC"))

    def next_after(self, moment: datetime) -> datetime | None:
        """The first due time strictly after `moment` (UTC), None if there is none."""
        zone = ZoneInfo(self.timezone)
        try:
            due = next(iter(CronSim(self.cron, moment.astimezone(zone))))
        except StopIteration:
            return None
        return due.astimezone(UTC)

    def upcoming(self, after: datetime, count: int) -> list[datetime]:
        times: list[datetime] = []
        moment: datetime | None = after
        while moment is not None and len(times) < count:
            moment = self.next_after(moment)
            if moment is not None:
                times.append(moment)
        return times


def schedule_problems(trigger_event: str, raw: Any) -> list[tuple[str, str]]:
    """(field, message) for a flow's `schedule`: required with the `schedule` trigger (a
    5-field cron and an IANA time zone), refused with any other."""
    if trigger_event != "schedule":
        if raw is not None:
            return [("schedule", 'only a flow with trigger_event "schedule" has a schedule')]
        return []
    if not isinstance(raw, Mapping):
        example = '{"cron": "0 9 * * 1", "timezone": "Europe/Paris"}'
        return [("schedule", f"a scheduled flow needs a schedule such as {example}")]
    problems: list[tuple[str, str]] = []
    unknown = sorted(str(key) for key in raw if key not in {"cron", "timezone"})
    if unknown:
        problems.append((f"schedule.{unknown[0]}", "not a field of a schedule (cron, timezone)"))
    cron = raw.get("cron")
    if not isinstance(cron, str) or len(cron.split()) != 5 or len(cron) > 200:
        problems.append(("schedule.cron", "cron has 5 fields: minute hour day month weekday"))
    else:
        try:
            CronSim(cron, datetime(2026, 1, 1, tzinfo=UTC))
        except CronSimError as exc:
            problems.append(("schedule.cron", f"{cron!r} is not a valid cron expression: {exc}"))
    zone = raw.get("timezone", "UTC")
    if not isinstance(zone, str) or not _known_zone(zone):
        problems.append(("schedule.timezone", f"{zone!r} is not an IANA time zone"))
    return problems


def _known_zone(name: str) -> bool:
    if not name or len(name) > 64 or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def first_due(trigger_event: str, raw: Any, now: datetime) -> datetime | None:
    """A flow's `next_run_at` when saved or activated: its first due time after now."""
    if trigger_event != "schedule" or not isinstance(raw, Mapping):
        return None
    return Schedule.from_json(raw).next_after(now)


@dataclass(frozen=True)
class DuePlan:
    start: list[datetime]
    next_run_at: datetime | None


def plan_due(schedule: Schedule, next_run_at: datetime, now: datetime) -> DuePlan:
    """The due times to start now (at most an hour late), and the next one after now."""
    start: list[datetime] = []
    due: datetime | None = next_run_at
    while due is not None and due <= now:
        if now - due < MAX_LATE and len(start) < MAX_CATCH_UP:
            start.append(due)
        due = schedule.next_after(due if now - due < MAX_LATE else now - MAX_LATE)
    return DuePlan(start=start, next_run_at=due)


_CLAIM_DUE = """
    SELECT id, tenant_id, schedule, next_run_at FROM automation_flows
    WHERE status = 'active' AND trigger_event = 'schedule' AND next_run_at <= :now
    ORDER BY next_run_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
"""


@dataclass(frozen=True)
class TickResult:
    claimed: int
    started: int


async def tick(session: AsyncSession, now: datetime, *, queue: str, task: str) -> TickResult:
    """In the caller's transaction: start every due time of the claimed flows and move each
    flow's `next_run_at` on."""
    rows = (await session.execute(text(_CLAIM_DUE), {"now": now, "limit": TICK_BATCH})).all()
    started = 0
    for row in rows:
        plan = plan_due(Schedule.from_json(row.schedule), row.next_run_at, now)
        for due in plan.start:
            launch = repository.Launch(
                tenant_id=row.tenant_id,
                flow_id=row.id,
                event_id=f"sch:{int(due.timestamp())}",
                payload={"scheduled_at": iso_utc(due)},
                queue=queue,
                task=task,
            )
            if await repository.launch_execution(session, launch) is not None:
                started += 1
        await session.execute(
            text("UPDATE automation_flows SET next_run_at = :next WHERE id = :id"),
            {"next": plan.next_run_at, "id": row.id},
        )
    return TickResult(claimed=len(rows), started=started)


def run_now_key() -> str:
    """The execution key of a "run now": never the same twice."""
    return f"run:{uuid.uuid4().hex}"
