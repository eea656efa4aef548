from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bettercallsold.http.inputs import InputModel
from bettercallsold.platform.money import NonNegativeMoney
from bettercallsold.platform.orders.status import OrderStatus


class OrderItemIn(InputModel):
    product_id: uuid.UUID
    # Strict: a JSON `true`, "2" or 2.0 is a client's mistake, not a quantity.
    quantity: Annotated[int, Field(ge=1, le=1_000_000, strict=True)]


class OrderCreate(InputModel):
    customer_id: uuid.UUID
    items: Annotated[list[OrderItemIn], Field(min_length=1, max_length=500)]


class OrderStatusUpdate(InputModel):
    status: OrderStatus


class OrderItemOut(BaseModel):
    product_id: uuid.UUID
    name: str
    sku: str | None
    quantity: int
    unit_price: NonNegativeMoney
    line_total: NonNegativeMoney


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    status: OrderStatus
    total: NonNegativeMoney
    items: list[OrderItemOut]
    created_at: datetime
    updated_at: datetime
