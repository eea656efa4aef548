"""The automation plugin's HTTP API (`/plugins/automation/...`): HTTP only, one service call
per route. Flows and executions are the caller's tenant's (Bearer API token); the webhook is
the event bus's (Standard Webhooks signature); the catalogue is public data."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi import status as http_status
from pydantic import BaseModel

from bettercallsold.automation import dryrun, executions, flows, intake
from bettercallsold.automation.palette import describe_catalogue
from bettercallsold.automation.schemas import (
    CatalogueOut,
    DryRunOut,
    DryRunRequest,
    ExecutionOut,
    ExecutionPage,
    ExecutionStatus,
    FlowCreate,
    FlowOut,
    FlowPage,
    FlowStatus,
    FlowUpdate,
    WebhookAccepted,
)
from bettercallsold.db.session import RuntimeDep, SessionDep
from bettercallsold.pagination import PageDep
from bettercallsold.tenancy.auth import TenantDep
from bettercallsold.types import utcnow

router = APIRouter(prefix="/plugins/automation", tags=["automation"])


class ErrorOut(BaseModel):
    detail: str


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Documented error answers; FastAPI adds its own 422 (our 422s share its schema, each
    detail naming the step id and the field)."""
    described = {
        401: "missing or invalid credentials",
        404: "not found (or another tenant's)",
    }
    return {code: {"model": ErrorOut, "description": described[code]} for code in codes}


_VALIDATION_ERROR = {"$ref": "#/components/schemas/HTTPValidationError"}


@router.post(
    "/webhook",
    status_code=http_status.HTTP_202_ACCEPTED,
    responses={
        401: {"model": ErrorOut, "description": "bad or stale signature"},
        422: {
            "description": "signed, but not an event envelope",
            "content": {"application/json": {"schema": _VALIDATION_ERROR}},
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": intake.envelope_schema()}},
        }
    },
)
async def receive_webhook(
    request: Request, session: SessionDep, runtime: RuntimeDep
) -> WebhookAccepted:
    """A platform event from the event bus (Standard Webhooks signed); its flows run later."""
    body = await request.body()
    return await intake.accept_webhook(session, runtime.settings, body, request.headers)


@router.get("/catalogue")
async def get_catalogue() -> CatalogueOut:
    """Action types with their payload schemas, event types with a sample payload each, the
    condition operators and flow statuses. Public: the same for every tenant."""
    return describe_catalogue()


@router.post("/flows", status_code=http_status.HTTP_201_CREATED, responses=_errors(401))
async def create_flow(body: FlowCreate, session: SessionDep, context: TenantDep) -> FlowOut:
    """Create a flow; its definition is validated (a 422 names the step id and the field)."""
    return await flows.create_flow(session, context.tenant_id, body)


@router.get("/flows", responses=_errors(401))
async def list_flows(
    session: SessionDep,
    context: TenantDep,
    page: PageDep,
    status: Annotated[FlowStatus | None, Query()] = None,
    trigger_event: Annotated[str | None, Query()] = None,
) -> FlowPage:
    """The tenant's flows, newest first, with their run counts."""
    return await flows.list_flows(
        session, context.tenant_id, page, status=status, trigger_event=trigger_event
    )


@router.get("/flows/{flow_id}", responses=_errors(401, 404))
async def get_flow(flow_id: uuid.UUID, session: SessionDep, context: TenantDep) -> FlowOut:
    return await flows.get_flow(session, context.tenant_id, flow_id)


@router.put("/flows/{flow_id}", responses=_errors(401, 404))
async def update_flow(
    flow_id: uuid.UUID, body: FlowUpdate, session: SessionDep, context: TenantDep
) -> FlowOut:
    """Change any subset of the fields (`status` pauses or activates); validated as a whole."""
    return await flows.update_flow(session, context.tenant_id, flow_id, body)


@router.delete(
    "/flows/{flow_id}", status_code=http_status.HTTP_204_NO_CONTENT, responses=_errors(401, 404)
)
async def delete_flow(flow_id: uuid.UUID, session: SessionDep, context: TenantDep) -> Response:
    """Delete a flow; its executions are kept (with `flow_id` null)."""
    await flows.delete_flow(session, context.tenant_id, flow_id)
    return Response(status_code=http_status.HTTP_204_NO_CONTENT)


@router.post("/flows/{flow_id}/pause", responses=_errors(401, 404))
async def pause_flow(flow_id: uuid.UUID, session: SessionDep, context: TenantDep) -> FlowOut:
    """Stop starting the flow on new events (`status: paused`)."""
    return await flows.set_status(session, context.tenant_id, flow_id, "paused")


@router.post("/flows/{flow_id}/activate", responses=_errors(401, 404))
async def activate_flow(flow_id: uuid.UUID, session: SessionDep, context: TenantDep) -> FlowOut:
    """Start the flow on new events (`status: active`)."""
    return await flows.set_status(session, context.tenant_id, flow_id, "active")


@router.post("/flows/{flow_id}/test", responses=_errors(401, 404))
async def test_flow(
    flow_id: uuid.UUID, body: DryRunRequest, session: SessionDep, context: TenantDep
) -> DryRunOut:
    """A dry run against a payload: the verdicts and rendered payloads; nothing is sent or
    recorded."""
    return await dryrun.dry_run(session, context.tenant_id, flow_id, body, utcnow())


@router.get("/executions", responses=_errors(401))
async def list_executions(
    session: SessionDep,
    context: TenantDep,
    page: PageDep,
    flow_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[ExecutionStatus | None, Query()] = None,
) -> ExecutionPage:
    """The tenant's executions, newest first; each row is what the detail answers, event-log
    rows included."""
    return await executions.list_executions(
        session, context.tenant_id, page, flow_id=flow_id, status=status
    )


@router.get("/executions/{execution_id}", responses=_errors(401, 404))
async def get_execution(
    execution_id: uuid.UUID, session: SessionDep, context: TenantDep
) -> ExecutionOut:
    """One execution with its verdicts, rendered payloads, results and event-log rows."""
    return await executions.get_execution(session, context.tenant_id, execution_id)
