from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from bettercallsold.db.session import SessionDep
from bettercallsold.http.pagination import Page, PageDep
from bettercallsold.platform.customers import service
from bettercallsold.platform.customers.schemas import CustomerCreate, CustomerOut, CustomerUpdate
from bettercallsold.platform.once import answered, perform_once
from bettercallsold.platform.responses import AUTH, AUTH_404, WRITE, WRITE_404
from bettercallsold.tenancy.auth import TenantDep

router = APIRouter(prefix="/api/customers", tags=["customers"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=WRITE, response_model=CustomerOut)
async def create_customer(
    body: CustomerCreate, session: SessionDep, context: TenantDep
) -> CustomerOut | JSONResponse:
    """Create a customer; emits `customer.created`."""
    return answered(
        await perform_once(
            session, context, lambda: service.create_customer(session, context, body)
        )
    )


@router.get("", responses=AUTH)
async def list_customers(
    session: SessionDep, context: TenantDep, page: PageDep
) -> Page[CustomerOut]:
    """The tenant's customers, newest first."""
    items, cursor = await service.list_customers(session, context, page)
    return Page(items=items, next_cursor=cursor)


@router.get("/{customer_id}", responses=AUTH_404)
async def get_customer(
    customer_id: uuid.UUID, session: SessionDep, context: TenantDep
) -> CustomerOut:
    return await service.get_customer(session, context, customer_id)


@router.put("/{customer_id}", responses=WRITE_404, response_model=CustomerOut)
async def update_customer(
    customer_id: uuid.UUID, body: CustomerUpdate, session: SessionDep, context: TenantDep
) -> CustomerOut | JSONResponse:
    """Change any subset of the fields; emits `customer.updated`."""
    return answered(
        await perform_once(
            session,
            context,
            lambda: service.update_customer(session, context, customer_id, body),
        )
    )
