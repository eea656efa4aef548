"""`POST /plugins/automation/flows/{id}/test`: a flow run against a payload, with no effect.

The same engine as a real run (`engine.run_flow`), with a simulated receiver: each
rendered payload is checked against its action's schema (the error the receiver would give),
and a valid action "returns" the catalogue's sample resource overlaid with the payload, so a
later `{{steps.action_1.id}}` renders as it would. Waits are shown with their resume time and
passed at once. Nothing is stored, nothing is sent; the run has an execution's budget.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation import repository
from bettercallsold.automation.definition import off_the_loop, validate_flow
from bettercallsold.automation.engine import PreparedAction, RunOptions, run_flow
from bettercallsold.automation.errors import FlowNotFound, InvalidFlow
from bettercallsold.automation.flows import problem_location
from bettercallsold.automation.schemas import DryRunOut, DryRunRequest, PlannedAction
from bettercallsold.catalogue import EVENT_SAMPLES, RESULT_EVENTS, action_spec, validate_payload
from bettercallsold.types import JSON


async def dry_run(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    flow_id: uuid.UUID,
    body: DryRunRequest,
    now: datetime,
    max_for_each_items: int,
) -> DryRunOut:
    """Run the stored flow (or `body.flow_definition`, unsaved edits) against `body.payload`
    (default: the event's sample payload). An invalid definition is `InvalidFlow` (422)."""
    flow = await repository.get_flow(session, tenant_id, flow_id)
    if flow is None:
        raise FlowNotFound()
    trigger = (
        body.payload if body.payload is not None else EVENT_SAMPLES.get(flow.trigger_event, {})
    )
    raw = body.flow_definition if body.flow_definition is not None else flow.flow_definition
    definition, problems = await off_the_loop(validate_flow, flow.trigger_event, raw)
    if definition is None or problems:
        raise InvalidFlow([(problem_location(p), p.message) for p in problems])
    options = RunOptions(clock=now, simulate_waits=True, max_for_each_items=max_for_each_items)
    outcome = await run_flow(definition, trigger, now, simulate_batch, options=options)
    steps = [{k: v for k, v in step.items() if k != "success"} for step in outcome.steps]
    actions = [PlannedAction(action_type=a.action_type, payload=a.payload) for a in outcome.sent]
    return DryRunOut(matched=outcome.matched, steps=steps, actions=actions, error=outcome.error)


async def simulate_batch(batch: Sequence[PreparedAction]) -> list[JSON]:
    """What the receiver would answer, without calling anything."""
    return [simulate_action(prepared.action_type, prepared.payload) for prepared in batch]


def simulate_action(action_type: str, payload: Any) -> JSON:
    spec = action_spec(action_type)
    if spec is None:
        return {
            "action_type": action_type,
            "success": False,
            "error": f"Unknown action type: {action_type}",
        }
    problem = validate_payload(spec, payload)
    if problem is not None:
        return {"action_type": action_type, "success": False, "error": problem}
    if spec.outside:  # not called: a plausible answer, so later steps render
        return {
            "action_type": action_type,
            "success": True,
            "data": {"status_code": 200, "headers": {}, "body": None},
        }
    sample = EVENT_SAMPLES.get(RESULT_EVENTS.get(spec.action_type, ""), {})
    data = {key: value for key, value in sample.items() if key != "changed_fields"}
    if isinstance(payload, dict):
        data.update(payload)
    return {"action_type": action_type, "success": True, "data": data}
