"""The builder's palette, read from the plugin's catalogue answer (pure).

`GET /plugins/automation/catalogue` describes each action type with its payload's JSON schema
and each event type with a sample payload; this module turns that into form fields, operator
choices and the `{{trigger.x}}` suggestions for templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OPERATORS: tuple[str, ...] = (
    "exists",
    "not_exists",
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "greater_than",
    "greater_than_or_equal",
    "less_than",
    "less_than_or_equal",
    "in",
    "not_in",
)
"""The contract's operators, used only when the catalogue does not list its own."""

UNARY_OPERATORS = frozenset({"exists", "not_exists"})


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
