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

from bettercallsold.web.palette import UNARY_OPERATORS, ActionKind, Palette, PayloadField

_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_KNOWN_KEYS = {
    "condition": {"id", "type", "field", "operator", "value"},
    "action": {"id", "type", "action_type", "payload_template"},
}


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
    action_type: str = ""
    description: str = ""
    inputs: list[FieldInput] = dataclasses.field(default_factory=list)
    raw_payload: str = ""
    """The whole payload as JSON, for an action type the catalogue does not describe."""
    extra: str = ""
    """Keys of the step this form does not edit, as JSON, kept as they were."""
    errors: list[str] = dataclasses.field(default_factory=list)
    field_errors: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.field_errors or any(item.error for item in self.inputs))


def cards_from_definition(steps: list[dict[str, Any]], palette: Palette) -> list[StepCard]:
    return [_card(f"s{index}", step, palette) for index, step in enumerate(steps)]


def new_card(kind: str, action_type: str, step_id: str, uid: str, palette: Palette) -> StepCard:
    """An empty card for a step dragged from the palette (the example becomes placeholders)."""
    if kind == "condition":
        return StepCard(uid=uid, step_id=step_id, type="condition")
    return _card(
        uid, {"id": step_id, "type": "action", "action_type": action_type}, palette, fresh=True
    )


def _card(uid: str, step: dict[str, Any], palette: Palette, *, fresh: bool = False) -> StepCard:
    step_type = str(step.get("type", ""))
    extra = {key: value for key, value in step.items() if key not in _KNOWN_KEYS.get(step_type, {})}
    card = StepCard(
        uid=uid,
        step_id=str(step.get("id", "")),
        type=step_type if step_type in _KNOWN_KEYS else "other",
        extra=json.dumps(extra) if extra and step_type in _KNOWN_KEYS else "",
    )
    if card.type == "other":
        card.raw_payload = json.dumps(step, indent=2)
    elif step_type == "condition":
        card.field = str(step.get("field", ""))
        card.operator = str(step.get("operator", "exists"))
        card.value = render_operand(step.get("value"))
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
                    placeholder=render_value(kind.example.get(spec.name), spec),
                )
                for spec in kind.fields
            ]
    return card


def _names(kind: ActionKind) -> set[str]:
    return {spec.name for spec in kind.fields}


def definition_from_form(form: Submitted, palette: Palette) -> list[dict[str, Any]]:
    """The submitted cards, in page order, as flow definition steps."""
    steps: list[dict[str, Any]] = []
    for uid in form.get("step", []):
        if not _UID.match(uid):
            continue

        def value(name: str, uid: str = uid) -> str:
            return _first(form, f"{uid}.{name}").strip()

        step: dict[str, Any] = {"id": value("id"), "type": value("type")}
        if step["type"] == "other":
            step = _json_or(value("raw"), step)
        elif step["type"] == "condition":
            step["field"] = value("field")
            step["operator"] = value("operator")
            operand = parse_operand(value("value"), step["operator"])
            if operand is not None:
                step["value"] = operand
        else:
            step["action_type"] = value("action_type")
            step["payload_template"] = _payload(
                form, uid, value, palette.action(value("action_type"))
            )
        extra = _json_or(value("extra"), {})
        if isinstance(extra, dict) and isinstance(step, dict):
            step = {**extra, **step}
        steps.append(step)
    return steps


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
    cards: list[StepCard], detail: Any, steps: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """Put the API's 422 messages next to the step (and field) their `loc` names.

    Returns `(where, message)` for the messages that name no step (`where` is the dotted
    `loc`, such as `name`), for the flow's own fields and the top of the form.
    """
    by_id = {card.step_id: card for card in cards}
    general: list[tuple[str, str]] = []
    for error in detail if isinstance(detail, list) else [{"msg": detail}]:
        entry = error if isinstance(error, dict) else {"msg": error}
        message = str(entry.get("msg", entry))
        loc = [part for part in entry.get("loc", []) if part not in ("body",)]
        step_id, rest = _step_in_loc(loc, steps)
        if step_id is None:
            step_id = _step_named_in(message, by_id)
        card = by_id.get(step_id or "")
        if card is None:
            general.append((".".join(str(part) for part in loc), message))
            continue
        names = [str(part) for part in rest if part not in ("payload_template", "payload")]
        target = names[0] if names else ""
        if target and any(item.spec.name == target for item in card.inputs):
            next(item for item in card.inputs if item.spec.name == target).error = message
        elif target in ("field", "operator", "value", "action_type"):
            card.field_errors[target] = message
        else:
            card.errors.append(f"{target}: {message}" if target else message)
    return general


def _step_named_in(message: str, by_id: dict[str, StepCard]) -> str | None:
    return next(
        (sid for sid in by_id if sid and re.search(rf"\b{re.escape(sid)}\b", message)), None
    )


def _step_in_loc(loc: list[Any], steps: list[dict[str, Any]]) -> tuple[str | None, list[Any]]:
    ids = {str(step.get("id")) for step in steps}
    for index, part in enumerate(loc):
        if isinstance(part, str) and part in ids and part != "steps":
            return part, loc[index + 1 :]
        if part == "steps" and index + 1 < len(loc) and isinstance(loc[index + 1], int):
            position = loc[index + 1]
            if 0 <= position < len(steps):
                return str(steps[position].get("id")), loc[index + 2 :]
    return None, []
