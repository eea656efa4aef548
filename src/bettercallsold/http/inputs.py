"""The base of every request body: what JSON allows but PostgreSQL cannot store.

JSON strings may carry U+0000 and (through `\\ud800` escapes) lone surrogates; PostgreSQL text
refuses the first and UTF-8 cannot encode the second. Both are refused here as a 422 naming the
field, so a client's odd string is its mistake, never a 500 from the database driver.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator


def check_storable_text(value: object) -> None:
    """Raise ValueError if a string in `value` (or in its lists and mappings) can't be stored."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL (U+0000) characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("text must be valid Unicode (no lone surrogates)") from exc
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_storable_text(key)
            check_storable_text(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            check_storable_text(item)


class StorableModel(BaseModel):
    """A body whose every string (at any depth) must be storable; other config is the
    subclass's own."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        check_storable_text(value)
        return value


class InputModel(StorableModel):
    """A request body: unknown fields are refused, and every string must be storable."""

    model_config = ConfigDict(extra="forbid")


def _refuse_null(value: object) -> object:
    if value is None:
        raise ValueError("cannot be null: leave the field out to keep its value")
    return value


def _without_null(schema: dict[str, Any]) -> None:
    """The documented schema of a NOT_NULL field: what it accepts, null not among it."""
    options = [option for option in schema.pop("anyOf", []) if option.get("type") != "null"]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options
    schema.pop("default", None)


NOT_NULL = (BeforeValidator(_refuse_null), Field(json_schema_extra=_without_null))
"""For an update's required field (`Annotated[Name | None, *NOT_NULL] = None`): left out, it
keeps its value; an explicit null is a 422 naming the field rather than a silent no-op
(pydantic runs validators on the values given, never on the default), and the schema says so."""


_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_text(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value.strip()):
        raise ValueError("must be an ISO 8601 date-time such as 2026-11-27T10:00:00Z")
    return value


ISO_TEXT = BeforeValidator(_iso_text)
"""For a date-time field (`Annotated[datetime, ISO_TEXT]`): only ISO 8601 text. pydantic alone
reads `5` or "1795665870" as seconds since 1970, turning a template that rendered the wrong field
into a date in 1970."""
