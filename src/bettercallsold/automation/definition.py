"""Flow definitions: the models the engine runs, and the validation done when a flow is saved.

Validation is total and exhaustive: it takes whatever JSON arrived and lists every problem at
once, each naming the step id and the field (`action_1`, `payload_template.to`), so the API
can answer one 422 a merchant can act on. A definition that validates can be run: every
operator and action type is known, every payload can satisfy its action's schema, and every
template parses and reads only the trigger, the time and the results of earlier actions.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, Literal, TypeVar

import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bettercallsold.automation.conditions import (
    LIST_OPERATORS,
    OPERATORS,
    ORDERING_OPERATORS,
    UNARY_OPERATORS,
    parse_instant,
)
from bettercallsold.automation.paths import string_leaves
from bettercallsold.automation.templates import LOOP_ROOTS, ROOTS, check_template
from bettercallsold.catalogue import ACTIONS, EVENT_TYPES, ActionSpec, action_spec

FLOW_STATUSES = ("active", "paused", "draft")
MAX_STEPS = 500
MAX_STEP_ID = 100
MAX_DEFINITION_BYTES = 256 * 1024
"""The contract's limits on what one tenant may save: checked before anything is parsed."""
MAX_TEMPLATE_CHARS = 10_000
MAX_TEMPLATES = 500
"""Strings with markup in one flow: each is parsed at save and by every execution (a parse
cache holds 512), so their number, not only their size, bounds what a flow costs."""
MAX_VALUE_ITEMS = 1_000
MAX_NESTING = 5
"""Blocks (`if` branches, loop bodies) inside blocks, and test groups inside groups."""
MAX_TEST_DEPTH = 5
MAX_WAIT = timedelta(days=365)
SCHEDULE_TRIGGER = "schedule"
TRIGGER_TYPES = (*EVENT_TYPES, SCHEDULE_TRIGGER)
T = TypeVar("T")
_STEP_ID = re.compile(r"[A-Za-z0-9_-]+")
_Report = Callable[[str, str], None]
"""Records a problem of the step being checked: (field, message)."""


class _Step(BaseModel):
    # Extra keys (a builder's layout hints, say) are kept, not refused: they do not run.
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str


class Leaf(BaseModel):
    """One comparison: `field` (a path) `operator` `value` (a literal or a template)."""

    model_config = ConfigDict(extra="forbid")

    field: str
    operator: str
    value: Any = None


class AllOf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    all: list[Test]


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    any: list[Test]


class NotTest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    negated: Test = Field(alias="not")


Test = Leaf | AllOf | AnyOf | NotTest


class ConditionStep(_Step):
    """A test that ends the flow when it does not hold: a leaf's fields inline, or `when`."""

    type: Literal["condition"]
    field: str | None = None
    operator: str | None = None
    value: Any = None
    when: Test | None = None

    @property
    def test(self) -> Test:
        if self.when is not None:
            return self.when
        return Leaf(field=self.field or "", operator=self.operator or "", value=self.value)


class ActionStep(_Step):
    type: Literal["action"]
    action_type: str
    payload_template: dict[str, Any]


class IfStep(_Step):
    type: Literal["if"]
    when: Test
    then: list[Step]
    otherwise: list[Step] = Field(default_factory=list, alias="else")


class ForEachStep(_Step):
    type: Literal["for_each"]
    items: str
    steps: list[Step]


class WaitStep(_Step):
    type: Literal["wait"]
    duration: str | None = None
    until: str | None = None


Step = Annotated[
    ConditionStep | ActionStep | IfStep | ForEachStep | WaitStep, Field(discriminator="type")
]


class FlowDefinition(BaseModel):
    model_config = ConfigDict(extra="allow")

    steps: list[Step]


for _model in (AllOf, AnyOf, NotTest, IfStep, ForEachStep, FlowDefinition):
    _model.model_rebuild()


@dataclass(frozen=True)
class FlowProblem:
    """One reason a definition cannot be saved; `step_id` is None for flow-level problems."""

    step_id: str | None
    field: str
    message: str


