from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from bettercallsold.http.inputs import ISO_TEXT, InputModel

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


DueDate = Annotated[AwareDatetime, ISO_TEXT, AfterValidator(_readable_instant)]


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
