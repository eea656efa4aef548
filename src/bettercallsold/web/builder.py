"""The flow builder's model (pure): flow definitions <-> step cards <-> submitted forms.

A card is one step as the page shows it. The browser posts the cards in their on-screen
order: one `step` field per card (its uid), then `<uid>.<field>` for the card's inputs and
`<uid>.p.<payload field>` for an action's payload. Values come back as text and are turned
into JSON by the field's kind in the catalogue's schema; a `{{ template }}` stays a string.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bettercallsold.catalogue.operators import UNARY_OPERATORS
from bettercallsold.web.palette import ActionKind, Palette, PayloadField
from bettercallsold.web.wording import humanize, validation_message

_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_KNOWN_KEYS = {
    "condition": {"id", "type", "field", "operator", "value", "when"},
    "action": {"id", "type", "action_type", "payload_template"},
    "if": {"id", "type", "when", "then", "else"},
    "for_each": {"id", "type", "items", "steps"},
    "wait": {"id", "type", "duration", "until"},
}
BRANCHES = {"if": ("then", "else"), "for_each": ("steps",)}
"""The nested step lists of each container step, in the order the page shows them."""
WAIT_UNITS = ("minutes", "hours", "days", "weeks")
_WAIT = re.compile(r"^\s*(\d{1,9})\s*(second|minute|hour|day|week)s?\s*$", re.IGNORECASE)
_TRIGGER_TEMPLATE = re.compile(r"^\{\{\s*trigger\.([A-Za-z0-9_.\[\]-]+)\s*\}\}$")


Submitted = Mapping[str, list[str]]
"""A submitted form: every field name with its values in page order."""


@dataclass
class FieldInput:
    spec: PayloadField
    value: str
    placeholder: str = ""
    error: str = ""


@dataclass
class StepCard:
    uid: str
    step_id: str
    type: str
    field: str = ""
    operator: str = "exists"
    value: str = ""
    when_json: str = ""
    """A test with groups (`all`/`any`/`not`), edited as JSON; "" for a single test."""
    items: str = ""
    wait_mode: str = "duration"
    wait_amount: str = "1"
    wait_unit: str = "days"
    until: str = ""
    action_type: str = ""
    description: str = ""
    inputs: list[FieldInput] = dataclasses.field(default_factory=list)
    raw_payload: str = ""
    """The whole payload as JSON, for an action type the catalogue does not describe."""
    extra: str = ""
    """Keys of the step this form does not edit, as JSON, kept as they were."""
    children: dict[str, list[StepCard]] = dataclasses.field(default_factory=dict)
    parent: str = ""
    """`<container uid>:<branch>` for a step nested in an `if` or a loop; "" at the top."""
    errors: list[str] = dataclasses.field(default_factory=list)
    field_errors: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.field_errors or any(item.error for item in self.inputs))

    def walk(self) -> list[StepCard]:
        """This card and every card nested in it, in page order."""
        return [
            self,
            *(c for cards in self.children.values() for card in cards for c in card.walk()),
        ]


def all_cards(cards: list[StepCard]) -> list[StepCard]:
    return [inner for card in cards for inner in card.walk()]


def cards_from_definition(
    steps: list[dict[str, Any]], palette: Palette, *, trigger_paths: list[str] | None = None
) -> list[StepCard]:
    counter = iter(range(1_000_000))
    return _cards(steps, palette, counter, trigger_paths)


def _cards(
    steps: Any,
    palette: Palette,
    counter: Any,
    trigger_paths: list[str] | None,
    parent: str = "",
) -> list[StepCard]:
    if not isinstance(steps, list):
        return []
    cards = []
    for step in steps:
        card = _card(
            f"s{next(counter)}",
            step if isinstance(step, dict) else {},
            palette,
            trigger_paths=trigger_paths,
        )
        card.parent = parent
        for branch in BRANCHES.get(card.type, ()):
            card.children[branch] = _cards(
                step.get(branch), palette, counter, trigger_paths, f"{card.uid}:{branch}"
            )
        cards.append(card)
    return cards


def new_card(
    kind: str,
    action_type: str,
    step_id: str,
    uid: str,
    palette: Palette,
    trigger_paths: list[str] | None = None,
) -> StepCard:
    """An empty card for a step dragged from the palette (the example becomes placeholders)."""
    if kind == "action":
        step: dict[str, Any] = {"id": step_id, "type": "action", "action_type": action_type}
        return _card(uid, step, palette, fresh=True, trigger_paths=trigger_paths)
    card = StepCard(uid=uid, step_id=step_id, type=kind)
    for branch in BRANCHES.get(kind, ()):
        card.children[branch] = []
    if kind == "for_each":
        card.items = "trigger.items"
    return card


def _card(
    uid: str,
    step: dict[str, Any],
    palette: Palette,
    *,
    fresh: bool = False,
    trigger_paths: list[str] | None = None,
) -> StepCard:
    step_type = str(step.get("type", ""))
    known = _KNOWN_KEYS.get(step_type)
    extra = {key: value for key, value in step.items() if known and key not in known}
    card = StepCard(
        uid=uid,
        step_id=str(step.get("id", "")),
        type=step_type if known else "other",
        extra=json.dumps(extra) if extra and known else "",
    )
    if card.type == "other":
        card.raw_payload = json.dumps(step, indent=2)
    elif step_type in ("condition", "if"):
        test = step.get("when") if "when" in step else step
        if isinstance(test, dict) and "field" in test and not ({"all", "any", "not"} & set(test)):
            card.field = str(test.get("field", ""))
            card.operator = str(test.get("operator", "exists"))
            card.value = render_operand(test.get("value"))
        elif test is not None:
            card.when_json = json.dumps(test, indent=2)
    elif step_type == "for_each":
        card.items = str(step.get("items") or "")
    elif step_type == "wait":
        if step.get("until") is not None:
            card.wait_mode, card.until = "until", str(step.get("until") or "")
        else:
            match = _WAIT.match(str(step.get("duration") or ""))
            if match:
                card.wait_amount = match[1]
                card.wait_unit = match[2].lower() + "s"
            if card.wait_unit not in WAIT_UNITS:
                card.wait_amount = str(_in_minutes(int(card.wait_amount)))
                card.wait_unit = "minutes"
    else:
        card.action_type = str(step.get("action_type", ""))
        payload = step.get("payload_template") or {}
        kind = palette.action(card.action_type)
        if kind is None or not isinstance(payload, dict) or set(payload) - _names(kind):
            card.raw_payload = json.dumps(payload, indent=2)
        else:
            card.description = kind.description
            card.inputs = [
                FieldInput(
                    spec=spec,
                    value="" if fresh else render_value(payload.get(spec.name), spec),
                    placeholder=example_hint(kind.example.get(spec.name), spec, trigger_paths),
                )
                for spec in kind.fields
            ]
    return card


def _in_minutes(seconds: int) -> int:
    return max(1, seconds // 60)


def example_hint(example: Any, spec: PayloadField, trigger_paths: list[str] | None) -> str:
    """A placeholder that cannot pass for a filled value: "e.g. …", and never a trigger field
    the flow's trigger does not have (`{{trigger.order_id}}` on a customer trigger)."""
    text = render_value(example, spec)
    if not text:
        return ""
    if trigger_paths is not None:
        for path in re.findall(r"\{\{\s*trigger\.([A-Za-z0-9_.]+)", text):
            if path not in trigger_paths:
                return ""
    return f"e.g. {text}"


