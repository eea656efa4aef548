"""Running a flow's steps (pure but for the injected `send`): verdicts, batches, the outcome.

The flow is walked in order: tests (`condition`, `if`) are evaluated when reached, `for_each`
bodies once per item, actions rendered and queued. Queued actions go to the event receiver in
as few batches as possible: a batch is sent early only when what comes next reads the output
of an action still waiting in it (`{{steps.action_1.id}}`), before a `wait`, and at the end.

A `wait` that is not over ends the run with status `waiting`. The execution keeps a `Memory`
(the results of the actions performed so far, by instance key, and the waits' resume times);
the next run walks the flow again from the start with it: a remembered action is not sent
again, its result is reused, and a passed wait is passed. Every run renders the same text (the
trigger, the results, and `now`: the start time, then each passed wait's resume time), so a
retried run sends the same batches with the same idempotency keys. A re-run from a failed step
uses the same mechanism, with the original's successful results as the memory.

Instance keys name one performance of a step: its id, plus `:<iteration>` inside a loop
(`:2.3` in nested loops); they are the batches' idempotency keys' second half.

A template that cannot be rendered fails that action alone, like an action the receiver
rejects: the others still run, and the execution ends `completed_with_errors`. Spending more
than the execution's budget (`budget.py`), or a `for_each` over too long a list, fails the
whole execution, naming the limit.

`send` is the one seam: the execution job sends to the receiver, the dry run simulates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bettercallsold.automation.budget import Budget, BudgetExceeded, spending
from bettercallsold.automation.conditions import Verdict, evaluate, iso_utc, parse_instant
from bettercallsold.automation.definition import (
    MAX_WAIT,
    ActionStep,
    AllOf,
    ConditionStep,
    FlowDefinition,
    ForEachStep,
    IfStep,
    Leaf,
    NotTest,
    Step,
    Test,
    WaitStep,
    parse_duration,
)
from bettercallsold.automation.errors import ReceiverError, ReceiverUnavailable
from bettercallsold.automation.paths import resolve_path
from bettercallsold.automation.templates import (
    RenderContext,
    TemplateError,
    referenced_steps,
    render_value,
)
from bettercallsold.catalogue import action_spec
from bettercallsold.types import JSON

DEFAULT_MAX_FOR_EACH_ITEMS = 100
_SCOPED_ROOTS = ("steps.", "item.", "loop.")


@dataclass(frozen=True)
class PreparedAction:
    step_id: str
    """The instance key: the step's id, with `:<iteration>` inside a loop."""
    action_type: str
    payload: Any

    def as_event(self) -> JSON:
        return {"action_type": self.action_type, "payload": self.payload, "step_id": self.step_id}


Send = Callable[[Sequence[PreparedAction]], Awaitable[list[JSON]]]
"""Send one batch; answer one `{action_type, success, data | error}` per action, in order."""


@dataclass
class Memory:
    """What an execution carries from one run to the next (see the module docstring)."""

    results: dict[str, JSON] = field(default_factory=dict)
    """Instance key → `{step_id, action_type, success, data | error, payload, reused?}`."""
    waits: dict[str, str] = field(default_factory=dict)
    """Instance key → the wait's resume time (ISO 8601)."""
    pending: str | None = None
    """The wait the execution is stopped at (`POST .../resume` sets its time to now)."""
    calling: JSON | None = None
    """The outside call the execution is stopped at: `{step_id, action_type, payload}`."""

    def as_json(self) -> JSON:
        return {
            "results": self.results,
            "waits": self.waits,
            "pending": self.pending,
            "calling": self.calling,
        }

    @classmethod
    def from_json(cls, data: Any) -> Memory:
        if not isinstance(data, dict):
            return cls()
        return cls(
            results=dict(data.get("results") or {}),
            waits=dict(data.get("waits") or {}),
            pending=data.get("pending"),
            calling=data.get("calling"),
        )


@dataclass(frozen=True)
class RunOptions:
    clock: datetime | None = None
    """The real time of this run: a wait whose resume time has come is passed. None: `now`."""
    simulate_waits: bool = False
    """The dry run: every wait is shown with its resume time and passed at once."""
    max_for_each_items: int = DEFAULT_MAX_FOR_EACH_ITEMS
    outside_inline: bool = True
    """Whether `send` performs outside calls (`send_http_request`) like any action: over HTTP
    (the receiver holds no transaction) and in the dry run. In process it is False: the run
    stops at such a call with status `calling`, the runner commits, has the receiver make the
    call, and runs the execution again with the answer remembered."""
    budget: Budget | None = None
    """What the run's work is charged to; None: a fresh execution's `Budget`. A replay passes
    one per event that also charges the whole replay's allowance (`replay.py`)."""


