"""`tenancy/assertions.py`: what a service assertion carries and when it is refused (pure: the
clock is passed in). Single use is the database's part: `tests/integration/tenancy`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bettercallsold.tenancy.assertions import (
    LIFETIME,
    PLATFORM_API,
    Assertion,
    AssertionRefused,
    assertion_signer,
    read_assertion,
    sign_assertion,
    verify_assertion,
)
from bettercallsold.types import Causation, TenantContext

KEY = "k" * 48
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CONTEXT = TenantContext(uuid.uuid4(), Causation(uuid.uuid4(), depth=3), action_key="a" * 64)


PATH = "/api/orders/o1/status"


def _signed(method: str = "PUT", now: datetime = NOW) -> str:
    return sign_assertion(KEY, CONTEXT, method=method, path=PATH, now=now)


def _verify(
    token: str,
    *,
    method: str = "PUT",
    path: str = PATH,
    now: datetime = NOW,
    audience: str = PLATFORM_API,
) -> Assertion:
    return verify_assertion(KEY, token, method=method, path=path, now=now, audience=audience)


class TestSignAssertion:
    def test_carries_the_context_whole(self) -> None:
        found = read_assertion(KEY, _signed())
        assert found.context == CONTEXT
        assert (found.audience, found.method, found.path) == (
            PLATFORM_API,
            "PUT",
            "/api/orders/o1/status",
        )
        assert found.expires_at == NOW + LIFETIME

    def test_a_direct_context_round_trips(self) -> None:
        direct = TenantContext(uuid.uuid4())
        token = sign_assertion(KEY, direct, method="GET", path="/api/tasks", now=NOW)
        assert read_assertion(KEY, token).context == direct

    def test_each_assertion_has_its_own_id(self) -> None:
        assert read_assertion(KEY, _signed()).jti != read_assertion(KEY, _signed()).jti

    def test_a_signer_signs_anew_for_every_call(self) -> None:
        sign = assertion_signer(KEY, CONTEXT)
        first, second = sign("POST", "/api/tasks"), sign("POST", "/api/tasks")
        assert first != second
        assert read_assertion(KEY, first).jti != read_assertion(KEY, second).jti
        assert read_assertion(KEY, first).context == CONTEXT


class TestVerifyAssertion:
    def test_the_call_it_was_signed_for_passes(self) -> None:
        assert _verify(_signed(method="put"), method="PUT") is not None

    @pytest.mark.parametrize(
        ("overrides", "why"),
        [
            ({"method": "GET"}, "service assertion for another request"),
            ({"path": "/api/orders/o2/status"}, "service assertion for another request"),
            ({"path": "/api/orders/o1"}, "service assertion for another request"),
            ({"audience": "bcs:elsewhere"}, "service assertion for another audience"),
            ({"now": NOW + LIFETIME}, "service assertion expired"),
            ({"now": NOW - timedelta(minutes=5)}, "service assertion lives too long"),
        ],
    )
    def test_anything_else_is_refused_naming_why(self, overrides: dict[str, Any], why: str) -> None:
        with pytest.raises(AssertionRefused, match=f"^{why}$"):
            _verify(_signed(), **overrides)

    def test_still_good_just_before_expiry(self) -> None:
        assert _verify(_signed(), now=NOW + LIFETIME - timedelta(seconds=1)) is not None

    @pytest.mark.parametrize(
        "token",
        ["svc.forged", "bcs_api_token", "svc." + "x" * 40, ""],
    )
    def test_forged_or_malformed_is_refused(self, token: str) -> None:
        with pytest.raises(AssertionRefused):
            _verify(token)

    def test_another_key_is_refused(self) -> None:
        other = sign_assertion("o" * 48, CONTEXT, method="PUT", path=PATH)
        with pytest.raises(AssertionRefused, match="invalid service assertion"):
            _verify(other, now=datetime.now(UTC))
