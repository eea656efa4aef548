"""Keyset pagination of the plugin's lists, newest first: `?limit=&cursor=`.

The cursor is an opaque base64 of the last item's (time, id); a keyset never skips or repeats
rows when new ones arrive between pages. (The platform has its own; the plugin imports none of
the platform's code.)
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from bettercallsold.errors import Unprocessable


@dataclass(frozen=True)
class PageRequest:
    limit: int = 50
    after: tuple[datetime, uuid.UUID] | None = None


def page_request(
    limit: Annotated[int, Query(ge=1, le=200, description="page size")] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> PageRequest:
    return PageRequest(limit=limit, after=decode_cursor(cursor) if cursor else None)


PageDep = Annotated[PageRequest, Depends(page_request)]


def encode_cursor(moment: datetime, item_id: uuid.UUID) -> str:
    raw = json.dumps([moment.isoformat(), str(item_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, item_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(moment), uuid.UUID(item_id)
    except (ValueError, TypeError) as exc:
        raise Unprocessable(["query", "cursor"], "invalid cursor") from exc


def paginate(
    statement: Select[Any],
    request: PageRequest,
    moment: InstrumentedAttribute[datetime],
    item_id: InstrumentedAttribute[uuid.UUID],
) -> Select[Any]:
    """Apply the keyset and fetch one extra row to know whether a next page exists."""
    if request.after is not None:
        after_time, after_id = request.after
        statement = statement.where(
            or_(moment < after_time, and_(moment == after_time, item_id < after_id))
        )
    return statement.order_by(moment.desc(), item_id.desc()).limit(request.limit + 1)


def page_of(
    rows: Sequence[Any], request: PageRequest, moment_attribute: str
) -> tuple[list[Any], str | None]:
    """This page's rows and the cursor of the next page (None at the end)."""
    items = list(rows[: request.limit])
    if len(rows) > request.limit:
        last = items[-1]
        return items, encode_cursor(getattr(last, moment_attribute), last.id)
    return items, None
