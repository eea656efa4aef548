"""The platform's port for a co-located event receiver: its write routes as function calls.

Each operation is named as its HTTP route (`POST /api/tasks`, `PUT /api/products/:id`) and does
what the route does: the body validated by the route's own model (from JSON, as the route
reads it), the same service, the same event with the caller's causation and action key, the
same answer (status and JSON body). What differs is what the HTTP path costs and this does
not: no request, no signed assertion, no session or commit of its own. The call joins the
caller's transaction under a savepoint, so a refused call (a 404, a 409, a 422) leaves nothing
written while the caller's other work stands.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.errors import BCSError, Unprocessable
from bettercallsold.platform.customers import service as customers
from bettercallsold.platform.customers.schemas import CustomerCreate, CustomerUpdate
from bettercallsold.platform.notifications import service as notifications
from bettercallsold.platform.notifications.providers import OutgoingMessage
from bettercallsold.platform.notifications.schemas import (
    ChannelMessageCreate,
    EmailCreate,
    SmsCreate,
)
from bettercallsold.platform.once import REPLAYED_HEADERS, Replayed, perform_once
from bettercallsold.platform.orders import service as orders
from bettercallsold.platform.orders.schemas import OrderCreate, OrderStatusUpdate
from bettercallsold.platform.products import service as products
from bettercallsold.platform.products.schemas import ProductCreate, ProductUpdate
from bettercallsold.platform.tasks import service as tasks
from bettercallsold.platform.tasks.schemas import TaskAssign, TaskCreate
from bettercallsold.ports import PlatformAnswer, PlatformCall
from bettercallsold.types import TenantContext

logger = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, TenantContext, uuid.UUID | None, Any], Awaitable[Any]]
"""(session, context, the path's id, the validated body) → the route's result (None: 204)."""


@dataclass(frozen=True, slots=True)
class _Operation:
    status: int
    body_model: type[BaseModel] | None
    id_name: str | None
    """The route's path parameter (`product_id`), for a 422 naming it as the route would."""
    handler: Handler


async def _send(
    session: AsyncSession, context: TenantContext, message: OutgoingMessage
) -> BaseModel:
    return await notifications.send_notification(session, context, message)


async def _email(session: AsyncSession, c: TenantContext, _: object, b: EmailCreate) -> Any:
    return await _send(session, c, OutgoingMessage("email", b.to, b.subject, b.body, b.template))


async def _sms(session: AsyncSession, c: TenantContext, _: object, b: SmsCreate) -> Any:
    return await _send(session, c, OutgoingMessage("sms", b.to, None, b.message, None))


async def _channel(
    session: AsyncSession, c: TenantContext, _: object, b: ChannelMessageCreate
) -> Any:
    return await _send(session, c, OutgoingMessage(b.channel, b.to, None, b.message, None))


def _created(create: Callable[[AsyncSession, TenantContext, Any], Awaitable[Any]]) -> Handler:
    async def handler(session: AsyncSession, c: TenantContext, _: object, body: Any) -> Any:
        return await create(session, c, body)

    return handler


def _on_id(change: Callable[..., Awaitable[Any]], *, with_body: bool = True) -> Handler:
    async def handler(
        session: AsyncSession, c: TenantContext, item_id: uuid.UUID | None, body: Any
    ) -> Any:
        if with_body:
            return await change(session, c, item_id, body)
        return await change(session, c, item_id)

    return handler


_OPERATIONS: dict[tuple[str, str], _Operation] = {
    ("POST", "/api/products"): _Operation(
        201, ProductCreate, None, _created(products.create_product)
    ),
    ("PUT", "/api/products/:id"): _Operation(
        200, ProductUpdate, "product_id", _on_id(products.update_product)
    ),
    ("DELETE", "/api/products/:id"): _Operation(
        204, None, "product_id", _on_id(products.delete_product, with_body=False)
    ),
    ("POST", "/api/customers"): _Operation(
        201, CustomerCreate, None, _created(customers.create_customer)
    ),
    ("PUT", "/api/customers/:id"): _Operation(
        200, CustomerUpdate, "customer_id", _on_id(customers.update_customer)
    ),
    ("POST", "/api/orders"): _Operation(201, OrderCreate, None, _created(orders.create_order)),
    ("PUT", "/api/orders/:id/status"): _Operation(
        200, OrderStatusUpdate, "order_id", _on_id(orders.change_status)
    ),
    ("POST", "/api/notifications/email"): _Operation(201, EmailCreate, None, _email),
    ("POST", "/api/notifications/sms"): _Operation(201, SmsCreate, None, _sms),
    ("POST", "/api/notifications"): _Operation(201, ChannelMessageCreate, None, _channel),
    ("POST", "/api/tasks"): _Operation(201, TaskCreate, None, _created(tasks.create_task)),
    ("POST", "/api/tasks/:id/assign"): _Operation(
        200, TaskAssign, "task_id", _on_id(tasks.assign_task)
    ),
}

_UUID = TypeAdapter(uuid.UUID)


def operations() -> frozenset[tuple[str, str]]:
    """Every (method, path) this port serves: the event receiver's catalogue is checked
    against it at start, so an action can never name a route that has no operation."""
    return frozenset(_OPERATIONS)


class InProcessPlatform:
    """`PlatformOperations` for a receiver in the same process."""

    async def call(
        self, session: AsyncSession, context: TenantContext, call: PlatformCall
    ) -> PlatformAnswer:
        operation = _OPERATIONS.get((call.method, call.path))
        if operation is None:
            return PlatformAnswer(404, {"detail": "Not Found"})
        try:
            item_id = _path_id(operation, call.resource_id)
            body = _body(operation, call.body)
            async with session.begin_nested():
                done = await perform_once(
                    session,
                    context,
                    lambda: operation.handler(session, context, item_id, body),
                    look_for_committed=False,
                )
        except _Refused as refused:
            return refused.answer
        except Unprocessable as exc:
            return PlatformAnswer(exc.status_code, {"detail": exc.detail()})
        except BCSError as exc:
            return PlatformAnswer(exc.status_code, {"detail": exc.message})
        except (OperationalError, InterfaceError):
            raise  # the connection is gone: the caller's whole transaction is, and is retried
        except Exception:
            # A platform bug: a 500, as its route would answer. The savepoint is rolled back;
            # the caller's other actions stand, as over HTTP.
            logger.exception("platform operation failed: %s %s", call.method, call.path)
            return PlatformAnswer(500, {"detail": "Internal Server Error"})
        if isinstance(done, Replayed):
            return PlatformAnswer(200, done.resource, REPLAYED_HEADERS)
        result = done
        if result is None:
            return PlatformAnswer(operation.status)
        answer = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
        return PlatformAnswer(operation.status, answer)


class _Refused(Exception):
    def __init__(self, answer: PlatformAnswer) -> None:
        super().__init__(answer.status)
        self.answer = answer


def _path_id(operation: _Operation, resource_id: str | None) -> uuid.UUID | None:
    if operation.id_name is None:
        return None
    try:
        return _UUID.validate_python(resource_id)
    except ValidationError as exc:
        raise _Refused(_validation_answer(exc, ("path", operation.id_name))) from exc


def _body(operation: _Operation, body: Any) -> BaseModel | None:
    """The body as the route reads it: from JSON text, so strictness and coercions match."""
    if operation.body_model is None:
        return None
    try:
        text = json.dumps(body, allow_nan=False)
    except ValueError as exc:
        problem = {"loc": ["body"], "msg": "JSON has no NaN or Infinity", "type": "json_invalid"}
        raise _Refused(PlatformAnswer(422, {"detail": [problem]})) from exc
    try:
        return operation.body_model.model_validate_json(text)
    except ValidationError as exc:
        raise _Refused(_validation_answer(exc, ("body",))) from exc


def _validation_answer(exc: ValidationError, prefix: tuple[str, ...]) -> PlatformAnswer:
    detail = [
        {"loc": [*prefix, *error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in exc.errors(include_url=False, include_input=False)
    ]
    return PlatformAnswer(422, {"detail": detail})
