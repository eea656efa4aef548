"""Customer use cases: each write records its platform event in the same transaction."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.bus.outbox import record_event
from bettercallsold.http.pagination import PageRequest
from bettercallsold.platform.customers.models import Customer
from bettercallsold.platform.customers.schemas import CustomerCreate, CustomerOut, CustomerUpdate
from bettercallsold.platform.ownership import apply_changes, get_owned, list_owned
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
    return await list_owned(session, Customer, CustomerOut, context.tenant_id, page)


async def update_customer(
    session: AsyncSession, context: TenantContext, customer_id: uuid.UUID, body: CustomerUpdate
) -> CustomerOut:
    customer = await get_owned(session, Customer, context.tenant_id, customer_id, for_update=True)
    changed = apply_changes(customer, body.model_dump(exclude_unset=True))
    await session.flush()
    await session.refresh(customer)
    out = CustomerOut.model_validate(customer)
    payload = customer_event_payload(out)
    payload["changed_fields"] = changed
    await record_event(session, context, "customer.updated", payload)
    return out
