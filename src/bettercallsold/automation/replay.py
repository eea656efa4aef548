"""`POST /plugins/automation/flows/{id}/replay`: what a flow (or a draft of it) would have done
on the events it already saw, beside what it really did.

Each of the tenant's stored events of the flow's trigger type (read from the bus through its
`EventHistory` port, never its tables) is dry-run exactly as `POST .../test` does (the same
engine, a simulated receiver, waits passed at once), and compared with the flow's execution for
that event (`before`): `changed` when the action lists differ, type and payload, in order.

So that an unchanged flow replays unchanged, each event is run as its execution ran: `now` is
the execution's start (else the event's time), and an action the execution performed with the
same type and payload under the same instance key answers with its real result, so
`{{steps.action_1.id}}` renders the real id, not the catalogue's sample.

Nothing is sent, stored or deferred. The cost is bounded: each event has an execution's budget
and the whole replay an allowance of `REPLAY_BUDGETS` of them, so 500 events of a flow that
exhausts its budget every time stop after a few hundred milliseconds, saying so (`error`); the
event loop is yielded between events, so other requests are served meanwhile.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation import repository
from bettercallsold.automation.budget import (
    MAX_ITERATIONS,
    MAX_LIST_ITEMS,
    MAX_OUTPUT_CHARS,
    Budget,
    BudgetExceeded,
)
from bettercallsold.automation.definition import FlowDefinition, off_the_loop, validate_flow
from bettercallsold.automation.dryrun import simulate_action
from bettercallsold.automation.engine import PreparedAction, RunOptions, Send, run_flow
from bettercallsold.automation.errors import FlowNotFound, InvalidFlow
from bettercallsold.automation.flows import problem_location
from bettercallsold.automation.history_client import HttpEventHistory
from bettercallsold.automation.models import AutomationExecution
from bettercallsold.automation.rerun import report_payloads
from bettercallsold.automation.schemas import (
    PerformedAction,
    PlannedAction,
    ReplayBefore,
    ReplayItem,
    ReplayOut,
    ReplayRequest,
)
from bettercallsold.ports import EventHistory, StoredEvent
from bettercallsold.runtime import Runtime
from bettercallsold.types import JSON

REPLAY_BUDGETS = 4
"""The whole replay may spend this many executions' budgets (`budget.py`), summed over its
events: one budget-busting run costs up to ~100 ms of the event loop."""


async def replay(
    runtime: Runtime,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    flow_id: uuid.UUID,
    body: ReplayRequest,
) -> ReplayOut:
    """Replay `body.flow_definition` (default: the flow's latest) on the tenant's newest
    `body.limit` events of the flow's trigger type since `body.since`.

    `FlowNotFound` (404) for another tenant's flow; `InvalidFlow` (422, naming the step id and
    the field) for a definition a save would refuse; `EventHistoryUnavailable` (502) when the
    bus's events cannot be read over HTTP.
    """
    flow = await repository.get_flow(session, tenant_id, flow_id)
    if flow is None:
        raise FlowNotFound()
    raw = body.flow_definition if body.flow_definition is not None else flow.flow_definition
    definition, problems = await off_the_loop(validate_flow, flow.trigger_event, raw)
    if definition is None or problems:
        raise InvalidFlow([(problem_location(p), p.message) for p in problems])
    since = body.since
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    events = await event_history(runtime).recent(
        session, tenant_id, flow.trigger_event, limit=body.limit, since=since
    )
    executions = await repository.executions_for_events(
        session, tenant_id, flow_id, [event.event_id for event in events]
    )
    befores = {event_id: Before.of(row) for event_id, row in executions.items()}
    return await replay_events(
        definition, events, befores, max_for_each_items=runtime.settings.max_for_each_items
    )


def event_history(runtime: Runtime) -> EventHistory:
    """The bus's port in process; its HTTP API when the platform runs elsewhere."""
    if runtime.ports.history is not None:
        return runtime.ports.history
    secret = runtime.settings.secret_key
    return HttpEventHistory(
        runtime.http,
        runtime.settings.platform_base_url(),
        secret.get_secret_value() if secret is not None else None,
    )