def validate_flow(
    trigger_event: str, definition: Any
) -> tuple[FlowDefinition | None, list[FlowProblem]]:
    """The parsed definition and no problems, or None and every problem found.

    `definition` is the raw `flow_definition` JSON. A step without a usable id is named by
    its position (`step_id=None`, `field="steps.2.operator"`; inside a branch, by its parent:
    `step_id="check", field="then.0.id"`). Templates may refer with `steps.<id>` only to
    action steps that come earlier in the flow's text (one in a branch not taken, or a later
    loop iteration, is a missing value at run time).
    """
    problems: list[FlowProblem] = []
    if not isinstance(trigger_event, str) or trigger_event not in TRIGGER_TYPES:
        known = ", ".join(TRIGGER_TYPES)
        problems.append(
            FlowProblem(None, "trigger_event", f"unknown event type {trigger_event!r} ({known})")
        )
    size = len(json.dumps(definition, separators=(",", ":"), default=str).encode())
    if size > MAX_DEFINITION_BYTES:
        message = f"a flow definition has at most {MAX_DEFINITION_BYTES} bytes, this one {size}"
        return None, [*problems, FlowProblem(None, "flow_definition", message)]
    steps = definition.get("steps") if isinstance(definition, Mapping) else None
    if not isinstance(steps, list) or not steps:
        message = "flow_definition needs a non-empty list of steps"
        return None, [*problems, FlowProblem(None, "steps", message)]
    total = _count_steps(steps)
    if total > MAX_STEPS:
        message = f"a flow has at most {MAX_STEPS} steps, this one has {total}"
        return None, [*problems, FlowProblem(None, "steps", message)]
    checker = _StepChecker(problems)
    checker.check_all(steps, _Scope(), owner=None, where="steps")
    if not checker.has_action:
        problems.append(FlowProblem(None, "steps", "a flow needs at least one action step"))
    if problems:
        return None, problems
    try:
        return FlowDefinition.model_validate(definition), []
    except ValidationError as exc:  # pragma: no cover - the checks above are stricter
        return None, [FlowProblem(None, "steps", str(exc))]


def _count_steps(steps: list[Any]) -> int:
    """Every step, nested ones included (a loop's body counts once, not per iteration)."""
    total = 0
    pending = list(steps)
    while pending and total <= MAX_STEPS:
        step = pending.pop()
        total += 1
        if isinstance(step, Mapping):
            for key in _BODIES:
                body = step.get(key)
                if isinstance(body, list):
                    pending.extend(body)
    return total


_BODIES = ("then", "else", "steps")


@dataclass
class _Tally:
    """The templates of the whole flow, counted as they are checked."""

    templates: int = 0
    over: bool = False


@dataclass(frozen=True)
class _Scope:
    """What a step may read: the loops around it (`item`, `loop`) and its nesting depth."""

    loops: int = 0
    depth: int = 0
    tally: _Tally = field(default_factory=_Tally)

    @property
    def roots(self) -> frozenset[str]:
        return ROOTS | LOOP_ROOTS if self.loops else ROOTS

    def inside(self, *, loop: bool) -> _Scope:
        return _Scope(self.loops + (1 if loop else 0), self.depth + 1, self.tally)


