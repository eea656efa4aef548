from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from bettercallsold.http.inputs import NOT_NULL, InputModel

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ().-]{3,39}$", max_length=40)
]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class CustomerCreate(InputModel):
    name: Name
    email: EmailStr | None = None
    phone: Phone | None = None
    tags: Annotated[list[Tag], Field(max_length=50)] = []


class CustomerUpdate(InputModel):
    """Any subset of the fields; an absent field keeps its value, null clears email, phone and
    tags, and a null name is a 422."""

    name: Annotated[Name | None, *NOT_NULL] = None
    email: EmailStr | None = None
    phone: Phone | None = None
    tags: Annotated[list[Tag], Field(max_length=50)] | None = None


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
