"""Money: a decimal with two places in storage and Python, a JSON number on the wire."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer, WithJsonSchema

_as_json_number = PlainSerializer(float, return_type=float, when_used="json")

Money = Annotated[
    Decimal,
    Field(max_digits=12, decimal_places=2),
    _as_json_number,
    WithJsonSchema({"type": "number", "multipleOf": 0.01}, mode="serialization"),
]
NonNegativeMoney = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    _as_json_number,
    WithJsonSchema({"type": "number", "minimum": 0, "multipleOf": 0.01}, mode="serialization"),
]
