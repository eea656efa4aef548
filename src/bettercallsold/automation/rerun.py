"""`POST /plugins/automation/executions/{id}/rerun`: an execution run again, whole or from its
first failed step.

A re-run is a new execution (`rerun_of` the original) of the flow's latest version on the
original's trigger data, recorded with its job in the request's transaction, so it runs on a
worker like any other and its actions carry its own idempotency keys (`<new id>:<step id>`).

From the failed step, nothing new is needed of the engine: a run already re-walks the flow with
a `Memory` of what was performed and never performs a remembered action again (that is how
waits and retries work). The re-run's memory is seeded with the original's successful action
results, each marked `reused` and keeping its payload, and with its passed waits; the walk then
reuses those (shown `reused: true`, their outputs available to later templates, not sent at
all) and goes on from the first step that failed, inside a loop or after a wait too.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation import repository
from bettercallsold.automation.conditions import parse_instant
from bettercallsold.automation.engine import Memory
from bettercallsold.automation.errors import ExecutionNotFound, FlowNotFound, NothingFailed
from bettercallsold.automation.runner import EXECUTIONS_QUEUE, RUN_EXECUTION_TASK
from bettercallsold.types import JSON

RERUNNABLE_FROM_FAILED = ("failed", "completed_with_errors")


def rerun_key() -> str:
    """The execution key of a re-run: never the same twice (38 characters; the column is 40)."""
    return f"rerun:{uuid.uuid4().hex}"


async def rerun(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    execution_id: uuid.UUID,
    *,
    from_failed: bool,
    now: datetime,
) -> uuid.UUID:
    """Start a re-run of the tenant's execution; the new execution's id.

    `ExecutionNotFound` (404) when it is not the tenant's, `FlowNotFound` (404) when its flow
    was deleted, `NothingFailed` (409) for `from_failed` on an execution that is neither
    `failed` nor `completed_with_errors`.
    """
    original = await repository.get_execution(session, execution_id, tenant_id=tenant_id)
    if original is None:
        raise ExecutionNotFound()
    if original.flow_id is None:
        raise FlowNotFound("the execution's flow was deleted")
    state: JSON | None = None
    if from_failed:
        if original.status not in RERUNNABLE_FROM_FAILED:
            raise NothingFailed(
                "only a failed or completed_with_errors execution can be re-run from its "
                f"failed step; this one is {original.status}"
            )
        state = reused_memory(
            original.state, original.execution_results, original.steps, now
        ).as_json()
    request = repository.Rerun(
        tenant_id=tenant_id,
        original_id=execution_id,
        event_id=rerun_key(),
        state=state,
        queue=EXECUTIONS_QUEUE,
        task=RUN_EXECUTION_TASK,
    )
    started = await repository.rerun_execution(session, request)
    if started is None:  # the flow was deleted since the read
        raise FlowNotFound("the execution's flow was deleted")
    return started


def reused_memory(
    state: Any, results: Sequence[Any] | None, steps: Sequence[Any] | None, now: datetime
) -> Memory:
    """The memory a re-run from the failed step starts with (pure): every action the original
    performed successfully, by instance key, marked `reused` and with its payload, and the
    waits it passed (a wait still ahead of `now` is waited again).

    Results come from the original's own memory (`state.results`, which has the payloads) when
    it kept one, and from its `execution_results` otherwise: its memory is written only at a
    wait or an outside call, so it may lack the actions after those, and an execution that
    never stopped has none. Those take their payload from the matching `steps` report.
    """
    remembered = Memory.from_json(state)
    reused: dict[str, JSON] = {}
    for key, result in remembered.results.items():
        if isinstance(result, dict) and result.get("success"):
            reused[key] = {**result, "reused": True}
    listed = [result for result in results or [] if isinstance(result, dict)]
    payloads = report_payloads(listed, [s for s in steps or [] if isinstance(s, dict)])
    for result in listed:
        listed_key = result.get("step_id")
        if not isinstance(listed_key, str) or listed_key in reused or not result.get("success"):
            continue
        entry: JSON = {**result, "reused": True}
        if listed_key in payloads:
            entry["payload"] = payloads[listed_key]
        reused[listed_key] = entry
    waits = {
        key: moment
        for key, moment in remembered.waits.items()
        if (passed := parse_instant(moment)) is not None and passed <= now
    }
    return Memory(results=reused, waits=waits, pending=None)


def report_payloads(results: Sequence[JSON], steps: Sequence[JSON]) -> dict[str, Any]:
    """Each result's rendered payload, from the action report that produced it.

    Results and action reports are both in the order the flow was walked (the engine appends
    each when it reaches the action), but a report may have no result (its batch was never
    sent), so each result takes the next report with its step id and innermost iteration; a
    result without one gets no payload.
    """
    found: dict[str, Any] = {}
    reports = [step for step in steps if step.get("type") == "action"]
    position = 0
    for result in results:
        key = result.get("step_id")
        if not isinstance(key, str):
            continue
        step_id, _, suffix = key.partition(":")
        innermost = suffix.rsplit(".", 1)[-1]
        iteration = int(innermost) if innermost.isdigit() else None
        for index in range(position, len(reports)):
            report = reports[index]
            if report.get("id") == step_id and report.get("iteration") == iteration:
                if "payload" in report:
                    found[key] = report["payload"]
                position = index + 1
                break
    return found
