"""The automation plugin's HTTP API (`/plugins/automation/...`): HTTP only, one service call
per route. Flows and executions are the caller's tenant's (Bearer API token); the webhook is
the event bus's (Standard Webhooks signature); the catalogue is public data."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi import status as http_status

from bettercallsold.automation import (
    control,
    dryrun,
    executions,
    flows,
    insights,
    intake,
    replay,
    rerun,
    versions,
)
from bettercallsold.automation.palette import describe_catalogue
from bettercallsold.automation.schemas import (
    CatalogueOut,
    DryRunOut,
    DryRunRequest,
    ExecutionOut,
    ExecutionPage,
    ExecutionStarted,
    ExecutionStatus,
    FlowCreate,
    FlowOut,
    FlowPage,
    FlowStatus,
    FlowUpdate,
    FlowVersionOut,
    FlowVersionPage,
    InsightsOut,
    ReplayOut,
    ReplayRequest,
    RerunRequest,
    RunRequest,
    WebhookAccepted,
)
from bettercallsold.db.session import RuntimeDep, SessionDep
from bettercallsold.http.pagination import PageDep
from bettercallsold.http.schemas import ErrorOut
from bettercallsold.tenancy.auth import TenantDep
from bettercallsold.types import utcnow

router = APIRouter(prefix="/plugins/automation", tags=["automation"])


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Documented error answers; FastAPI adds its own 422 (our 422s share its schema, each
    detail naming the step id and the field)."""
    described = {
        401: "missing or invalid credentials",
        404: "not found (or another tenant's)",
        409: "not in a state that allows it",
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
    flow_id: uuid.UUID,
    body: DryRunRequest,
    session: SessionDep,
    context: TenantDep,
    runtime: RuntimeDep,
) -> DryRunOut:
    """A dry run against a payload: the verdicts and rendered payloads; nothing is sent or
    recorded."""
    limit = runtime.settings.max_for_each_items
    return await dryrun.dry_run(session, context.tenant_id, flow_id, body, utcnow(), limit)


@router.post(
    "/flows/{flow_id}/replay",
    responses={
        **_errors(401, 404),
        502: {"model": ErrorOut, "description": "the stored events could not be read"},
    },
)
async def replay_flow(
    flow_id: uuid.UUID,
    body: ReplayRequest,
    session: SessionDep,
    context: TenantDep,
    runtime: RuntimeDep,
) -> ReplayOut:
    """Replay against history: a dry run of `flow_definition` (default: the flow's latest
    version) on each of the tenant's stored events of the flow's trigger type, newest first,
    beside what the flow really did for it (`before`), `changed` when the actions differ.
    Nothing is performed or recorded; the whole replay has a bounded budget (`error` says
    where it stopped if it ran out)."""
    return await replay.replay(runtime, session, context.tenant_id, flow_id, body)


@router.get("/flows/{flow_id}/versions", responses=_errors(401, 404))
async def list_flow_versions(
    flow_id: uuid.UUID, session: SessionDep, context: TenantDep, page: versions.VersionPageDep
) -> FlowVersionPage:
    """Every saved state of the flow, newest first: each create, and each change of its name,
    trigger or definition, is a version; a status change is not."""
    return await versions.list_versions(session, context.tenant_id, flow_id, page)


@router.get("/flows/{flow_id}/versions/{version}", responses=_errors(401, 404))
async def get_flow_version(
    flow_id: uuid.UUID, version: int, session: SessionDep, context: TenantDep
) -> FlowVersionOut:
    """One version of the flow (a 404 if the flow never had that number)."""
    return await versions.get_version(session, context.tenant_id, flow_id, version)


@router.post("/flows/{flow_id}/versions/{version}/restore", responses=_errors(401, 404))
async def restore_flow_version(
    flow_id: uuid.UUID, version: int, session: SessionDep, context: TenantDep
) -> FlowOut:
    """Make that version's content the flow's again, as a new version; the status is kept."""
    return await flows.restore_version(session, context.tenant_id, flow_id, version)