class _StepChecker:
    """Walks the steps in text order, remembering ids seen and the actions before each step."""

    def __init__(self, problems: list[FlowProblem]) -> None:
        self.problems = problems
        self.seen: set[str] = set()
        self.earlier_actions: list[str] = []
        self.has_action = False

    def check_all(self, steps: Any, scope: _Scope, owner: str | None, where: str) -> None:
        for index, step in enumerate(steps):
            self.check(index, step, scope, owner, where)

    def check(self, index: int, step: Any, scope: _Scope, owner: str | None, where: str) -> None:
        position = f"{where}.{index}"
        if not isinstance(step, Mapping):
            self.problems.append(FlowProblem(owner, position, "a step must be an object"))
            return
        raw_id = step.get("id")
        step_id = raw_id if isinstance(raw_id, str) and raw_id else None
        report_as, prefix = (step_id, "") if step_id else (owner, f"{position}.")

        def problem(field: str, message: str) -> None:
            self.problems.append(FlowProblem(report_as, prefix + field, message))

        id_problem = _id_problem(raw_id, self.seen)
        if id_problem:
            problem("id", id_problem)
        if step_id:
            self.seen.add(step_id)
        step_type = step.get("type")
        checks: dict[Any, Callable[[], None]] = {
            "condition": lambda: _check_condition_step(step, scope, self.earlier_actions, problem),
            "action": lambda: _check_action(step, scope, self.earlier_actions, problem),
            "if": lambda: self._check_if(step, scope, report_as, prefix, problem),
            "for_each": lambda: self._check_for_each(step, scope, report_as, prefix, problem),
            "wait": lambda: _check_wait(step, scope, self.earlier_actions, problem),
        }
        check = checks.get(step_type) if isinstance(step_type, str) else None
        if check is None:
            known = "condition, action, if, for_each or wait"
            problem("type", f"unknown step type {step_type!r} ({known})")
            return
        check()
        if step_type == "action":
            self.has_action = True
            if step_id:
                self.earlier_actions.append(step_id)

    def _body(
        self,
        step: Mapping[str, Any],
        key: str,
        scope: _Scope,
        owner: str | None,
        prefix: str,
        problem: _Report,
        *,
        required: bool = True,
    ) -> None:
        body = step.get(key)
        if body is None and not required:
            return
        if not isinstance(body, list) or (required and not body):
            problem(key, f"{key} needs a non-empty list of steps")
            return
        if scope.depth + 1 > MAX_NESTING:
            problem(key, f"blocks nest at most {MAX_NESTING} deep")
            return
        self.check_all(body, scope.inside(loop=key == "steps"), owner, f"{prefix}{key}".strip("."))

    def _check_if(
        self,
        step: Mapping[str, Any],
        scope: _Scope,
        owner: str | None,
        prefix: str,
        problem: _Report,
    ) -> None:
        if "when" not in step:
            problem("when", "an if step needs a test in when")
        else:
            _check_test(step["when"], "when", 1, scope, self.earlier_actions, problem)
        self._body(step, "then", scope, owner, prefix, problem)
        self._body(step, "else", scope, owner, prefix, problem, required=False)

    def _check_for_each(
        self,
        step: Mapping[str, Any],
        scope: _Scope,
        owner: str | None,
        prefix: str,
        problem: _Report,
    ) -> None:
        items = step.get("items")
        message = _items_problem(items, scope, self.earlier_actions)
        if message:
            problem("items", message)
        self._body(step, "steps", scope, owner, prefix, problem)


def _items_problem(items: Any, scope: _Scope, earlier_actions: list[str]) -> str | None:
    example = "a path to a list, such as trigger.items or steps.action_1.items"
    if not isinstance(items, str) or not items.strip():
        return f"for_each needs items: {example}"
    parts = items.strip().split(".")
    if any(not part for part in parts) or "{" in items:
        return f"{items!r} is not {example}"
    root = parts[0]
    if root == "steps":
        if len(parts) < 2 or parts[1] not in earlier_actions:
            return f"{items!r}: steps.<id> must name an earlier action step"
    elif root == "item" and scope.loops == 0:
        return f"{items!r}: item is only known inside a for_each"
    elif root not in {"trigger", "steps", "item"}:
        return f"{items!r} must start with trigger., steps. or item. ({example})"
    return None


def _id_problem(raw_id: Any, seen: set[str]) -> str | None:
    if not isinstance(raw_id, str) or not raw_id:
        return "every step needs an id (a non-empty string)"
    if len(raw_id) > MAX_STEP_ID:
        return f"a step id has at most {MAX_STEP_ID} characters"
    if not _STEP_ID.fullmatch(raw_id):
        return "a step id uses only letters, digits, '_' and '-'"
    if raw_id in seen:
        return f"duplicate step id {raw_id!r}"
    return None


def _check_condition_step(
    step: Mapping[str, Any], scope: _Scope, earlier_actions: list[str], problem: _Report
) -> None:
    if "when" in step:
        if any(key in step for key in ("field", "operator")):
            problem("when", "a condition has either when or field/operator/value, not both")
            return
        _check_test(step["when"], "when", 1, scope, earlier_actions, problem)
        return
    _check_leaf(step, "", scope, earlier_actions, problem)


