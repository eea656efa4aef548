"""`platform/pagination.py`: opaque keyset cursors and page splitting (no database)."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bettercallsold.errors import Unprocessable
from bettercallsold.http.pagination import (
    PageRequest,
    decode_cursor,
    encode_cursor,
    page_of,
    page_request,
)

MOMENT = datetime(2026, 11, 24, 10, 0, 0, 123456, tzinfo=UTC)


@dataclass
class Row:
    created_at: datetime
    id: uuid.UUID


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class TestCursorRoundTrip:
    @pytest.mark.parametrize(
        "moment",
        [MOMENT, MOMENT.astimezone(timezone(timedelta(hours=-5))), datetime(1, 1, 1, tzinfo=UTC)],
    )
    def test_decoding_gives_back_the_instant_and_id(self, moment: datetime) -> None:
        item_id = uuid.uuid4()
        assert decode_cursor(encode_cursor(moment, item_id)) == (moment, item_id)

    def test_is_url_safe_without_padding(self) -> None:
        cursor = encode_cursor(MOMENT, uuid.uuid4())
        assert set(cursor) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )

    def test_keeps_microseconds(self) -> None:
        decoded, _ = decode_cursor(encode_cursor(MOMENT, uuid.uuid4()))
        assert decoded.microsecond == 123456


class TestInvalidCursor:
    @pytest.mark.parametrize(
        "cursor",
        [
            "not a cursor",
            "%%%",
            "é",
            _b64(b"not json"),
            _b64(b"{}"),
            _b64(b"[]"),
            _b64(b'["2026-11-24T10:00:00+00:00"]'),
            _b64(b'["yesterday", "9b2b0a4e-8f5e-4f43-9d3c-0d7cf8f9c111"]'),
            _b64(b'["2026-11-24T10:00:00+00:00", "not-a-uuid"]'),
            _b64(b"[1, 2]"),
            _b64(b'{"a": 1, "b": 2}'),
            _b64(b"\xff\xfe"),
        ],
    )
    def test_is_unprocessable_naming_the_cursor(self, cursor: str) -> None:
        with pytest.raises(Unprocessable) as raised:
            decode_cursor(cursor)
        assert raised.value.detail() == [
            {"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}
        ]


class TestPageRequest:
    def test_without_a_cursor_starts_at_the_newest(self) -> None:
        assert page_request(limit=10, cursor=None) == PageRequest(limit=10, after=None)

    def test_with_a_cursor_continues_after_it(self) -> None:
        item_id = uuid.uuid4()
        request = page_request(limit=5, cursor=encode_cursor(MOMENT, item_id))
        assert request.after == (MOMENT, item_id)


class TestPageOf:
    def _rows(self, count: int) -> list[Row]:
        return [Row(MOMENT - timedelta(seconds=i), uuid.uuid4()) for i in range(count)]

    def test_an_extra_row_means_a_next_page_after_the_last_shown(self) -> None:
        rows = self._rows(4)
        items, cursor = page_of(rows, PageRequest(limit=3, after=None))
        assert items == rows[:3]
        assert cursor is not None
        assert decode_cursor(cursor) == (rows[2].created_at, rows[2].id)

    @pytest.mark.parametrize("count", [0, 2, 3])
    def test_no_extra_row_means_the_last_page(self, count: int) -> None:
        rows = self._rows(count)
        assert page_of(rows, PageRequest(limit=3, after=None)) == (rows, None)
