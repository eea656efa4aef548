"""`send_http_request`: the one action the receiver performs by calling a URL a tenant chose.

Through the same guard as webhook deliveries (`bettercallsold.outbound`): the URL is checked at
the moment of the call (`BCS_WEBHOOK_ALLOW_PRIVATE_URLS` governs private targets), the
connection goes to the address checked, redirects are not followed, the exchange is bounded
by 10 s and the answer by 1 MiB. The request carries `Idempotency-Key: <execution>:<step key>`
(the step key has `:<iteration>` inside a loop), so a call repeated after a crash can be told
apart by the service. The result is `{status_code, headers, body}` (`body` parsed when it is
JSON); a network error or a status of 400 or more fails the action, naming it.

Never called inside a database transaction: in process the runner commits the execution's
progress first (`automation/runner.py`), over HTTP the receiver holds no transaction across
calls.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from bettercallsold.outbound import (
    RESOLVER_KEY,
    AddressGuard,
    OutboundError,
    Resolver,
    guarded_request,
    system_resolver,
)
from bettercallsold.runtime import Runtime
from bettercallsold.types import JSON

ACTION_TYPE = "send_http_request"
_NOT_SETTABLE = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "idempotency-key", "upgrade"}
)
"""Headers the request owns: the pinned Host, the framing, and the idempotency key."""


def guard(runtime: Runtime) -> AddressGuard:
    """The webhook rule for `send_http_request` too (and the same test seam for DNS)."""
    resolver: Resolver = runtime.extras.get(RESOLVER_KEY, system_resolver)
    return AddressGuard(runtime.settings.webhook_allow_private_urls, resolver)


def idempotency_key(execution_id: uuid.UUID, step_key: str | None) -> str:
    return f"{execution_id}:{step_key or ACTION_TYPE}"


async def perform(
    http: httpx.AsyncClient,
    guard: AddressGuard,
    execution_id: uuid.UUID,
    step_key: str | None,
    payload: JSON,
) -> JSON:
    """Make the call; the action's result (never raises for the call's failure)."""
    method, url = str(payload["method"]), str(payload["url"])
    headers = {
        name: value
        for name, value in (payload.get("headers") or {}).items()
        if name.lower() not in _NOT_SETTABLE
    }
    headers["Idempotency-Key"] = idempotency_key(execution_id, step_key)
    content: bytes | None = None
    if payload.get("body") is not None:
        content = json.dumps(payload["body"], separators=(",", ":")).encode()
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    try:
        response = await guarded_request(
            http, method, url, guard=guard, headers=headers, content=content
        )
    except OutboundError as exc:
        return _failed(f"{method} {url}: {exc}")
    data: JSON = {
        "status_code": response.status_code,
        "headers": dict(response.headers.items()),
        "body": _body(response.body, response.headers.get("content-type", "")),
    }
    if response.status_code >= 400:
        return {**_failed(f"{method} {url} answered {response.status_code}"), "data": data}
    return {"action_type": ACTION_TYPE, "success": True, "data": data}


def _body(raw: bytes, content_type: str) -> Any:
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type.lower():
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _failed(error: str) -> JSON:
    return {"action_type": ACTION_TYPE, "success": False, "error": f"{ACTION_TYPE}: {error}"}