@dataclass
class Outcome:
    status: str
    steps: list[JSON]
    results: list[JSON]
    sent: list[PreparedAction] = field(default_factory=list)
    error: str | None = None
    transient: bool = False
    """The receiver could not be reached: the run may be retried with the same keys."""
    matched: bool = True
    """Every `condition` step reached held (`if` tests only choose a branch)."""
    resume_at: datetime | None = None
    memory: Memory = field(default_factory=Memory)
    call: PreparedAction | None = None
    """With status `calling`: the outside call the run stopped at."""


class _Stop(Exception):
    """Ends the walk: `_Waiting` or `_Failed` (a condition that does not hold is `_Ended`)."""


class _Ended(_Stop):
    pass


class _Waiting(_Stop):
    def __init__(self, resume_at: datetime) -> None:
        super().__init__(iso_utc(resume_at))
        self.resume_at = resume_at


class _Calling(_Stop):
    def __init__(self, call: PreparedAction) -> None:
        super().__init__(call.step_id)
        self.call = call


class _Failed(_Stop):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(frozen=True)
class _Frame:
    """Where the walk is: the loops around it."""

    item: Any = None
    loop: dict[str, int] | None = None
    suffix: str = ""

    def enter(self, item: Any, index: int) -> _Frame:
        suffix = f":{index}" if not self.suffix else f"{self.suffix}.{index}"
        return _Frame(item=item, loop={"index": index}, suffix=suffix)

    def report(self, step: Step, **fields: Any) -> JSON:
        report: JSON = {"id": step.id, "type": step.type, **fields}
        if self.loop is not None:
            report["iteration"] = self.loop["index"]
        return report


async def run_flow(
    definition: FlowDefinition,
    trigger: JSON,
    started_at: datetime,
    send: Send,
    *,
    memory: Memory | None = None,
    options: RunOptions | None = None,
) -> Outcome:
    """Walk the flow from its start; never raises for a failed action or receiver."""
    run = _Run(trigger, started_at, send, memory or Memory(), options or RunOptions())
    return await run.go(definition.steps)


