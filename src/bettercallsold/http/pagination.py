"""Keyset pagination, newest first: `?limit=&cursor=` → `{"items": [...], "next_cursor"}`.

One shape for every list of the contract (platform, bus, plugin), so it lives outside them all.

The cursor is an opaque base64 of the last item's (created_at, id); a keyset never skips or
repeats rows when new ones arrive between pages, unlike OFFSET.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from bettercallsold.errors import Unprocessable

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: tuple[datetime, uuid.UUID] | None


def page_request(
    limit: Annotated[int, Query(ge=1, le=200, description="page size")] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> PageRequest:
    return PageRequest(limit=limit, after=decode_cursor(cursor) if cursor else None)


PageDep = Annotated[PageRequest, Depends(page_request)]


def encode_cursor(created_at: datetime, item_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(item_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, item_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(created_at), uuid.UUID(item_id)
    except (ValueError, TypeError) as exc:
        raise Unprocessable(["query", "cursor"], "invalid cursor") from exc


def paginate(
    statement: Select[Any],
    request: PageRequest,
    moment: InstrumentedAttribute[datetime],
    item_id: InstrumentedAttribute[uuid.UUID],
) -> Select[Any]:
    """Apply the keyset on (`moment`, id) — `moment` is the list's time column — and fetch
    one extra row to know whether a next page exists.

    A row comparison, not `moment < t OR (moment = t AND id < i)` (the same rows): PostgreSQL
    takes the row comparison as the bound of an index ending in (moment, id), so a page deep in
    a long list starts right at the cursor instead of filtering every newer row (200 ms → a
    few at 1,000,000 executions, `bench/executions_list.py`)."""
    if request.after is not None:
        after_time, after_id = request.after
        statement = statement.where(tuple_(moment, item_id) < tuple_(after_time, after_id))
    return statement.order_by(moment.desc(), item_id.desc()).limit(request.limit + 1)


def page_of(
    rows: Sequence[Any], request: PageRequest, moment_attribute: str = "created_at"
) -> tuple[list[Any], str | None]:
    """Split the fetched rows into this page and the cursor of the next (None at the end);
    `moment_attribute` names the time column the keyset orders by."""
    items = list(rows[: request.limit])
    if len(rows) > request.limit:
        last = items[-1]
        return items, encode_cursor(getattr(last, moment_attribute), last.id)
    return items, None
