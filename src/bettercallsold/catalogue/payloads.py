"""Payload schemas of the actions: what each platform call accepts, field by field.

They mirror the platform's request bodies (which stay the final judge) so a bad payload fails
before any call, with a message naming the field; `id` names the object in the path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bettercallsold.http.inputs import ISO_TEXT

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
# Strict numbers: a JSON `true` is not a price, and neither is "1e400" (infinity).
Price = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
Count = Annotated[int, Field(ge=0, strict=True)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateProduct(_Payload):
    name: NonEmpty
    price: Price
    description: str | None = None
    sku: str | None = None
    inventory: Count | None = None
    tags: list[str] | None = None


class UpdateProduct(_Payload):
    id: NonEmpty
    name: NonEmpty | None = None
    price: Price | None = None
    description: str | None = None
    sku: str | None = None
    inventory: Count | None = None
    tags: list[str] | None = None


class DeleteProduct(_Payload):
    id: NonEmpty


class CreateCustomer(_Payload):
    name: NonEmpty
    email: str | None = None
    phone: str | None = None
    tags: list[str] | None = None


class UpdateCustomer(_Payload):
    id: NonEmpty
    name: NonEmpty | None = None
    email: str | None = None
    phone: str | None = None
    tags: list[str] | None = None


class OrderItem(_Payload):
    product_id: NonEmpty
    quantity: Annotated[int, Field(ge=1, strict=True)]


class CreateOrder(_Payload):
    customer_id: NonEmpty
    items: Annotated[list[OrderItem], Field(min_length=1)]


class UpdateOrderStatus(_Payload):
    id: NonEmpty
    status: Literal["pending", "paid", "fulfilled", "delivered", "cancelled"]


class SendEmail(_Payload):
    to: NonEmpty
    subject: NonEmpty
    body: str | None = None
    template: str | None = None


class SendSms(_Payload):
    to: NonEmpty
    message: NonEmpty


class CreateNotification(_Payload):
    message: NonEmpty
    channel: NonEmpty
    to: str | None = None


class CreateTask(_Payload):
    title: NonEmpty
    description: str | None = None
    due_date: Annotated[datetime, ISO_TEXT] | None = None
    assignee: str | None = None


class AssignTask(_Payload):
    id: NonEmpty
    assignee: NonEmpty


HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class SendHttpRequest(_Payload):
    """A call to a service outside the platform (`receiver/outside.py` performs it)."""

    method: HttpMethod
    url: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    headers: (
        Annotated[
            dict[
                Annotated[str, StringConstraints(min_length=1, max_length=256)],
                Annotated[str, StringConstraints(max_length=8192)],
            ],
            Field(max_length=50),
        ]
        | None
    ) = None
    body: Any = None