def _names(kind: ActionKind) -> set[str]:
    return {spec.name for spec in kind.fields}


def condition_field(text: str) -> str:
    """A condition's field as the engine reads it: a trigger field's path, even when a
    template (`{{trigger.email}}`) was typed or inserted instead."""
    text = text.strip()
    found = _TRIGGER_TEMPLATE.match(text)
    return found[1] if found else text


def definition_from_form(form: Submitted, palette: Palette) -> list[dict[str, Any]]:
    """The submitted cards, in page order, as flow definition steps (nested by `.parent`).

    An `if` always has `then`; its `else` (optional in the contract) only when it has steps.
    """
    steps: list[dict[str, Any]] = []
    built: dict[str, dict[str, Any]] = {}
    for uid in form.get("step", []):
        if not _UID.match(uid) or uid in built:
            continue

        def value(name: str, uid: str = uid) -> str:
            return _first(form, f"{uid}.{name}").strip()

        step = _step_from_form(uid, value, form, palette)
        built[uid] = step
        parent_uid, _, branch = value("parent").partition(":")
        parent = built.get(parent_uid)
        if parent is not None and branch in BRANCHES.get(str(parent.get("type")), ()):
            parent.setdefault(branch, []).append(step)
        else:
            steps.append(step)
    for step in built.values():
        if step.get("type") == "if" and step.get("else") == []:
            del step["else"]
    return steps


