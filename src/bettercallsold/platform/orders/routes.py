from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from bettercallsold.db.session import SessionDep
from bettercallsold.http.pagination import Page, PageDep
from bettercallsold.platform.once import answered, perform_once
from bettercallsold.platform.orders import service
from bettercallsold.platform.orders.schemas import OrderCreate, OrderOut, OrderStatusUpdate
from bettercallsold.platform.responses import AUTH, AUTH_404, WRITE, errors
from bettercallsold.tenancy.auth import TenantDep

router = APIRouter(prefix="/api/orders", tags=["orders"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=WRITE, response_model=OrderOut)
async def create_order(
    body: OrderCreate, session: SessionDep, context: TenantDep
) -> OrderOut | JSONResponse:
    """Create a pending order; its total is computed from the products' current prices.
    Tracked inventory is reserved. Emits `order.created`."""
    return answered(
        await perform_once(session, context, lambda: service.create_order(session, context, body))
    )


@router.get("", responses=AUTH)
async def list_orders(session: SessionDep, context: TenantDep, page: PageDep) -> Page[OrderOut]:
    """The tenant's orders, newest first."""
    items, cursor = await service.list_orders(session, context, page)
    return Page(items=items, next_cursor=cursor)


@router.get("/{order_id}", responses=AUTH_404)
async def get_order(order_id: uuid.UUID, session: SessionDep, context: TenantDep) -> OrderOut:
    return await service.get_order(session, context, order_id)


@router.put("/{order_id}/status", responses=errors(400, 401, 404, 409), response_model=OrderOut)
async def change_order_status(
    order_id: uuid.UUID, body: OrderStatusUpdate, session: SessionDep, context: TenantDep
) -> OrderOut | JSONResponse:
    """Move the order along `pending → paid → fulfilled → delivered` (or to `cancelled` from
    pending or paid); any other move is a 409. Emits `order.status_changed`."""
    return answered(
        await perform_once(
            session, context, lambda: service.change_status(session, context, order_id, body)
        )
    )