@dataclass(frozen=True)
class Before:
    """What the flow's execution for an event did: the actions it sent, with the results."""

    execution_id: uuid.UUID
    status: str
    started_at: datetime
    actions: list[PerformedAction]
    performed: dict[str, JSON] = field(default_factory=dict)
    """Instance key → `{action_type, payload, result}` of each action it sent."""

    @classmethod
    def of(cls, execution: AutomationExecution) -> Before:
        steps = [step for step in execution.steps or [] if isinstance(step, dict)]
        results = [r for r in execution.execution_results or [] if isinstance(r, dict)]
        payloads = report_payloads(results, steps)
        performed = {
            key: {"action_type": r.get("action_type"), "payload": payloads[key], "result": r}
            for r in results
            if isinstance(key := r.get("step_id"), str) and key in payloads
        }
        actions = [
            PerformedAction(
                action_type=str(step.get("action_type")),
                payload=step["payload"],
                success=bool(step["success"]),
            )
            for step in steps
            if step.get("type") == "action" and "payload" in step and "success" in step
        ]
        return cls(execution.id, execution.status, execution.started_at, actions, performed)

    def out(self) -> ReplayBefore:
        return ReplayBefore(
            execution_id=self.execution_id, status=self.status, actions=self.actions
        )


async def replay_events(
    definition: FlowDefinition,
    events: Sequence[StoredEvent],
    befores: Mapping[str, Before],
    *,
    max_for_each_items: int,
) -> ReplayOut:
    """Dry-run `definition` on each event, newest first, within the replay's allowance."""
    allowance = _Allowance()
    items: list[ReplayItem] = []
    for event in events:
        before = befores.get(event.event_id)
        now = before.started_at if before is not None else event.occurred_at
        options = RunOptions(
            clock=now,
            simulate_waits=True,
            max_for_each_items=max_for_each_items,
            budget=_EventBudget(allowance=allowance),
        )
        send = _replaying(before.performed if before is not None else {})
        outcome = await run_flow(definition, event.payload, now, send, options=options)
        actions = [
            PlannedAction(action_type=a.action_type, payload=a.payload) for a in outcome.sent
        ]
        items.append(
            ReplayItem(
                event_id=event.event_id,
                occurred_at=event.occurred_at,
                matched=outcome.matched,
                actions=actions,
                before=before.out() if before is not None else None,
                changed=_signature(actions) != _signature(before.actions if before else []),
                error=outcome.error,
            )
        )
        if allowance.exceeded is not None:
            return ReplayOut(items=items, error=allowance.exceeded)
        await asyncio.sleep(0)  # a long replay shares the event loop
    return ReplayOut(items=items)


def _signature(actions: Sequence[PlannedAction]) -> list[tuple[str, Any]]:
    return [(action.action_type, action.payload) for action in actions]


def _replaying(performed: Mapping[str, JSON]) -> Send:
    """The dry run's receiver, answering an action the real execution performed alike (same
    instance key, type and payload) with its real result."""

    async def send(batch: Sequence[PreparedAction]) -> list[JSON]:
        answers = []
        for action in batch:
            real = performed.get(action.step_id)
            if (
                real is not None
                and real["action_type"] == action.action_type
                and real["payload"] == action.payload
            ):
                answers.append({k: v for k, v in real["result"].items() if k != "step_id"})
            else:
                answers.append(simulate_action(action.action_type, action.payload))
        return answers

    return send


@dataclass
class _Allowance:
    """The whole replay's budget: `REPLAY_BUDGETS` executions' worth of each kind of work."""

    iterations: int = 0
    output_chars: int = 0
    list_items: int = 0
    exceeded: str | None = None

    def spend(self, kind: str, count: int, limit: int, unit: str) -> None:
        spent = getattr(self, kind) + count
        setattr(self, kind, spent)
        if spent > limit * REPLAY_BUDGETS:
            self.exceeded = (
                f"replay budget exceeded: more than {limit * REPLAY_BUDGETS} {unit} over the "
                "replayed events; the replay stopped at this event (replay fewer: `limit`, "
                "`since`)"
            )
            raise BudgetExceeded(self.exceeded)


@dataclass
class _EventBudget(Budget):
    """One event's run: an execution's budget, also charged to the replay's allowance."""

    allowance: _Allowance = field(default_factory=_Allowance)

    def spend_iterations(self, count: int) -> None:
        self.allowance.spend("iterations", count, MAX_ITERATIONS, "loop iterations")
        super().spend_iterations(count)

    def spend_output(self, chars: int) -> None:
        self.allowance.spend("output_chars", chars, MAX_OUTPUT_CHARS, "characters of output")
        super().spend_output(chars)

    def spend_items(self, count: int) -> None:
        self.allowance.spend("list_items", count, MAX_LIST_ITEMS, "list items")
        super().spend_items(count)
