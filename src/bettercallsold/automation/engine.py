"""Running a flow's steps (pure but for the injected `send`): verdicts, batches, the outcome.

Conditions look at the trigger only (the contract: `field` is a path into the trigger
payload), so they are all evaluated up front: the first that does not hold cuts the flow
there. The actions before it are rendered in order and sent to the event receiver in as few
batches as possible: a batch is sent early only when the next action's template needs the
output of an action still waiting in it (`{{steps.action_1.id}}`).

A template that cannot be rendered (a missing path without a default, ...) fails that action
alone, like an action the receiver rejects: it is counted as a failed result, the others still
run, and the execution ends `completed_with_errors`.

`send` is the one seam: the execution job sends to the receiver, the dry run simulates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bettercallsold.automation.conditions import Verdict, evaluate
from bettercallsold.automation.definition import ActionStep, ConditionStep, FlowDefinition
from bettercallsold.automation.errors import ReceiverError, ReceiverUnavailable
from bettercallsold.automation.templates import (
    RenderContext,
    TemplateError,
    referenced_steps,
    render_value,
)
from bettercallsold.types import JSON

Step = ConditionStep | ActionStep


@dataclass(frozen=True)
class Plan:
    """The steps a trigger reaches, and whether every condition on the way held."""

    reached: list[Step]
    verdicts: dict[str, Verdict]
    matched: bool

    @property
    def actions(self) -> list[ActionStep]:
        return [step for step in self.reached if isinstance(step, ActionStep)]


@dataclass(frozen=True)
class PreparedAction:
    step_id: str
    action_type: str
    payload: Any

    def as_event(self) -> JSON:
        return {"action_type": self.action_type, "payload": self.payload, "step_id": self.step_id}


Send = Callable[[Sequence[PreparedAction]], Awaitable[list[JSON]]]
"""Send one batch; answer one `{action_type, success, data | error}` per action, in order."""


@dataclass
class Outcome:
    status: str
    steps: list[JSON]
    results: list[JSON]
    sent: list[PreparedAction] = field(default_factory=list)
    error: str | None = None
    transient: bool = False
    """The receiver could not be reached: the run may be retried with the same keys."""


def plan_flow(definition: FlowDefinition, trigger: JSON) -> Plan:
    """Evaluate the conditions in order; the first that does not hold ends the plan there."""
    reached: list[Step] = []
    verdicts: dict[str, Verdict] = {}
    for step in definition.steps:
        reached.append(step)
        if isinstance(step, ConditionStep):
            verdict = evaluate(step.field, step.operator, step.value, trigger)
            verdicts[step.id] = verdict
            if not verdict.passed:
                return Plan(reached=reached, verdicts=verdicts, matched=False)
    return Plan(reached=reached, verdicts=verdicts, matched=True)


def condition_report(step: ConditionStep, verdict: Verdict) -> JSON:
    return {**verdict.as_json(), "id": step.id, "type": "condition", "passed": verdict.passed}


async def execute_plan(plan: Plan, trigger: JSON, now: datetime, send: Send) -> Outcome:
    """Render and send the plan's actions; never raises for a failed action or receiver."""
    run = _Run(trigger=trigger, now=now, send=send)
    try:
        for step in plan.reached:
            if isinstance(step, ConditionStep):
                run.reports[step.id] = condition_report(step, plan.verdicts[step.id])
            else:
                await run.add_action(step)
        await run.flush()
    except ReceiverError as exc:
        return run.outcome(plan, failure=exc)
    return run.outcome(plan)


@dataclass
class _Run:
    trigger: JSON
    now: datetime
    send: Send
    reports: dict[str, JSON] = field(default_factory=dict)
    results: dict[str, JSON] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    batch: list[PreparedAction] = field(default_factory=list)
    sent: list[PreparedAction] = field(default_factory=list)

    async def add_action(self, step: ActionStep) -> None:
        waiting = {prepared.step_id for prepared in self.batch}
        if referenced_steps(step.payload_template) & waiting:
            await self.flush()
        report: JSON = {"id": step.id, "type": "action", "action_type": step.action_type}
        self.reports[step.id] = report
        context = RenderContext(trigger=self.trigger, steps=dict(self.outputs), now=self.now)
        try:
            payload = render_value(step.payload_template, context)
        except TemplateError as exc:
            report["error"] = f"template: {exc}"
            report["success"] = False
            self.results[step.id] = _failed(step.id, step.action_type, report["error"])
            return
        report["payload"] = payload
        self.batch.append(PreparedAction(step.id, step.action_type, payload))

    async def flush(self) -> None:
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        try:
            answers = await self.send(batch)
        except ReceiverError as exc:
            for prepared in batch:
                self.reports[prepared.step_id]["error"] = f"not sent: {exc.message}"
            raise
        self.sent.extend(batch)
        for prepared, answer in zip(batch, answers, strict=True):
            report = self.reports[prepared.step_id]
            success = bool(answer.get("success"))
            report["success"] = success
            result: JSON = {"step_id": prepared.step_id, **answer}
            if success:
                self.outputs[prepared.step_id] = answer.get("data")
            else:
                report["error"] = str(answer.get("error") or "failed")
            self.results[prepared.step_id] = result

    def outcome(self, plan: Plan, failure: ReceiverError | None = None) -> Outcome:
        steps = [self.reports[step.id] for step in plan.reached if step.id in self.reports]
        results = [self.results[s.id] for s in plan.actions if s.id in self.results]
        if failure is not None:
            return Outcome(
                status="failed",
                steps=steps,
                results=results,
                sent=self.sent,
                error=failure.message,
                transient=isinstance(failure, ReceiverUnavailable),
            )
        return Outcome(
            status=final_status(plan, results),
            steps=steps,
            results=results,
            sent=self.sent,
            error=failure_summary(results),
        )


def final_status(plan: Plan, results: Sequence[JSON]) -> str:
    """`skipped` when a condition ended the flow before any action; else by the results."""
    if not plan.matched and not plan.actions:
        return "skipped"
    if any(not result.get("success") for result in results):
        return "completed_with_errors"
    return "completed"


def failure_summary(results: Sequence[JSON]) -> str | None:
    failed = [result for result in results if not result.get("success")]
    if not failed:
        return None
    reasons = "; ".join(f"{result['step_id']}: {result.get('error')}" for result in failed)
    return f"{len(failed)} of {len(results)} actions failed: {reasons}"


def _failed(step_id: str, action_type: str, error: str) -> JSON:
    return {"step_id": step_id, "action_type": action_type, "success": False, "error": error}