class _Run:
    def __init__(
        self, trigger: JSON, now: datetime, send: Send, memory: Memory, options: RunOptions
    ) -> None:
        self.trigger = trigger
        self.now = now
        self.clock = options.clock
        self.send = send
        self.memory = memory
        self.options = options
        self.budget = options.budget if options.budget is not None else Budget()
        self.reports: list[JSON] = []
        self.results: dict[str, JSON] = {}
        self.outputs: dict[str, Any] = {}
        self.batch: list[tuple[PreparedAction, str, JSON]] = []
        self.sent: list[PreparedAction] = []
        self.matched = True

    async def go(self, steps: Sequence[Step]) -> Outcome:
        stop: _Stop | None = None
        try:
            with spending(self.budget):
                try:
                    await self.walk(steps, _Frame())
                except _Stop as signal:
                    stop = signal
                except BudgetExceeded as exc:
                    stop = _Failed(str(exc))
            await self.flush()
        except ReceiverError as exc:
            return self.outcome(
                "failed", error=exc.message, transient=isinstance(exc, ReceiverUnavailable)
            )
        if isinstance(stop, _Waiting):
            return self.outcome("waiting", resume_at=stop.resume_at)
        if isinstance(stop, _Calling):
            return self.outcome("calling", call=stop.call)
        if isinstance(stop, _Failed):
            return self.outcome("failed", error=stop.error)
        results = list(self.results.values())
        if not self.matched and not results:
            return self.outcome("skipped")
        failed = any(not result.get("success") for result in results)
        return self.outcome("completed_with_errors" if failed else "completed")

    def outcome(self, status: str, **fields: Any) -> Outcome:
        results = list(self.results.values())
        if "error" not in fields:
            fields["error"] = failure_summary(results)
        return Outcome(
            status=status,
            steps=self.reports,
            results=results,
            sent=self.sent,
            matched=self.matched,
            memory=self.memory,
            **fields,
        )

    # ------------------------------------------------------------------------- the walk

    async def walk(self, steps: Sequence[Step], frame: _Frame) -> None:
        for step in steps:
            if isinstance(step, ActionStep):
                await self.action(step, frame)
                continue
            if self.batch and _reads(step) & {step_id for _, step_id, _ in self.batch}:
                await self.flush()
            if isinstance(step, ConditionStep):
                self.condition(step, frame)
            elif isinstance(step, IfStep):
                passed, verdicts = self.test(step.when, frame)
                branch = "then" if passed else "else"
                self.reports.append(frame.report(step, passed=passed, branch=branch, when=verdicts))
                await self.walk(step.then if passed else step.otherwise, frame)
            elif isinstance(step, ForEachStep):
                await self.for_each(step, frame)
            elif isinstance(step, WaitStep):
                await self.wait(step, frame)

    def condition(self, step: ConditionStep, frame: _Frame) -> None:
        passed, verdicts = self.test(step.test, frame)
        if step.when is None:  # the seed's shape: the one verdict's fields inline
            self.reports.append(frame.report(step, **{**verdicts, "passed": passed}))
        else:
            self.reports.append(frame.report(step, passed=passed, when=verdicts))
        if not passed:
            self.matched = False
            raise _Ended()

    def test(self, test: Test, frame: _Frame) -> tuple[bool, JSON]:
        """The test's verdict, and the tree of every leaf's verdict (groups are not cut short:
        the execution shows each leaf)."""
        if isinstance(test, Leaf):
            verdict = self.leaf(test, frame)
            return verdict.passed, verdict.as_json()
        if isinstance(test, NotTest):
            passed, inner = self.test(test.negated, frame)
            return not passed, {"not": inner, "passed": not passed}
        key, children = ("all", test.all) if isinstance(test, AllOf) else ("any", test.any)
        outcomes = [self.test(child, frame) for child in children]
        verdicts = [passed for passed, _ in outcomes]
        passed = all(verdicts) if isinstance(test, AllOf) else any(verdicts)
        return passed, {key: [tree for _, tree in outcomes], "passed": passed}

    def leaf(self, test: Leaf, frame: _Frame) -> Verdict:
        value = test.value
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            try:
                value = render_value(value, self.context(frame))
            except TemplateError as exc:
                return Verdict(False, test.field, test.operator, test.value, None, f"value: {exc}")
        if test.field.startswith(_SCOPED_ROOTS):
            return evaluate(test.field, test.operator, value, self.scope(frame))
        return evaluate(test.field, test.operator, value, self.trigger)

    async def for_each(self, step: ForEachStep, frame: _Frame) -> None:
        found, items = self.lookup(step.items, frame)
        limit = self.options.max_for_each_items
        error: str | None = None
        if not found:
            error = f"items: missing value: {step.items}"
        elif not isinstance(items, list):
            error = f"items: {step.items} is not a list"
        elif len(items) > limit:
            error = (
                f"for_each limit exceeded: {step.items} has {len(items)} items, "
                f"more than BCS_MAX_FOR_EACH_ITEMS ({limit})"
            )
        if error is not None:
            self.reports.append(frame.report(step, error=error))
            raise _Failed(f"{step.id}: {error}")
        assert isinstance(items, list)
        self.budget.spend_iterations(len(items))
        self.reports.append(frame.report(step, items=len(items)))
        for index, item in enumerate(items, start=1):
            await self.walk(step.steps, frame.enter(item, index))

    async def wait(self, step: WaitStep, frame: _Frame) -> None:
        key = step.id + frame.suffix
        remembered = self.memory.waits.get(key)
        resume_at = parse_instant(remembered) if remembered else None
        if resume_at is None:
            resume_at = self.resume_time(step, frame)
            self.memory.waits[key] = iso_utc(resume_at)
        clock = self.clock or self.now
        if resume_at > clock and not self.options.simulate_waits:
            self.memory.pending = key
            await self.flush()
            self.reports.append(frame.report(step, resume_at=iso_utc(resume_at)))
            raise _Waiting(resume_at)
        self.reports.append(frame.report(step, resume_at=iso_utc(resume_at), waited=True))
        self.now = max(self.now, resume_at)

    def resume_time(self, step: WaitStep, frame: _Frame) -> datetime:
        if step.duration is not None:
            return self.now + parse_duration(step.duration)
        try:
            rendered = render_value(step.until, self.context(frame))
        except TemplateError as exc:
            self.reports.append(frame.report(step, error=f"until: {exc}"))
            raise _Failed(f"{step.id}: until: {exc}") from exc
        moment = parse_instant(rendered)
        if moment is None:
            error = f"until: {rendered!r} is not an ISO 8601 date-time"
        elif moment - self.now > MAX_WAIT:
            error = f"until: {iso_utc(moment)} is more than {MAX_WAIT.days} days away"
        else:
            return moment  # in the past: passed at once
        self.reports.append(frame.report(step, error=error))
        raise _Failed(f"{step.id}: {error}")

    async def action(self, step: ActionStep, frame: _Frame) -> None:
        key = step.id + frame.suffix
        remembered = self.memory.results.get(key)
        if remembered is not None:  # performed by an earlier run: never sent twice
            self.remember(step, frame, key, remembered)
            return
        waiting = {step_id for _, step_id, _ in self.batch}
        if waiting and referenced_steps(step.payload_template) & waiting:
            await self.flush()
        report = frame.report(step, action_type=step.action_type)
        self.reports.append(report)
        try:
            payload = render_value(step.payload_template, self.context(frame))
        except TemplateError as exc:
            report["error"] = f"template: {exc}"
            report["success"] = False
            result = _failed(key, step.action_type, report["error"])
            self.results[key] = result
            self.memory.results[key] = result
            return
        report["payload"] = payload
        prepared = PreparedAction(key, step.action_type, payload)
        if not self.options.outside_inline and _is_outside(step.action_type):
            await self.flush()
            self.results.pop(key, None)
            self.memory.calling = {
                "step_id": key,
                "action_type": step.action_type,
                "payload": payload,
            }
            raise _Calling(prepared)
        self.results[key] = {}  # its place in the order; filled when its batch is answered
        self.batch.append((prepared, step.id, report))

    def remember(self, step: ActionStep, frame: _Frame, key: str, result: JSON) -> None:
        report = frame.report(step, action_type=step.action_type)
        if "payload" in result:
            report["payload"] = result["payload"]
        report["success"] = bool(result.get("success"))
        if result.get("reused"):
            report["reused"] = True
        if not result.get("success"):
            report["error"] = str(result.get("error") or "failed")
        else:
            self.outputs[step.id] = result.get("data")
        self.reports.append(report)
        self.results[key] = {k: v for k, v in result.items() if k != "payload"}

    async def flush(self) -> None:
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        prepared = [action for action, _, _ in batch]
        try:
            answers = await self.send(prepared)
        except ReceiverError as exc:
            for action, _, report in batch:
                report["error"] = f"not sent: {exc.message}"
                self.results.pop(action.step_id, None)
            raise
        self.sent.extend(prepared)
        for (action, step_id, report), answer in zip(batch, answers, strict=True):
            success = bool(answer.get("success"))
            report["success"] = success
            result: JSON = {"step_id": action.step_id, **answer}
            if success:
                self.outputs[step_id] = answer.get("data")
            else:
                report["error"] = str(answer.get("error") or "failed")
            self.results[action.step_id] = result
            self.memory.results[action.step_id] = {**result, "payload": action.payload}

    # ------------------------------------------------------------------------- helpers

    def context(self, frame: _Frame) -> RenderContext:
        return RenderContext(
            trigger=self.trigger,
            steps=dict(self.outputs),
            now=self.now,
            item=frame.item,
            loop=frame.loop,
        )

    def scope(self, frame: _Frame) -> JSON:
        scope: JSON = {"steps": dict(self.outputs)}
        if frame.loop is not None:
            scope["item"] = frame.item
            scope["loop"] = frame.loop
        return scope

    def lookup(self, path: str, frame: _Frame) -> tuple[bool, Any]:
        if path.startswith(_SCOPED_ROOTS):
            return resolve_path(self.scope(frame), path)
        return resolve_path(self.trigger, path)


