"""Deliveries through `outbound.guarded_request`: `https://` to the checked address with TLS
for the name, and failed connects that tell the tenant nothing about the port."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trustme
from standardwebhooks import Webhook

from bettercallsold.bus.delivery import DeliveryEnv, run_delivery
from tests.integration.bus.conftest import BusTenant
from tests.integration.outbound.servers import (
    HOOKS_NAME,
    CountingResolver,
    Server,
    client_tls,
    server_tls,
    unanswered_port,
)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_client(ca: trustme.CA) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(verify=client_tls(ca), trust_env=False) as http:
        yield http


async def deliver_once(
    tenant: BusTenant, url: str, http: httpx.AsyncClient, resolver: CountingResolver
) -> tuple[dict[str, Any], str]:
    """Subscribe `url`, emit one event, run its first attempt with `http` and `resolver`;
    the delivery as the tenant sees it, and the subscription's secret."""
    subscription = await tenant.subscribe(url)
    await tenant.emit(1)
    [delivery] = await tenant.deliveries(subscription["id"])
    env = dataclasses.replace(
        DeliveryEnv.from_runtime(tenant.runtime), http=http, resolver=resolver, timeout=0.5
    )
    await run_delivery(env, uuid.UUID(delivery["id"]), 1)
    [delivery] = await tenant.deliveries(subscription["id"])
    return delivery, subscription["secret"]


async def test_https_is_delivered_to_the_checked_address_for_the_name(
    bus_tenant: BusTenant, ca: trustme.CA, tls_client: httpx.AsyncClient
) -> None:
    resolver = CountingResolver({HOOKS_NAME: [["127.0.0.1"]]})
    async with Server(tls=server_tls(ca, HOOKS_NAME)) as server:
        url = f"https://{HOOKS_NAME}:{server.port}/hook"
        delivery, secret = await deliver_once(bus_tenant, url, tls_client, resolver)

    assert delivery["status"] == "delivered"
    assert server.server_names == [HOOKS_NAME]
    [seen] = server.requests
    assert seen.headers["host"] == f"{HOOKS_NAME}:{server.port}"
    Webhook(secret).verify(seen.body, seen.headers)  # signed as ever
    assert resolver.lookups == [HOOKS_NAME]  # the attempt's check; httpx resolved nothing


async def test_closed_and_filtered_ports_give_the_same_attempt(
    bus_tenant: BusTenant, tls_client: httpx.AsyncClient
) -> None:
    """Same error and no timing: refused at once or after the whole timeout, the tenant's
    attempt reads the same."""
    resolver = CountingResolver({HOOKS_NAME: [["127.0.0.1"]]})
    with unanswered_port() as port:
        filtered, _ = await deliver_once(
            bus_tenant, f"http://{HOOKS_NAME}:{port}/", tls_client, resolver
        )
    closed, _ = await deliver_once(bus_tenant, f"http://{HOOKS_NAME}:{port}/", tls_client, resolver)

    shown = [
        {key: attempt[key] for key in ("status_code", "error", "duration_ms")}
        for attempt in (filtered["attempts"][0], closed["attempts"][0])
    ]
    assert (
        shown[0]
        == shown[1]
        == {
            "status_code": None,
            "error": f"could not connect to {HOOKS_NAME}:{port}",
            "duration_ms": 0,
        }
    )
    assert filtered["status"] == closed["status"] == "failed"
