from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from bettercallsold.inputs import InputModel

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Assignee = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

# A day inside Python's datetime range on each side: PostgreSQL stores instants far beyond year
# 9999, but one outside this window (in UTC or in the session's time zone) could never be read
# back into a `datetime`.
_EARLIEST_DUE = datetime(1, 1, 2, tzinfo=UTC)
_LATEST_DUE = datetime(9999, 12, 30, tzinfo=UTC)


def _readable_instant(value: datetime) -> datetime:
    try:
        instant = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("due_date must fall between years 1 and 9999 in UTC") from exc
    if not _EARLIEST_DUE <= instant <= _LATEST_DUE:
        raise ValueError("due_date must fall between years 1 and 9999 in UTC")
    return value


_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_text(value: object) -> object:
    """Only ISO 8601 text: pydantic alone would read `5` or "1795665870" as seconds since 1970,
    turning a template that rendered the wrong field into a task due in 1970."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value.strip()):
        raise ValueError("due_date must be an ISO 8601 date-time such as 2026-11-27T10:00:00Z")
    return value


DueDate = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_readable_instant)]


class TaskCreate(InputModel):
    title: Title
    description: Annotated[str, Field(max_length=10_000)] | None = None
    due_date: DueDate | None = Field(
        default=None, description="ISO 8601 date-time with a time zone"
    )
    assignee: Assignee | None = None


class TaskAssign(InputModel):
    assignee: Assignee


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str | None
    due_date: datetime | None
    assignee: str | None
    status: str
    created_at: datetime
    updated_at: datetime
