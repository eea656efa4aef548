from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from bettercallsold.db.session import SessionDep
from bettercallsold.http.pagination import Page, PageDep
from bettercallsold.platform.products import service
from bettercallsold.platform.products.schemas import ProductCreate, ProductOut, ProductUpdate
from bettercallsold.platform.responses import AUTH, AUTH_404, errors
from bettercallsold.tenancy.auth import TenantDep

router = APIRouter(prefix="/api/products", tags=["products"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(400, 401, 409))
async def create_product(
    body: ProductCreate, session: SessionDep, context: TenantDep
) -> ProductOut:
    """Create a product; emits `product.created`."""
    return await service.create_product(session, context, body)


@router.get("", responses=AUTH)
async def list_products(session: SessionDep, context: TenantDep, page: PageDep) -> Page[ProductOut]:
    """The tenant's products, newest first."""
    items, cursor = await service.list_products(session, context, page)
    return Page(items=items, next_cursor=cursor)


@router.get("/{product_id}", responses=AUTH_404)
async def get_product(product_id: uuid.UUID, session: SessionDep, context: TenantDep) -> ProductOut:
    return await service.get_product(session, context, product_id)


@router.put("/{product_id}", responses=errors(400, 401, 404, 409))
async def update_product(
    product_id: uuid.UUID, body: ProductUpdate, session: SessionDep, context: TenantDep
) -> ProductOut:
    """Change any subset of the fields; emits `product.updated`."""
    return await service.update_product(session, context, product_id, body)


@router.delete("/{product_id}", status_code=status.HTTP_204_NO_CONTENT, responses=AUTH_404)
async def delete_product(
    product_id: uuid.UUID, session: SessionDep, context: TenantDep
) -> Response:
    """Delete a product; emits `product.deleted` with its last state."""
    await service.delete_product(session, context, product_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