def _check_test(
    test: Any,
    where: str,
    depth: int,
    scope: _Scope,
    earlier_actions: list[str],
    problem: _Report,
) -> None:
    """A leaf `{field, operator, value?}` or a group `{all|any: [tests]}` / `{not: test}`."""
    if not isinstance(test, Mapping):
        problem(where, "a test is an object: {field, operator, value} or {all|any|not: ...}")
        return
    groups = [key for key in ("all", "any", "not") if key in test]
    if not groups:
        _check_leaf(test, f"{where}.", scope, earlier_actions, problem)
        return
    if len(test) != 1:
        problem(where, f"a group has one key ({groups[0]}), not {sorted(test)}")
        return
    if depth >= MAX_TEST_DEPTH:
        problem(where, f"test groups nest at most {MAX_TEST_DEPTH} deep")
        return
    key = groups[0]
    inner = test[key]
    if key == "not":
        _check_test(inner, f"{where}.not", depth + 1, scope, earlier_actions, problem)
        return
    if not isinstance(inner, list) or not inner:
        problem(f"{where}.{key}", f"{key} needs a non-empty list of tests")
        return
    if len(inner) > MAX_VALUE_ITEMS:
        problem(f"{where}.{key}", f"a group has at most {MAX_VALUE_ITEMS} tests")
        return
    for index, item in enumerate(inner):
        _check_test(item, f"{where}.{key}.{index}", depth + 1, scope, earlier_actions, problem)


def _check_leaf(
    test: Mapping[str, Any],
    prefix: str,
    scope: _Scope,
    earlier_actions: list[str],
    problem: _Report,
) -> None:
    def leaf_problem(field: str, message: str) -> None:
        problem(prefix + field, message)

    extra = sorted(str(key) for key in test if key not in _LEAF_KEYS)
    if prefix and extra:  # inside `when`, a typo must not pass silently
        leaf_problem(extra[0], "not a field of a test (field, operator, value)")
    field = test.get("field")
    if not isinstance(field, str) or not field.strip():
        leaf_problem("field", "a condition needs a field (a dotted path such as customer.email)")
    elif any(not part for part in field.removeprefix("trigger.").split(".")):
        leaf_problem("field", f"{field!r} is not a dotted path such as customer.email")
    elif field.startswith("steps.") and field.split(".")[1] not in earlier_actions:
        leaf_problem("field", f"{field!r}: steps.<id> must name an earlier action step")
    operator = test.get("operator")
    if not isinstance(operator, str) or operator not in OPERATORS:
        leaf_problem("operator", f"unknown operator {operator!r} ({', '.join(sorted(OPERATORS))})")
        return
    if operator in UNARY_OPERATORS:
        return
    if "value" not in test:
        leaf_problem("value", f"{operator} needs a value to compare with")
        return
    value = test["value"]
    if isinstance(value, str) and _is_template(value):
        _check_text(value, "value", scope, earlier_actions, leaf_problem)
        return  # its type is known when it renders
    for message in _value_problems(operator, value):
        leaf_problem("value", message)


_LEAF_KEYS = frozenset({"field", "operator", "value"})


def _value_problems(operator: str, value: Any) -> list[str]:
    if isinstance(value, list) and len(value) > MAX_VALUE_ITEMS:
        return [f"a value list has at most {MAX_VALUE_ITEMS} items, this one {len(value)}"]
    if operator in LIST_OPERATORS and not isinstance(value, list):
        return [f'{operator} needs a list value, such as ["paid", "fulfilled"]']
    if operator in ORDERING_OPERATORS and (
        isinstance(value, bool) or not isinstance(value, int | float | str)
    ):
        return [f"{operator} compares with a number, a date or a string"]
    if value is None and operator not in {"equals", "not_equals"}:
        return [f"{operator} needs a value to compare with, not null"]
    if operator in {"starts_with", "ends_with"} and not isinstance(value, str | int | float):
        return [f"{operator} needs a string value"]
    return []


def _check_wait(
    step: Mapping[str, Any], scope: _Scope, earlier_actions: list[str], problem: _Report
) -> None:
    duration, until = step.get("duration"), step.get("until")
    if (duration is None) == (until is None):
        problem("duration", 'a wait has either a duration ("3 days") or until (a date-time)')
        return
    if duration is not None:
        try:
            parse_duration(duration)
        except ValueError as exc:
            problem("duration", str(exc))
        return
    if not isinstance(until, str) or not until.strip():
        problem("until", "until is an ISO 8601 date-time or a template that renders to one")
    elif _is_template(until):
        _check_text(until, "until", scope, earlier_actions, problem)
    elif parse_instant(until) is None:
        problem("until", f"{until!r} is not an ISO 8601 date-time")


