from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bettercallsold.http.inputs import NOT_NULL, InputModel
from bettercallsold.platform.money import NonNegativeMoney

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]

# Strict: a JSON `true`, "2" or 2.5 is a client's mistake, not a count of 1 or 2.
Inventory = Annotated[int, Field(ge=0, le=2_000_000_000, strict=True)]


class ProductCreate(InputModel):
    name: Name
    price: NonNegativeMoney
    description: Annotated[str, Field(max_length=10_000)] | None = None
    sku: Sku | None = None
    inventory: Inventory | None = None
    tags: Annotated[list[Tag], Field(max_length=50)] = []


class ProductUpdate(InputModel):
    """Any subset of the fields; an absent field keeps its value, null clears description,
    sku, inventory and tags, and a null name or price is a 422."""

    name: Annotated[Name | None, *NOT_NULL] = None
    price: Annotated[NonNegativeMoney | None, *NOT_NULL] = None
    description: Annotated[str, Field(max_length=10_000)] | None = None
    sku: Sku | None = None
    inventory: Inventory | None = None
    tags: Annotated[list[Tag], Field(max_length=50)] | None = None


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    price: NonNegativeMoney
    description: str | None
    sku: str | None
    inventory: int | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
