"""The schedule trigger's preview (pure but for the clock): the next run times of a cron line.

cronsim follows Debian cron's rules, as the plugin's scheduler does (`automation/schedules.py`,
which the UI may not import: it reaches the plugin over HTTP only), so the preview shows the
times the plugin will start the flow at, daylight-saving changes included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cronsim import CronSim, CronSimError

SCHEDULE = "schedule"
TIME_ZONES: tuple[str, ...] = tuple(sorted(available_timezones()))


@dataclass(frozen=True)
class Upcoming:
    runs: list[str] = field(default_factory=list)
    """Each run as `Mon 2026-11-30 09:00 (Europe/Paris)`."""
    error: str = ""
    timezone: str = ""


def upcoming_runs(
    cron: str, timezone: str, *, count: int = 5, now: datetime | None = None
) -> Upcoming:
    """The next `count` runs after `now` in `timezone`; an error in plain words when the cron
    line or the zone is not valid (nothing at all when no cron line was given yet)."""
    cron, timezone = cron.strip(), timezone.strip() or "UTC"
    if not cron:
        return Upcoming()
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return Upcoming(error=f"{timezone!r} is not a time zone (such as Europe/Paris).")
    if len(cron.split()) != 5:
        return Upcoming(
            error="A schedule has five parts: minute, hour, day of month, month, day of week "
            "(such as 0 9 * * 1 for Mondays at 9:00)."
        )
    start = (now or datetime.now(UTC)).astimezone(zone).replace(second=0, microsecond=0)
    try:
        times = CronSim(cron, start)
        runs = [next(times) for _ in range(count)]
    except (CronSimError, StopIteration) as exc:
        return Upcoming(error=f"This schedule is not valid: {exc}.")
    return Upcoming(
        runs=[moment.strftime("%a %Y-%m-%d %H:%M") for moment in runs], timezone=timezone
    )
