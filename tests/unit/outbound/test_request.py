"""How `outbound` words failures from transports that report no connection phases (the
in-process ASGI app, `MockTransport`): by the error alone. The network cases are in
tests/integration/outbound."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import pytest

from bettercallsold.outbound import (
    AddressGuard,
    CouldNotConnect,
    OutboundError,
    ResponseFailed,
    ResponseTimeout,
    guarded_request,
    operator_request,
)


def failing_with(error: httpx.HTTPError) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("error", "expected", "words"),
    [
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            CouldNotConnect,
            "could not connect",
        ),
        (httpx.ConnectTimeout("timed out"), CouldNotConnect, "could not connect"),
        (httpx.ReadTimeout("timed out"), ResponseTimeout, "timed out after 2 s"),
        (httpx.RemoteProtocolError("illegal status line"), ResponseFailed, "no valid HTTP"),
    ],
)
async def test_untraced_errors_are_judged_by_their_type(
    error: httpx.HTTPError, expected: type[OutboundError], words: str
) -> None:
    async with failing_with(error) as client:
        with pytest.raises(expected) as raised:
            await operator_request(client, "POST", "http://bcs.internal/hook", time_limit=2)
    assert str(raised.value).startswith(words)
    assert "Errno" not in str(raised.value)


async def test_a_connect_error_never_shows_its_cause() -> None:
    async def resolver(host: str, port: int) -> Sequence[str]:
        return ["93.184.216.34"]

    guard = AddressGuard(allow_private=False, resolver=resolver)
    async with failing_with(httpx.ConnectError("[Errno 111] Connection refused")) as client:
        with pytest.raises(CouldNotConnect) as raised:
            await guarded_request(client, "GET", "https://hooks.example.com/", guard=guard)
    assert str(raised.value) == "could not connect to hooks.example.com:443"
    assert "Connection refused" in raised.value.cause
