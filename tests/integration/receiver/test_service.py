"""`service.receive_batch` against a remote platform (`BCS_PLATFORM_URL`), faked by httpx's
MockTransport: the URL and credential used, network failures and the total timeout."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import httpx
import pytest

from bettercallsold.receiver.schemas import ActionBatch
from bettercallsold.receiver.service import receive_batch
from bettercallsold.runtime import Runtime
from bettercallsold.tenancy.assertions import read_assertion
from bettercallsold.types import JSON
from tests.integration.receiver.conftest import Execution, Receiver

Handler = Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]]
RemoteRuntime = Callable[[Handler], Runtime]


@pytest.fixture
async def remote_runtime(runtime: Runtime) -> AsyncIterator[RemoteRuntime]:
    """The runtime, but its platform is `https://platform.example`, answered by `handler`."""
    clients: list[httpx.AsyncClient] = []

    def make(handler: Handler) -> Runtime:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        clients.append(http)
        settings = runtime.settings.model_copy(
            update={"platform_url": "https://platform.example/", "receiver_timeout_seconds": 0.5}
        )
        return dataclasses.replace(runtime, settings=settings, http=http)

    yield make
    for http in clients:
        await http.aclose()


def _batch(execution: Execution, *events: JSON) -> ActionBatch:
    return ActionBatch.model_validate(
        {"flow_execution_id": str(execution.id), "events": list(events)}
    )


SMS = {"action_type": "send_sms", "payload": {"to": "+15550001111", "message": "hi"}}


async def test_a_remote_platform_is_called_as_the_executions_tenant(
    remote_runtime: RemoteRuntime, execution: Execution
) -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "n1", "channel": "sms"})

    runtime = remote_runtime(handler)
    answer = await receive_batch(runtime, _batch(execution, SMS), None)

    assert answer == {
        "results": [
            {"action_type": "send_sms", "success": True, "data": {"id": "n1", "channel": "sms"}}
        ]
    }
    [request] = seen
    assert str(request.url) == "https://platform.example/api/notifications/sms"
    assert json.loads(request.content) == SMS["payload"]
    scheme, _, token = request.headers["Authorization"].partition(" ")
    assert runtime.settings.secret_key is not None
    signed = read_assertion(runtime.settings.secret_key.get_secret_value(), token)
    granted = signed.context
    assert scheme == "Bearer"
    assert (signed.method, signed.path) == ("POST", "/api/notifications/sms")
    assert granted.tenant_id == execution.tenant.tenant_id
    assert granted.causation.flow_execution_id == execution.id
    assert granted.causation.depth == execution.depth + 1


async def test_network_errors_fail_the_action_and_the_batch_goes_on(
    remote_runtime: RemoteRuntime, receiver: Receiver, execution: Execution
) -> None:
    calls = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(201, json={"id": "n2"})

    answer = await receive_batch(remote_runtime(handler), _batch(execution, SMS, SMS), None)

    failed, succeeded = answer["results"]
    assert failed["success"] is False
    assert "unreachable" in failed["error"]
    assert succeeded["success"] is True
    assert [row["success"] for row in await receiver.log(execution)] == [False, True]


async def test_a_platform_that_never_answers_times_out(
    remote_runtime: RemoteRuntime, execution: Execution
) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        del request
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    answer = await receive_batch(remote_runtime(handler), _batch(execution, SMS), "slow")

    [result] = answer["results"]
    assert result["success"] is False
    assert "timed out after 0.5s" in result["error"]