_DURATION = re.compile(r"\s*(\d{1,9})\s*(second|minute|hour|day|week)s?\s*", re.IGNORECASE)


def parse_duration(text: Any) -> timedelta:
    """`"3 days"` as a timedelta; units seconds to weeks, at most `MAX_WAIT`."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f'{text!r} is not a duration such as "3 days" (seconds ... weeks)')
    amount, unit = int(match.group(1)), match.group(2).lower()
    length = timedelta(**{f"{unit}s": amount}) if amount <= 10_000_000 else MAX_WAIT * 2
    if length > MAX_WAIT:
        raise ValueError(f"a wait lasts at most {MAX_WAIT.days} days")
    return length


def _check_text(
    text: str, where: str, scope: _Scope, earlier_actions: list[str], problem: _Report
) -> None:
    if len(text) > MAX_TEMPLATE_CHARS:
        problem(
            where, f"a template has at most {MAX_TEMPLATE_CHARS} characters, this one {len(text)}"
        )
        return  # never parsed: its length is the problem
    if not _is_template(text):
        return
    tally = scope.tally
    tally.templates += 1
    if tally.templates > MAX_TEMPLATES:
        if not tally.over:  # said once, at the first one past the limit; none parsed after
            tally.over = True
            problem(where, f"a flow has at most {MAX_TEMPLATES} templates ({{{{ }}}} or {{% %}})")
        return
    for message in check_template(text, earlier_actions, roots=scope.roots):
        problem(where, message)


def _check_action(
    step: Mapping[str, Any], scope: _Scope, earlier_actions: list[str], problem: _Report
) -> None:
    action_type = step.get("action_type")
    spec = action_spec(action_type) if isinstance(action_type, str) else None
    if spec is None:
        problem("action_type", f"unknown action type {action_type!r} ({', '.join(ACTIONS)})")
    payload = step.get("payload_template")
    if not isinstance(payload, Mapping):
        problem("payload_template", "payload_template must be an object")
        return
    if spec is not None:
        for field, message in _payload_problems(spec, payload):
            problem(f"payload_template.{field}", message)
    for where, text in string_leaves(payload, "payload_template"):
        _check_text(text, where, scope, earlier_actions, problem)


def _payload_problems(spec: ActionSpec, payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Missing and unknown fields, and literal values the action's schema refuses.

    A value that is (or sits inside) a template is only known at run time: it is accepted
    here whatever the field's type, and the receiver judges the rendered value.
    """
    known = spec.known_fields()
    problems = [
        (name, f"{spec.action_type} requires {name}")
        for name in spec.required_fields()
        if name not in payload
    ]
    problems += [
        (str(name), f"not a field of {spec.action_type} ({', '.join(known)})")
        for name in payload
        if name not in known
    ]
    try:
        spec.payload_model.model_validate(dict(payload))
    except ValidationError as exc:
        for error in exc.errors():
            location = error["loc"]
            top_level = len(location) == 1 and error["type"] in {"missing", "extra_forbidden"}
            if top_level or _templated(payload, location):  # top level: reported above
                continue
            field = ".".join(str(part) for part in location)
            problems.append((field, error["msg"]))
    return problems


def _templated(payload: Any, location: tuple[int | str, ...]) -> bool:
    """Whether the value at `location` is a template or lies inside one."""
    current = payload
    for part in location:
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if not (in_list or (isinstance(current, Mapping) and part in current)):
            break  # the error is about a value the payload does not have, or inside a template
        current = current[part]
    return _is_template(current)


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


async def off_the_loop(function: Callable[..., T], *args: Any) -> T:
    """Run a flow's validation in a worker thread: parsing up to `MAX_TEMPLATES` templates of a
    tenant's flow takes a few hundred milliseconds at worst, which must not hold up the event
    loop that serves everyone else's requests."""
    return await anyio.to_thread.run_sync(functools.partial(function, *args))
