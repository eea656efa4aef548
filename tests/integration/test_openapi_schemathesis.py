"""The platform endpoints against their own OpenAPI document, fuzzed by schemathesis.

Every operation under `/api/{products,customers,orders,notifications,tasks}` gets generated
requests, valid (positive) and invalid (negative), with a real tenant's token; each answer must
not be a 5xx and must agree with the document (status code, content type, body schema). Path
parameters are tried both as random ids (the 404 paths) and as the ids of real objects, so the
update and status-change code runs against generated bodies too.

schemathesis calls the app synchronously from its own event-loop thread (starting the app's
lifespan there), so this module builds its own app instead of sharing the session's async one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err, Ok
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bettercallsold.app import create_app
from bettercallsold.db.engine import make_engine, make_sessionmaker
from bettercallsold.settings import Settings
from bettercallsold.tenancy.service import create_tenant

MAX_EXAMPLES = 50
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PLATFORM_PATHS = r"^/api/(products|customers|orders|notifications|tasks)(/|$)"

# (method, path) of every platform operation; a test checks this list is the document's.
OPERATIONS = [
    ("POST", "/api/products"),
    ("GET", "/api/products"),
    ("GET", "/api/products/{product_id}"),
    ("PUT", "/api/products/{product_id}"),
    ("DELETE", "/api/products/{product_id}"),
    ("POST", "/api/customers"),
    ("GET", "/api/customers"),
    ("GET", "/api/customers/{customer_id}"),
    ("PUT", "/api/customers/{customer_id}"),
    ("POST", "/api/orders"),
    ("GET", "/api/orders"),
    ("GET", "/api/orders/{order_id}"),
    ("PUT", "/api/orders/{order_id}/status"),
    ("POST", "/api/notifications/email"),
    ("POST", "/api/notifications/sms"),
    ("POST", "/api/notifications"),
    ("GET", "/api/notifications"),
    ("GET", "/api/notifications/{notification_id}"),
    ("POST", "/api/tasks"),
    ("GET", "/api/tasks"),
    ("GET", "/api/tasks/{task_id}"),
    ("POST", "/api/tasks/{task_id}/assign"),
]


class Fuzzed:
    """The app under test, its schema, a tenant's headers and one real object per resource."""

    def __init__(self, app: FastAPI, headers: dict[str, str], real_ids: dict[str, str]) -> None:
        self.app = app
        self.schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(
            path_regex=PLATFORM_PATHS
        )
        self.headers = headers
        self.real_ids = real_ids


def _issue_token(database_url: str) -> str:
    """A new tenant's token, created on a loop of its own (the test itself is synchronous)."""

    async def issue() -> str:
        engine = make_engine(database_url, pool_size=1, max_overflow=0)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                issued = await create_tenant(session, f"fuzz-{uuid.uuid4().hex[:10]}")
            return issued.api_token
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, issue()).result()


def _create(client: Any, path: str, body: dict[str, Any], headers: dict[str, str]) -> str:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: str = response.json()["id"]
    return created


@pytest.fixture(scope="module")
def fuzzed(settings: Settings) -> Iterator[Fuzzed]:
    app = create_app(settings, run_worker=False)
    headers = {"Authorization": f"Bearer {_issue_token(settings.database_url or '')}"}
    application: Any = app  # an ASGI app; schemathesis types it more narrowly than FastAPI's
    with asgi.get_client(application) as client:
        product = _create(
            client, "/api/products", {"name": "Mug", "price": 12.5, "inventory": 10**6}, headers
        )
        customer = _create(client, "/api/customers", {"name": "Ann"}, headers)
        order = _create(
            client,
            "/api/orders",
            {"customer_id": customer, "items": [{"product_id": product, "quantity": 1}]},
            headers,
        )
        notification = _create(
            client, "/api/notifications", {"message": "hi", "channel": "slack"}, headers
        )
        task = _create(client, "/api/tasks", {"title": "Call Ann"}, headers)
    real_ids = {
        "product_id": product,
        "customer_id": customer,
        "order_id": order,
        "notification_id": notification,
        "task_id": task,
    }
    try:
        yield Fuzzed(app, headers, real_ids)
    finally:
        # Ends the app's lifespan (its engine) before the session drops the test database.
        asgi.shutdown_lifespans()


def test_every_platform_operation_is_fuzzed(fuzzed: Fuzzed) -> None:
    results = list(fuzzed.schema.get_all_operations())
    assert [result.err() for result in results if isinstance(result, Err)] == []
    documented = {
        (result.ok().method.upper(), result.ok().path)
        for result in results
        if isinstance(result, Ok)
    }
    assert documented == set(OPERATIONS)


def _fuzz(fuzzed: Fuzzed, method: str, path: str, strategy: st.SearchStrategy[Any]) -> None:
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(headers=fuzzed.headers, checks=CHECKS)

    del method, path
    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms_to_its_schema(
    fuzzed: Fuzzed, method: str, path: str, mode: GenerationMode
) -> None:
    operation = fuzzed.schema[path][method]
    _fuzz(fuzzed, method, path, operation.as_strategy(generation_mode=mode))


PATH_OPERATIONS = [(method, path) for method, path in OPERATIONS if "{" in path]


@pytest.mark.parametrize(
    ("method", "path"), PATH_OPERATIONS, ids=[f"{m} {p}" for m, p in PATH_OPERATIONS]
)
def test_operation_on_a_real_object_conforms_to_its_schema(
    fuzzed: Fuzzed, method: str, path: str
) -> None:
    operation = fuzzed.schema[path][method]
    name = path.split("{", 1)[1].split("}", 1)[0]
    strategy = operation.as_strategy(path_parameters={name: fuzzed.real_ids[name]})
    _fuzz(fuzzed, method, path, strategy)
