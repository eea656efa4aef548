"""Request and response bodies of the webhook API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from bettercallsold.catalogue import EVENT_TYPES
from bettercallsold.http.inputs import StorableModel

SubscriptionStatus = Literal["active", "paused"]
DeliveryStatusName = Literal["pending", "delivered", "failed", "dead"]
_SUBSCRIBABLE = (*EVENT_TYPES, "*")


def _known_event_type(value: str) -> str:
    if value not in _SUBSCRIBABLE:
        raise ValueError(
            f"unknown event type {value!r}; expected one of {', '.join(_SUBSCRIBABLE)}"
        )
    return value


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


EventTypeName = Annotated[str, AfterValidator(_known_event_type)]
EventTypes = Annotated[
    list[EventTypeName],
    Field(min_length=1, max_length=len(_SUBSCRIBABLE), examples=[["order.created"], ["*"]]),
    AfterValidator(_unique),
]
Url = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2048),
    Field(examples=["https://example.com/webhooks/bettercallsold"]),
]
Description = Annotated[str, Field(max_length=1000)]


class SubscriptionCreate(StorableModel):
    model_config = ConfigDict(extra="forbid")

    url: Url
    event_types: EventTypes
    description: Description | None = None


class SubscriptionUpdate(StorableModel):
    """Any subset of the fields; an absent field keeps its value."""

    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    status: SubscriptionStatus | None = None


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    status: SubscriptionStatus
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="the signing secret (whsec_...), shown only in this answer")


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status_code: int | None = Field(description="the receiver's HTTP status; null if none came")
    duration_ms: int
    error: str | None
    at: datetime


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="also the `webhook-id` header of every attempt")
    subscription_id: uuid.UUID
    event_id: str
    event_type: str
    status: DeliveryStatusName
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    attempts: list[AttemptOut]
