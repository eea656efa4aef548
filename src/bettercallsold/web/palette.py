"""The builder's palette, read from the plugin's catalogue answer (pure).

`GET /plugins/automation/catalogue` describes each action type with its payload's JSON schema
and each event type with a sample payload; this module turns that into form fields, operator
choices and the `{{trigger.x}}` suggestions for templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bettercallsold.catalogue.actions import RESULT_EVENTS
from bettercallsold.catalogue.operators import OPERATORS


@dataclass(frozen=True)
class PayloadField:
    name: str
    kind: str
    """string, number, integer, boolean, datetime, enum, list (of strings) or json."""
    required: bool
    description: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionKind:
    action_type: str
    description: str
    fields: tuple[PayloadField, ...]
    example: dict[str, Any] = field(default_factory=dict)

    def field_named(self, name: str) -> PayloadField | None:
        return next((item for item in self.fields if item.name == name), None)


@dataclass(frozen=True)
class Palette:
    actions: dict[str, ActionKind]
    samples: dict[str, dict[str, Any]]
    operators: tuple[str, ...]

    @property
    def event_types(self) -> list[str]:
        return list(self.samples)

    def trigger_paths(self, event_type: str) -> list[str]:
        return flatten_paths(self.samples.get(event_type, {}))

    def action(self, action_type: str) -> ActionKind | None:
        return self.actions.get(action_type)


def palette_from_catalogue(catalogue: Any) -> Palette:
    """Tolerates the catalogue as lists of objects or as mappings keyed by type."""
    data = catalogue if isinstance(catalogue, dict) else {}
    actions: dict[str, ActionKind] = {}
    for action_type, spec in _keyed(data.get("actions"), "action_type"):
        schema = spec.get("payload_schema") or spec.get("schema") or {}
        example = spec.get("example")
        actions[action_type] = ActionKind(
            action_type=action_type,
            description=str(spec.get("description") or ""),
            fields=fields_from_schema(schema),
            example=example if isinstance(example, dict) else {},
        )
    samples: dict[str, dict[str, Any]] = {}
    for event_type, spec in _keyed(data.get("events", data.get("event_types")), "event_type"):
        sample = spec.get("sample", spec.get("sample_payload", spec.get("payload", spec)))
        samples[event_type] = sample if isinstance(sample, dict) else {}
    operators = data.get("operators")
    if isinstance(operators, dict):
        operators = list(operators)
    names = tuple(
        str(op.get("name", op.get("operator"))) if isinstance(op, dict) else str(op)
        for op in (operators or ())
    )
    return Palette(actions=actions, samples=samples, operators=names or OPERATORS)


def _keyed(entries: Any, key: str) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(entries, dict):
        return [
            (str(name), spec if isinstance(spec, dict) else {"sample": spec})
            for name, spec in entries.items()
        ]
    if isinstance(entries, list):
        return [
            (str(spec[key]), spec) for spec in entries if isinstance(spec, dict) and spec.get(key)
        ]
    return []


def fields_from_schema(schema: dict[str, Any]) -> tuple[PayloadField, ...]:
    required = set(schema.get("required", []))
    properties: dict[str, Any] = schema.get("properties", {})
    return tuple(
        _field(name, prop, name in required, schema.get("$defs", {}))
        for name, prop in properties.items()
    )


def _field(name: str, prop: dict[str, Any], required: bool, defs: dict[str, Any]) -> PayloadField:
    variants = [item for item in prop.get("anyOf", [prop]) if item.get("type") != "null"]
    main = variants[0] if variants else prop
    if "$ref" in main:
        main = defs.get(main["$ref"].rsplit("/", 1)[-1], {"type": "object"})
    kind = _kind(main)
    choices = tuple(str(choice) for choice in main.get("enum", ()))
    return PayloadField(
        name=name,
        kind=kind,
        required=required,
        description=str(prop.get("description") or main.get("description") or ""),
        choices=choices,
    )


def _kind(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "enum"
    kind = schema.get("type", "json")
    if kind == "string" and schema.get("format") == "date-time":
        return "datetime"
    if kind == "array":
        return "list" if schema.get("items", {}).get("type") == "string" else "json"
    if kind in ("string", "number", "integer", "boolean"):
        return str(kind)
    return "json"


def flatten_paths(sample: Any, prefix: str = "", depth: int = 0) -> list[str]:
    """Dotted paths of a sample payload's values (objects descended, lists kept whole)."""
    if not isinstance(sample, dict) or depth > 4:
        return [prefix] if prefix else []
    paths: list[str] = []
    for key, value in sample.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            paths.extend(flatten_paths(value, path, depth + 1))
        else:
            paths.append(path)
    return paths


TEMPLATE_FILTERS: tuple[tuple[str, str], ...] = (
    ("money", "a number as an amount: 599.7 → 599.70"),
    ("date", 'a date in a format: date: "%Y-%m-%d"'),
    ("add_time", 'a date moved: add_time: "3 days"'),
    ("default", 'a value for when it is empty: default: "friend"'),
    ("upcase", "in capitals"),
    ("downcase", "in small letters"),
    ("capitalize", "first letter in capital"),
    ("size", "how many items (or characters)"),
    ("join", 'a list as text: join: ", "'),
    ("json", "the value as JSON"),
)
"""The filters a placeholder can use, each with one line for a merchant."""


def list_paths(sample: Any) -> dict[str, list[str]]:
    """Paths of the sample's lists, each with the fields of its first item."""
    found: dict[str, list[str]] = {}

    def visit(value: Any, prefix: str, depth: int) -> None:
        if depth > 4 or not isinstance(value, dict):
            return
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(inner, list):
                first = inner[0] if inner else None
                found[path] = flatten_paths(first) if isinstance(first, dict) else []
            elif isinstance(inner, dict):
                visit(inner, path, depth + 1)

    visit(sample, "", 0)
    return found


def picker(palette: Palette, event_type: str) -> dict[str, Any]:
    """What the variable picker offers for a trigger: its fields, lists, the actions' result
    fields (by action type) and the filters."""
    lists = list_paths(palette.samples.get(event_type, {}))
    return {
        "trigger_paths": palette.trigger_paths(event_type),
        "list_paths": list(lists),
        "loop_items": {f"trigger.{path}": fields for path, fields in lists.items()},
        "step_outputs": {
            action_type: flatten_paths(
                {
                    k: v
                    for k, v in palette.samples.get(RESULT_EVENTS.get(action_type, ""), {}).items()
                    if k != "changed_fields"
                }
            )
            for action_type in palette.actions
        },
        "template_filters": TEMPLATE_FILTERS,
    }
