"""Order use cases: totals computed from the products' prices, the status state machine."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.bus.outbox import record_event
from bettercallsold.errors import Conflict, Unprocessable
from bettercallsold.http.pagination import PageRequest, page_of, paginate
from bettercallsold.platform.customers.models import Customer
from bettercallsold.platform.money import MAX_MONEY
from bettercallsold.platform.orders.models import Order
from bettercallsold.platform.orders.schemas import OrderCreate, OrderOut, OrderStatusUpdate
from bettercallsold.platform.orders.status import OrderStatus, can_move
from bettercallsold.platform.ownership import get_owned
from bettercallsold.platform.products.models import Product
from bettercallsold.types import TenantContext


class ForbiddenStatusMove(Conflict):
    """This status change is not allowed from the order's current status."""


def order_event_payload(order: OrderOut) -> dict[str, Any]:
    payload = order.model_dump(mode="json")
    payload["order_id"] = payload["id"]
    return payload


async def create_order(
    session: AsyncSession, context: TenantContext, body: OrderCreate
) -> OrderOut:
    customer = await session.scalar(
        select(Customer.id).where(
            Customer.id == body.customer_id, Customer.tenant_id == context.tenant_id
        )
    )
    if customer is None:
        raise Unprocessable(["body", "customer_id"], "customer not found")
    wanted = {item.product_id for item in body.items}
    products = {
        product.id: product
        for product in await session.scalars(
            select(Product)
            .where(Product.id.in_(wanted), Product.tenant_id == context.tenant_id)
            .order_by(Product.id)
            .with_for_update()
        )
    }
    lines: list[dict[str, Any]] = []
    total = Decimal("0.00")
    for index, item in enumerate(body.items):
        product = products.get(item.product_id)
        if product is None:
            raise Unprocessable(["body", "items", index, "product_id"], "product not found")
        if product.inventory is not None:
            if product.inventory < item.quantity:
                raise Unprocessable(
                    ["body", "items", index, "quantity"],
                    f"only {product.inventory} in stock",
                )
            product.inventory -= item.quantity
        line_total = product.price * item.quantity
        total += line_total
        lines.append(
            {
                "product_id": str(product.id),
                "name": product.name,
                "sku": product.sku,
                "quantity": item.quantity,
                "unit_price": str(product.price),
                "line_total": str(line_total),
            }
        )
    if total > MAX_MONEY:
        # Checked before anything is stored: a bigger total fits neither the column nor `Money`.
        raise Unprocessable(["body", "items"], f"order total {total} exceeds {MAX_MONEY}")
    order = Order(
        id=uuid.uuid4(),
        tenant_id=context.tenant_id,
        customer_id=body.customer_id,
        status=OrderStatus.pending.value,
        total=total,
        items=lines,
    )
    session.add(order)
    await session.flush()
    await session.refresh(order)
    out = OrderOut.model_validate(order)
    await record_event(session, context, "order.created", order_event_payload(out))
    return out


async def get_order(session: AsyncSession, context: TenantContext, order_id: uuid.UUID) -> OrderOut:
    return OrderOut.model_validate(await get_owned(session, Order, context.tenant_id, order_id))


async def list_orders(
    session: AsyncSession, context: TenantContext, page: PageRequest
) -> tuple[list[OrderOut], str | None]:
    statement = paginate(
        select(Order).where(Order.tenant_id == context.tenant_id), page, Order.created_at, Order.id
    )
    rows, cursor = page_of((await session.scalars(statement)).all(), page)
    return [OrderOut.model_validate(row) for row in rows], cursor


async def change_status(
    session: AsyncSession, context: TenantContext, order_id: uuid.UUID, body: OrderStatusUpdate
) -> OrderOut:
    order = await get_owned(session, Order, context.tenant_id, order_id, for_update=True)
    current = OrderStatus(order.status)
    if not can_move(current, body.status):
        raise ForbiddenStatusMove(f"cannot move an order from {current} to {body.status}")
    order.status = body.status.value
    await session.flush()
    await session.refresh(order)
    out = OrderOut.model_validate(order)
    payload = order_event_payload(out)
    payload["from_status"] = current.value
    await record_event(session, context, "order.status_changed", payload)
    return out
