"""Product use cases: each write records its platform event in the same transaction."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.bus.outbox import record_event
from bettercallsold.errors import Conflict
from bettercallsold.http.pagination import PageRequest
from bettercallsold.platform.ownership import apply_changes, get_owned, list_owned
from bettercallsold.platform.products.models import Product
from bettercallsold.platform.products.schemas import ProductCreate, ProductOut, ProductUpdate
from bettercallsold.types import TenantContext


class DuplicateSku(Conflict):
    """Another product of this tenant has this SKU."""


def product_event_payload(product: ProductOut) -> dict[str, object]:
    payload = product.model_dump(mode="json")
    payload["product_id"] = payload["id"]
    return payload


async def _flush_product(session: AsyncSession) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise DuplicateSku() from exc


async def create_product(
    session: AsyncSession, context: TenantContext, body: ProductCreate
) -> ProductOut:
    product = Product(id=uuid.uuid4(), tenant_id=context.tenant_id, **body.model_dump())
    session.add(product)
    await _flush_product(session)
    await session.refresh(product)
    out = ProductOut.model_validate(product)
    await record_event(session, context, "product.created", product_event_payload(out))
    return out


async def get_product(
    session: AsyncSession, context: TenantContext, product_id: uuid.UUID
) -> ProductOut:
    return ProductOut.model_validate(
        await get_owned(session, Product, context.tenant_id, product_id)
    )


async def list_products(
    session: AsyncSession, context: TenantContext, page: PageRequest
) -> tuple[list[ProductOut], str | None]:
    return await list_owned(session, Product, ProductOut, context.tenant_id, page)


async def update_product(
    session: AsyncSession, context: TenantContext, product_id: uuid.UUID, body: ProductUpdate
) -> ProductOut:
    product = await get_owned(session, Product, context.tenant_id, product_id, for_update=True)
    changed = apply_changes(product, body.model_dump(exclude_unset=True))
    await _flush_product(session)
    await session.refresh(product)
    out = ProductOut.model_validate(product)
    payload = product_event_payload(out)
    payload["changed_fields"] = changed
    await record_event(session, context, "product.updated", payload)
    return out


async def delete_product(
    session: AsyncSession, context: TenantContext, product_id: uuid.UUID
) -> None:
    product = await get_owned(session, Product, context.tenant_id, product_id, for_update=True)
    out = ProductOut.model_validate(product)
    await session.delete(product)
    await session.flush()
    await record_event(session, context, "product.deleted", product_event_payload(out))
