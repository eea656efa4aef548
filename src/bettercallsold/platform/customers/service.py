"""Customer use cases: each write records its platform event in the same transaction."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.bus.outbox import record_event
from bettercallsold.http.pagination import PageRequest, page_of, paginate
from bettercallsold.platform.customers.models import Customer
from bettercallsold.platform.customers.schemas import CustomerCreate, CustomerOut, CustomerUpdate
from bettercallsold.platform.ownership import get_owned
from bettercallsold.platform.rows import insert_row
from bettercallsold.types import TenantContext


def customer_event_payload(customer: CustomerOut) -> dict[str, object]:
    payload = customer.model_dump(mode="json")
    payload["customer_id"] = payload["id"]
    return payload


async def create_customer(
    session: AsyncSession, context: TenantContext, body: CustomerCreate
) -> CustomerOut:
    values = {"id": uuid.uuid4(), "tenant_id": context.tenant_id, **body.model_dump()}
    out = CustomerOut.model_validate(await insert_row(session, Customer, values))
    await record_event(session, context, "customer.created", customer_event_payload(out))
    return out


async def get_customer(
    session: AsyncSession, context: TenantContext, customer_id: uuid.UUID
) -> CustomerOut:
    return CustomerOut.model_validate(
        await get_owned(session, Customer, context.tenant_id, customer_id)
    )


async def list_customers(
    session: AsyncSession, context: TenantContext, page: PageRequest
) -> tuple[list[CustomerOut], str | None]:
    statement = paginate(
        select(Customer).where(Customer.tenant_id == context.tenant_id),
        page,
        Customer.created_at,
        Customer.id,
    )
    rows, cursor = page_of((await session.scalars(statement)).all(), page)
    return [CustomerOut.model_validate(row) for row in rows], cursor


async def update_customer(
    session: AsyncSession, context: TenantContext, customer_id: uuid.UUID, body: CustomerUpdate
) -> CustomerOut:
    customer = await get_owned(session, Customer, context.tenant_id, customer_id, for_update=True)
    changes = body.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None and field == "tags":
            value = []  # null clears what can be cleared (a null name or price is a 422)
        setattr(customer, field, value)
    await session.flush()
    await session.refresh(customer)
    out = CustomerOut.model_validate(customer)
    payload = customer_event_payload(out)
    payload["changed_fields"] = sorted(changes)
    await record_event(session, context, "customer.updated", payload)
    return out
