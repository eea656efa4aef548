"""Money: a decimal with two places in storage and Python, a JSON number on the wire."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer, WithJsonSchema

MAX_MONEY = Decimal("9999999999.99")
"""The largest amount `Money` holds (12 digits, 2 after the point): prices and order totals."""

_as_json_number = PlainSerializer(float, return_type=float, when_used="json")

Money = Annotated[
    Decimal,
    Field(max_digits=12, decimal_places=2),
    _as_json_number,
    WithJsonSchema({"type": "number"}, mode="serialization"),
]
NonNegativeMoney = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    _as_json_number,
    WithJsonSchema({"type": "number", "minimum": 0}, mode="serialization"),
]
