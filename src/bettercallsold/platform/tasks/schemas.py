from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Assignee = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Annotated[str, Field(max_length=10_000)] | None = None
    due_date: AwareDatetime | None = Field(
        default=None, description="ISO 8601 date-time with a time zone"
    )
    assignee: Assignee | None = None


class TaskAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
