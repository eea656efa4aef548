"""Request and response bodies of the plugin's API (the contract's shapes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bettercallsold.http.inputs import StorableModel

FlowStatus = Literal["active", "paused", "draft"]
ExecutionStatus = Literal[
    "running", "waiting", "completed", "completed_with_errors", "failed", "skipped", "cancelled"
]

_DEFINITION_DESCRIPTION = (
    '`{"steps": [...]}`: conditions `{id, type: "condition", field, operator, value?}` and '
    'actions `{id, type: "action", action_type, payload_template}`, run in order; validated '
    "on save (a problem is a 422 naming the step id and the field)"
)


_SCHEDULE_DESCRIPTION = (
    'with trigger_event "schedule": {"cron": 5-field cron, "timezone": IANA name, default UTC}'
)
_SCHEDULE_EXAMPLE = {"cron": "0 9 * * 1", "timezone": "Europe/Paris"}


class FlowCreate(StorableModel):
    name: str = Field(min_length=1, max_length=200)
    trigger_event: str = Field(min_length=1, max_length=64, examples=["customer.created"])
    flow_definition: dict[str, Any] = Field(description=_DEFINITION_DESCRIPTION)
    status: FlowStatus = "active"
    schedule: dict[str, Any] | None = Field(
        default=None, description=_SCHEDULE_DESCRIPTION, examples=[_SCHEDULE_EXAMPLE]
    )


class FlowUpdate(StorableModel):
    """Any subset of a flow's fields; the merged flow is validated as a whole."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    trigger_event: str | None = Field(default=None, min_length=1, max_length=64)
    flow_definition: dict[str, Any] | None = Field(
        default=None, description=_DEFINITION_DESCRIPTION
    )
    status: FlowStatus | None = None
    schedule: dict[str, Any] | None = Field(default=None, description=_SCHEDULE_DESCRIPTION)


class FlowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    trigger_event: str
    flow_definition: dict[str, Any]
    status: str = Field(description="`active`, `paused` or `draft` (saved, never started)")
    version: int = Field(description="the newest version (1, 2, ...): what new executions run")
    schedule: dict[str, Any] | None = Field(default=None, description=_SCHEDULE_DESCRIPTION)
    next_run_at: datetime | None = Field(
        default=None, description="a scheduled active flow's next due time (UTC)"
    )
    created_at: datetime
    updated_at: datetime


class FlowVersionOut(BaseModel):
    """One saved state of a flow, immutable."""

    model_config = ConfigDict(from_attributes=True)

    version: int
    created_at: datetime
    name: str
    trigger_event: str
    schedule: dict[str, Any] | None = Field(
        default=None, description='`{"cron", "timezone"}` of a scheduled flow, else null'
    )
    flow_definition: dict[str, Any]


class FlowVersionPage(BaseModel):
    items: list[FlowVersionOut] = Field(description="newest first")
    next_cursor: str | None


class FlowListItem(FlowOut):
    run_count: int = Field(default=0, description="executions recorded for this flow")
    run_counts: dict[str, int] = Field(default_factory=dict, description="executions per status")
    last_run_at: datetime | None = None
    last_status: str | None = Field(default=None, description="status of the newest execution")


class FlowPage(BaseModel):
    items: list[FlowListItem]
    next_cursor: str | None


class DryRunRequest(StorableModel):
    payload: dict[str, Any] | None = Field(
        default=None,
        description="the trigger payload to try; omitted: the catalogue's sample for the event",
    )
    flow_definition: dict[str, Any] | None = Field(
        default=None,
        description="a definition to try instead of the stored one (the builder's unsaved "
        "edits), validated as a save would be; omitted: the stored definition",
    )


class PlannedAction(BaseModel):
    action_type: str
    payload: Any


class DryRunOut(BaseModel):
    matched: bool = Field(description="every condition held: the actions would run")
    steps: list[dict[str, Any]] = Field(
        description='one per step reached: `{"id", "type", "passed"?, "payload"?, "error"?}`'
    )
    actions: list[PlannedAction]
    error: str | None = Field(
        default=None,
        description="why the run would fail or what its actions' errors are (null: none)",
    )


class EventLogOut(BaseModel):
    """One `automation_event_log` row: what the event receiver did with one action."""

    id: uuid.UUID
    step_id: str | None
    action_type: str
    payload: dict[str, Any]
    result: dict[str, Any] | None
    success: bool
    created_at: datetime


