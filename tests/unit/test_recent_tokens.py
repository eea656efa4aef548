"""The API-token cache: valid tokens for a few seconds, bounded in size."""

from __future__ import annotations

import uuid

import pytest

from bettercallsold.tenancy import auth
from bettercallsold.tenancy.auth import _RecentTokens


def test_a_token_is_known_until_its_time_runs_out(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: now[0])
    tokens = _RecentTokens(ttl=10.0, size=10)
    tenant = uuid.uuid4()
    assert tokens.get("h") is None
    tokens.put("h", tenant)
    now[0] = 109.9
    assert tokens.get("h") == tenant
    now[0] = 110.1
    assert tokens.get("h") is None


def test_the_oldest_token_makes_room() -> None:
    tokens = _RecentTokens(ttl=10.0, size=2)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    tokens.put("a", first)
    tokens.put("b", second)
    tokens.put("c", third)
    assert tokens.get("a") is None
    assert (tokens.get("b"), tokens.get("c")) == (second, third)