def _step_from_form(uid: str, value: Any, form: Submitted, palette: Palette) -> dict[str, Any]:
    step: dict[str, Any] = {"id": value("id"), "type": value("type")}
    kind = step["type"]
    if kind == "other":
        step = _json_or(value("raw"), step)
    elif kind in ("condition", "if"):
        test = _test_from_form(value)
        if kind == "if":
            step.update({"when": test, "then": [], "else": []})
        elif "field" in test and not value("when"):
            step.update(test)
        else:
            step["when"] = test
    elif kind == "for_each":
        step.update({"items": value("items"), "steps": []})
    elif kind == "wait":
        if value("wait_mode") == "until":
            step["until"] = value("until")
        else:
            unit = value("wait_unit") if value("wait_unit") in WAIT_UNITS else "days"
            amount = value("wait_amount") or "1"
            step["duration"] = f"{amount} {unit[:-1] if amount == '1' else unit}"
    else:
        step["action_type"] = value("action_type")
        step["payload_template"] = _payload(form, uid, value, palette.action(value("action_type")))
    extra = _json_or(value("extra"), {})
    if isinstance(extra, dict) and isinstance(step, dict):
        step = {**extra, **step}
    return step if isinstance(step, dict) else {"id": value("id"), "type": "other"}


def _test_from_form(value: Any) -> dict[str, Any]:
    raw = value("when")
    if raw:
        parsed = _json_or(raw, None)
        return parsed if isinstance(parsed, dict) else {"field": "", "operator": "", "raw": raw}
    test: dict[str, Any] = {"field": condition_field(value("field")), "operator": value("operator")}
    operand = parse_operand(value("value"), test["operator"])
    if operand is not None:
        test["value"] = operand
    return test


def _first(form: Submitted, key: str) -> str:
    values = form.get(key) or [""]
    return values[0]


def _payload(form: Submitted, uid: str, value: Any, kind: ActionKind | None) -> Any:
    raw = value("raw")
    if raw or kind is None:
        return _json_or(raw, raw) if raw else {}
    payload: dict[str, Any] = {}
    for spec in kind.fields:
        parsed = parse_value(_first(form, f"{uid}.p.{spec.name}"), spec)
        if parsed is not None:
            payload[spec.name] = parsed
    return payload


def _json_or(text: str, default: Any) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return default


def parse_value(text: str, spec: PayloadField) -> Any:
    """A payload field's text as JSON by the field's kind; None (left out) when empty."""
    text = text.strip()
    if not text:
        return None
    if "{{" in text:
        return text
    if spec.kind in ("number", "integer"):
        try:
            return int(text) if re.fullmatch(r"-?\d+", text) else float(text)
        except ValueError:
            return text
    if spec.kind == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    if spec.kind == "list":
        if text.startswith("["):
            return _json_or(text, text)
        return [part.strip() for part in text.split(",") if part.strip()]
    if spec.kind == "json":
        return _json_or(text, text)
    return text


def render_value(value: Any, spec: PayloadField) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if (
        spec.kind == "list"
        and isinstance(value, list)
        and all(isinstance(item, str) and "," not in item for item in value)
    ):
        return ", ".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def parse_operand(text: str, operator: str) -> Any:
    """A condition's value: JSON when it parses (numbers, lists), else the text itself."""
    if operator in UNARY_OPERATORS or not text:
        return None
    parsed = _json_or(text, text)
    if operator in ("in", "not_in") and not isinstance(parsed, list):
        return [part.strip() for part in text.split(",") if part.strip()]
    return parsed


