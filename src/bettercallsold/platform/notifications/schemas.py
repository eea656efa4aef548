from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, computed_field

from bettercallsold.http.inputs import InputModel

CHANNEL_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
CHANNEL_FILTER_PATTERN = r"^([a-z][a-z0-9_-]{0,39})?$"
Channel = Annotated[str, StringConstraints(strip_whitespace=True, pattern=CHANNEL_PATTERN)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ().-]{3,39}$", max_length=40)
]


class EmailCreate(InputModel):
    to: EmailStr
    subject: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    body: Annotated[str, Field(max_length=100_000)] | None = None
    template: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None


class SmsCreate(InputModel):
    to: Phone
    message: Annotated[str, StringConstraints(min_length=1, max_length=1600)]


class ChannelMessageCreate(InputModel):
    """A message on a generic channel (for example `slack`)."""

    message: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
    channel: Channel
    to: Annotated[str, StringConstraints(min_length=1, max_length=320)] | None = None


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: str
    status: str
    to: str | None
    subject: str | None
    body: str | None
    template: str | None
    provider: str
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def message(self) -> str | None:
        """The text under the name the SMS and channel endpoints take it by (`body` holds it
        too): a message posted to `/api/notifications` on the `email` channel answers it like
        any other channel's; an email sent with a template and no body has none."""
        return self.body