def _is_outside(action_type: str) -> bool:
    spec = action_spec(action_type)
    return spec is not None and spec.outside


def _reads(step: Step) -> set[str]:
    """The step ids a non-action step reads (`steps.<id>` in its tests, items or until)."""
    found: set[str] = set()
    if isinstance(step, ConditionStep):
        _test_reads(step.test, found)
    elif isinstance(step, IfStep):
        _test_reads(step.when, found)
    elif isinstance(step, ForEachStep):
        _path_reads(step.items, found)
    elif isinstance(step, WaitStep) and step.until:
        found |= referenced_steps(step.until)
    return found


def _test_reads(test: Test, found: set[str]) -> None:
    if isinstance(test, Leaf):
        _path_reads(test.field, found)
        if isinstance(test.value, str):
            found |= referenced_steps(test.value)
    elif isinstance(test, NotTest):
        _test_reads(test.negated, found)
    else:
        for child in test.all if isinstance(test, AllOf) else test.any:
            _test_reads(child, found)


def _path_reads(path: str, found: set[str]) -> None:
    parts = path.split(".")
    if len(parts) > 1 and parts[0] == "steps":
        found.add(parts[1])


def failure_summary(results: Sequence[JSON]) -> str | None:
    failed = [result for result in results if not result.get("success")]
    if not failed:
        return None
    reasons = "; ".join(f"{result['step_id']}: {result.get('error')}" for result in failed)
    return f"{len(failed)} of {len(results)} actions failed: {reasons}"


def _failed(step_id: str, action_type: str, error: str) -> JSON:
    return {"step_id": step_id, "action_type": action_type, "success": False, "error": error}