@router.get("/insights", responses=_errors(401, 404))
async def get_insights(
    session: SessionDep,
    context: TenantDep,
    flow_id: Annotated[
        uuid.UUID | None, Query(description="one flow's executions; omitted: the tenant's")
    ] = None,
    hours: Annotated[
        int, Query(ge=1, le=insights.MAX_HOURS, description="the window: the last N UTC hours")
    ] = 24,
) -> InsightsOut:
    """Hourly counts by status (oldest first, empty hours as zeros), the p50/p95 duration of
    the finished executions and the most frequent errors, over the executions started in the
    window."""
    return await insights.insights(
        session, context.tenant_id, utcnow(), hours=hours, flow_id=flow_id
    )


@router.get("/executions", responses=_errors(401))
async def list_executions(
    session: SessionDep,
    runtime: RuntimeDep,
    context: TenantDep,
    page: PageDep,
    flow_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[ExecutionStatus | None, Query()] = None,
    since: Annotated[
        datetime | None, Query(description="started at or after (ISO 8601; no offset: UTC)")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="started before (ISO 8601; no offset: UTC)")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="a value of the trigger data, exact but case-insensitive: an email, "
            "an order id, a name (any string or number, at any depth)",
        ),
    ] = None,
) -> ExecutionPage:
    """The tenant's executions, newest first, matching every filter given; each row is what
    the detail answers, event-log rows included."""
    return await executions.list_executions(
        session,
        context.tenant_id,
        page,
        action_log=executions.action_log_of(runtime),
        flow_id=flow_id,
        status=status,
        since=since,
        until=until,
        q=q,
    )


@router.post(
    "/flows/{flow_id}/run",
    status_code=http_status.HTTP_202_ACCEPTED,
    responses=_errors(401, 404),
)
async def run_flow(
    flow_id: uuid.UUID, body: RunRequest, session: SessionDep, context: TenantDep
) -> ExecutionStarted:
    """Run now: a real execution of the flow's latest version on the given trigger data,
    whatever the flow's status (a draft or a paused flow too); a worker runs it at once."""
    execution_id = await control.run_now(session, context.tenant_id, flow_id, body.payload)
    return ExecutionStarted(execution_id=execution_id)


@router.post(
    "/executions/{execution_id}/resume",
    status_code=http_status.HTTP_202_ACCEPTED,
    responses=_errors(401, 404, 409),
)
async def resume_execution(
    execution_id: uuid.UUID, session: SessionDep, context: TenantDep
) -> ExecutionStarted:
    """End a waiting execution's wait now (409 if it is not waiting): it goes on at once."""
    await control.resume_now(session, context.tenant_id, execution_id)
    return ExecutionStarted(execution_id=execution_id)


@router.post(
    "/executions/{execution_id}/rerun",
    status_code=http_status.HTTP_202_ACCEPTED,
    responses=_errors(401, 404, 409),
)
async def rerun_execution(
    execution_id: uuid.UUID, body: RerunRequest, session: SessionDep, context: TenantDep
) -> ExecutionStarted:
    """Re-run: a new execution (`rerun_of` this one) of the flow's latest version on the same
    trigger data, run by a worker at once; its actions carry new idempotency keys. With
    `from_failed` (a `failed` or `completed_with_errors` execution only, else 409) the actions
    that succeeded are reused, not performed again (`reused: true` in its steps and results),
    and the run goes on from the first failed step. A 404 if the flow was deleted."""
    started = await rerun.rerun(
        session, context.tenant_id, execution_id, from_failed=body.from_failed, now=utcnow()
    )
    return ExecutionStarted(execution_id=started)


@router.get("/executions/{execution_id}", responses=_errors(401, 404))
async def get_execution(
    execution_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, context: TenantDep
) -> ExecutionOut:
    """One execution with its verdicts, rendered payloads, results and event-log rows."""
    log = executions.action_log_of(runtime)
    return await executions.get_execution(session, context.tenant_id, execution_id, log)