def render_operand(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        # Text that would read back as another JSON type is shown quoted, so it stays a string.
        return json.dumps(value) if _json_or(value, value) != value else value
    return json.dumps(value)


def attach_errors(
    cards: list[StepCard],
    detail: Any,
    steps: list[dict[str, Any]],
    trigger_paths: list[str] | None = None,
) -> list[tuple[str, str]]:
    """Put the API's 422 messages next to the step (and field) their `loc` names.

    Returns `(where, message)` for the messages that name no step (`where` is the dotted
    `loc`, such as `name`), for the flow's own fields and the top of the form.
    """
    by_id = {card.step_id: card for card in all_cards(cards)}
    general: list[tuple[str, str]] = []
    for error in detail if isinstance(detail, list) else [{"msg": detail}]:
        entry = error if isinstance(error, dict) else {"msg": error}
        original = str(entry.get("msg", entry))
        message = validation_message(original, trigger_paths)
        loc = [part for part in entry.get("loc", []) if part not in ("body",)]
        step_id, rest = _step_in_loc(loc, steps)
        if step_id is None:
            step_id = _step_named_in(original, by_id)
        card = by_id.get(step_id or "")
        if card is None:
            general.append((".".join(str(part) for part in loc), message))
            continue
        names = [str(part) for part in rest if part not in ("payload_template", "payload")]
        if names and names[0] == "when" and not card.when_json:
            names = names[1:]
        target = names[0] if names else ""
        if target and any(item.spec.name == target for item in card.inputs):
            next(item for item in card.inputs if item.spec.name == target).error = message
        elif target in _CARD_FIELDS:
            card.field_errors[_CARD_FIELDS[target]] = message
        else:
            card.errors.append(f"{humanize(target)}: {message}" if target else message)
    return general


_CARD_FIELDS = {
    "field": "field",
    "operator": "operator",
    "value": "value",
    "action_type": "action_type",
    "when": "when",
    "items": "items",
    "duration": "wait",
    "until": "wait",
}


def required_problems(cards: list[StepCard]) -> int:
    """Mark what the page can tell is missing before asking the API (a field left empty), so
    a flow without a name still shows its steps' problems in the same round; returns how many."""
    found = 0
    for card in all_cards(cards):
        if card.type in ("condition", "if") and not card.when_json and not card.field.strip():
            card.field_errors.setdefault("field", "Pick the field to check.")
            found += 1
        if (
            card.type in ("condition", "if")
            and not card.when_json
            and card.operator not in UNARY_OPERATORS
            and not card.value.strip()
        ):
            card.field_errors.setdefault("value", "Give a value to compare with.")
            found += 1
        for item in card.inputs:
            if item.spec.required and not item.value.strip() and not item.error:
                item.error = "This cannot be empty."
                found += 1
    return found


def _step_named_in(message: str, by_id: dict[str, StepCard]) -> str | None:
    return next(
        (sid for sid in by_id if sid and re.search(rf"\b{re.escape(sid)}\b", message)), None
    )


def _step_in_loc(loc: list[Any], steps: list[dict[str, Any]]) -> tuple[str | None, list[Any]]:
    ids = set(_step_ids(steps))
    for index, part in enumerate(loc):
        if isinstance(part, str) and part in ids and part != "steps":
            return part, loc[index + 1 :]
        if part == "steps" and index + 1 < len(loc) and isinstance(loc[index + 1], int):
            position = loc[index + 1]
            if 0 <= position < len(steps):
                return str(steps[position].get("id")), loc[index + 2 :]
    return None, []


def _step_ids(steps: Any) -> list[str]:
    ids: list[str] = []
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict):
            ids.append(str(step.get("id")))
            for branch in ("then", "else", "steps"):
                ids.extend(_step_ids(step.get(branch)))
    return ids