class ExecutionOut(BaseModel):
    """An execution as both the list and the detail show it: one model, so the OpenAPI document
    promises the list's rows everything the detail has (the contract gives them one shape)."""

    id: uuid.UUID
    flow_id: uuid.UUID | None
    status: str
    trigger_data: dict[str, Any]
    execution_results: list[Any] | None
    started_at: datetime
    completed_at: datetime | None
    error: str | None
    steps: list[dict[str, Any]] = Field(
        description="each condition's verdict (`passed`), each action's rendered `payload`"
    )
    event_id: str | None
    event_type: str | None
    causation_depth: int
    resume_at: datetime | None = Field(
        default=None, description="while `waiting`: when the execution goes on by itself"
    )
    flow_version: int | None = Field(
        description="the flow's version it ran (`GET .../flows/{flow_id}/versions/{n}`); null "
        "for executions recorded before versions"
    )
    rerun_of: uuid.UUID | None = Field(
        default=None,
        description="the execution this one re-runs (`POST .../executions/{id}/rerun`); null "
        'for an execution started by an event, a schedule or "run now"',
    )
    events: list[EventLogOut] = Field(description="what the event receiver did, in order")


class RunRequest(StorableModel):
    payload: dict[str, Any] = Field(
        default_factory=dict, description="the trigger data the execution runs on"
    )


class ExecutionStarted(BaseModel):
    execution_id: uuid.UUID


class ExecutionPage(BaseModel):
    items: list[ExecutionOut]
    next_cursor: str | None


class InsightBucket(BaseModel):
    start: datetime = Field(description="the hour's start (UTC)")
    completed: int
    completed_with_errors: int
    failed: int
    skipped: int


class DurationPercentiles(BaseModel):
    p50: float | None = Field(description="milliseconds; null when nothing finished")
    p95: float | None = Field(description="milliseconds; null when nothing finished")


class TopError(BaseModel):
    error: str
    count: int


class InsightsOut(BaseModel):
    buckets: list[InsightBucket] = Field(description="one per hour, oldest first, empty ones too")
    duration_ms: DurationPercentiles = Field(
        description="of the executions started in the window that finished"
    )
    top_errors: list[TopError] = Field(description="the most frequent errors, most first")


class EventSample(BaseModel):
    event_type: str
    sample_payload: dict[str, Any]


class OperatorOut(BaseModel):
    operator: str
    takes_value: bool


class CatalogueOut(BaseModel):
    actions: list[dict[str, Any]] = Field(description="each action type with its payload schema")
    events: list[EventSample]
    operators: list[OperatorOut]
    statuses: list[str] = Field(description="the statuses a flow may have")


class CausationIn(StorableModel):
    flow_execution_id: uuid.UUID | None = None
    depth: int = Field(default=0, ge=0, le=1_000_000)
    root_event_id: str | None = Field(default=None, max_length=40)


class EventEnvelope(StorableModel):
    """The webhook body of a platform event (see the contract's "Platform events")."""

    event_id: str = Field(min_length=1, max_length=40)  # the executions' event_id column
    event_type: str = Field(min_length=1, max_length=64)
    occurred_at: datetime | None = None
    tenant_id: uuid.UUID
    payload: dict[str, Any]
    causation: CausationIn = CausationIn()


class WebhookAccepted(BaseModel):
    accepted: bool = True
    event_id: str
    duplicate: bool = Field(
        default=False, description="this webhook-id (or event) was already received"
    )


class RerunRequest(StorableModel):
    from_failed: bool = Field(
        default=False,
        description="reuse the actions that succeeded (not performed again, shown `reused`) and "
        "go on from the first failed step; only for a `failed` or `completed_with_errors` "
        "execution (else 409). false: the whole flow again",
    )


class ReplayRequest(StorableModel):
    flow_definition: dict[str, Any] | None = Field(
        default=None,
        description="the definition to replay (the builder's draft), validated as a save would "
        "be; omitted: the flow's latest version",
    )
    limit: int = Field(
        default=50, ge=1, le=500, description="how many of the newest stored events to replay"
    )
    since: datetime | None = Field(
        default=None,
        description="only events that occurred at or after this instant (ISO 8601; no offset: UTC)",
    )


class PerformedAction(PlannedAction):
    success: bool | None = Field(
        default=None, description="what the event receiver answered (null: not known)"
    )


class ReplayBefore(BaseModel):
    """What the flow really did for the event."""

    execution_id: uuid.UUID
    status: str
    actions: list[PerformedAction] = Field(
        description="the actions it sent to the event receiver, in order (reused ones too)"
    )


class ReplayItem(BaseModel):
    event_id: str
    occurred_at: datetime
    matched: bool = Field(description="every condition held for this event: the actions would run")
    actions: list[PlannedAction] = Field(description="what the replayed definition would do")
    before: ReplayBefore | None = Field(
        description="this flow's execution for the event; null when it had none"
    )
    changed: bool = Field(
        description="the actions differ from `before`'s (type and payload, in order); with no "
        "`before`, whether the replay would act at all"
    )
    error: str | None = Field(
        default=None, description="why the replayed run would fail, or its actions' errors"
    )


class ReplayOut(BaseModel):
    items: list[ReplayItem] = Field(description="newest event first")
    error: str | None = Field(
        default=None,
        description="why the replay stopped before its last event (its total budget); null: "
        "every event was replayed",
    )
