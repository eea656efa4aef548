from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse

from bettercallsold.db.session import SessionDep
from bettercallsold.http.pagination import Page, PageDep
from bettercallsold.platform.once import answered, perform_once
from bettercallsold.platform.products import service
from bettercallsold.platform.products.schemas import ProductCreate, ProductOut, ProductUpdate
from bettercallsold.platform.responses import AUTH, AUTH_404, errors
from bettercallsold.tenancy.auth import TenantDep

router = APIRouter(prefix="/api/products", tags=["products"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 401, 409),
    response_model=ProductOut,
)
async def create_product(
    body: ProductCreate, session: SessionDep, context: TenantDep
) -> ProductOut | JSONResponse:
    """Create a product; emits `product.created`."""
    return answered(
        await perform_once(session, context, lambda: service.create_product(session, context, body))
    )


@router.get("", responses=AUTH)
async def list_products(session: SessionDep, context: TenantDep, page: PageDep) -> Page[ProductOut]:
    """The tenant's products, newest first."""
    items, cursor = await service.list_products(session, context, page)
    return Page(items=items, next_cursor=cursor)


@router.get("/{product_id}", responses=AUTH_404)
async def get_product(product_id: uuid.UUID, session: SessionDep, context: TenantDep) -> ProductOut:
    return await service.get_product(session, context, product_id)


@router.put("/{product_id}", responses=errors(400, 401, 404, 409), response_model=ProductOut)
async def update_product(
    product_id: uuid.UUID, body: ProductUpdate, session: SessionDep, context: TenantDep
) -> ProductOut | JSONResponse:
    """Change any subset of the fields; emits `product.updated`."""
    return answered(
        await perform_once(
            session, context, lambda: service.update_product(session, context, product_id, body)
        )
    )


@router.delete("/{product_id}", status_code=status.HTTP_204_NO_CONTENT, responses=AUTH_404)
async def delete_product(
    product_id: uuid.UUID, session: SessionDep, context: TenantDep
) -> Response:
    """Delete a product; emits `product.deleted` with its last state."""
    done = await perform_once(
        session, context, lambda: service.delete_product(session, context, product_id)
    )
    replayed = answered(done)
    return replayed if isinstance(replayed, JSONResponse) else Response(status_code=204)
