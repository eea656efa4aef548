"""Flow definitions: the models the engine runs, and the validation done when a flow is saved.

Validation is total and exhaustive: it takes whatever JSON arrived and lists every problem at
once, each naming the step id and the field (`action_1`, `payload_template.to`), so the API
can answer one 422 a merchant can act on. A definition that validates can be run: every
operator and action type is known, every payload can satisfy its action's schema, and every
template parses and reads only the trigger, the time and the results of earlier actions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bettercallsold.automation.conditions import (
    LIST_OPERATORS,
    OPERATORS,
    ORDERING_OPERATORS,
    UNARY_OPERATORS,
)
from bettercallsold.automation.paths import string_leaves
from bettercallsold.automation.templates import check_template
from bettercallsold.catalogue import ACTIONS, EVENT_TYPES, ActionSpec, action_spec

FLOW_STATUSES = ("active", "paused", "draft")
MAX_STEPS = 50
MAX_STEP_ID = 100
MAX_DEFINITION_BYTES = 256 * 1024
"""The contract's limits on what one tenant may save: checked before anything is parsed."""
MAX_TEMPLATE_CHARS = 10_000
MAX_VALUE_ITEMS = 1_000
_STEP_ID = re.compile(r"[A-Za-z0-9_-]+")
_Report = Callable[[str, str], None]
"""Records a problem of the step being checked: (field, message)."""


class _Step(BaseModel):
    # Extra keys (a builder's layout hints, say) are kept, not refused: they do not run.
    model_config = ConfigDict(extra="allow")

    id: str


class ConditionStep(_Step):
    type: Literal["condition"]
    field: str
    operator: str
    value: Any = None


class ActionStep(_Step):
    type: Literal["action"]
    action_type: str
    payload_template: dict[str, Any]


class FlowDefinition(BaseModel):
    model_config = ConfigDict(extra="allow")

    steps: list[Annotated[ConditionStep | ActionStep, Field(discriminator="type")]]


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
    its position (`step_id=None`, `field="steps.2.operator"`). Templates may refer with
    `steps.<id>` only to action steps that come earlier.
    """
    problems: list[FlowProblem] = []
    if not isinstance(trigger_event, str) or trigger_event not in EVENT_TYPES:
        known = ", ".join(EVENT_TYPES)
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
    if len(steps) > MAX_STEPS:
        message = f"a flow has at most {MAX_STEPS} steps, this one has {len(steps)}"
        return None, [*problems, FlowProblem(None, "steps", message)]
    checker = _StepChecker(problems)
    for index, step in enumerate(steps):
        checker.check(index, step)
    if not any(isinstance(step, Mapping) and step.get("type") == "action" for step in steps):
        problems.append(FlowProblem(None, "steps", "a flow needs at least one action step"))
    if problems:
        return None, problems
    try:
        return FlowDefinition.model_validate(definition), []
    except ValidationError as exc:  # pragma: no cover - the checks above are stricter
        return None, [FlowProblem(None, "steps", str(exc))]


class _StepChecker:
    """Walks the steps in order, remembering ids seen and the actions before each step."""

    def __init__(self, problems: list[FlowProblem]) -> None:
        self.problems = problems
        self.seen: set[str] = set()
        self.earlier_actions: list[str] = []

    def check(self, index: int, step: Any) -> None:
        if not isinstance(step, Mapping):
            self.problems.append(FlowProblem(None, f"steps.{index}", "a step must be an object"))
            return
        raw_id = step.get("id")
        step_id = raw_id if isinstance(raw_id, str) and raw_id else None
        prefix = "" if step_id else f"steps.{index}."

        def problem(field: str, message: str) -> None:
            self.problems.append(FlowProblem(step_id, prefix + field, message))

        id_problem = _id_problem(raw_id, self.seen)
        if id_problem:
            problem("id", id_problem)
        step_type = step.get("type")
        if step_type == "condition":
            _check_condition(step, problem)
        elif step_type == "action":
            _check_action(step, self.earlier_actions, problem)
        else:
            problem("type", f"unknown step type {step_type!r} (condition or action)")
        if step_id:
            self.seen.add(step_id)
            if step_type == "action":
                self.earlier_actions.append(step_id)


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


def _check_condition(step: Mapping[str, Any], problem: _Report) -> None:
    field = step.get("field")
    if not isinstance(field, str) or not field.strip():
        problem("field", "a condition needs a field (a dotted path such as customer.email)")
    elif any(not part for part in field.removeprefix("trigger.").split(".")):
        problem("field", f"{field!r} is not a dotted path such as customer.email")
    operator = step.get("operator")
    if not isinstance(operator, str) or operator not in OPERATORS:
        problem("operator", f"unknown operator {operator!r} ({', '.join(sorted(OPERATORS))})")
        return
    if operator in UNARY_OPERATORS:
        return
    if "value" not in step:
        problem("value", f"{operator} needs a value to compare with")
        return
    value = step["value"]
    if isinstance(value, list) and len(value) > MAX_VALUE_ITEMS:
        problem("value", f"a value list has at most {MAX_VALUE_ITEMS} items, this one {len(value)}")
    elif operator in LIST_OPERATORS and not isinstance(value, list):
        problem("value", f'{operator} needs a list value, such as ["paid", "fulfilled"]')
    elif operator in ORDERING_OPERATORS and (
        isinstance(value, bool) or not isinstance(value, int | float | str)
    ):
        problem("value", f"{operator} compares with a number, a date or a string")
    elif value is None and operator not in {"equals", "not_equals"}:
        problem("value", f"{operator} needs a value to compare with, not null")
    elif operator in {"starts_with", "ends_with"} and not isinstance(value, str | int | float):
        problem("value", f"{operator} needs a string value")


def _check_action(step: Mapping[str, Any], earlier_actions: list[str], problem: _Report) -> None:
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
        if len(text) > MAX_TEMPLATE_CHARS:
            problem(
                where,
                f"a template has at most {MAX_TEMPLATE_CHARS} characters, this one {len(text)}",
            )
            continue  # never parsed: its length is the problem
        for message in check_template(text, earlier_actions):
            problem(where, message)


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
