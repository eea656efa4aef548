"""Dotted paths into a trigger payload: the `field` of a condition (`customer.address.city`).

Pure and total: a path that does not lead anywhere is "not found", never an exception, so a
condition on a payload of an unexpected shape fails cleanly instead of crashing the flow.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

TRIGGER_PREFIX = "trigger."
"""Conditions may name fields as in templates (`trigger.email`) or bare (`email`)."""


def resolve_path(data: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    """Follow `dotted` through nested objects and lists; return `(found, value)`.

    A leading `trigger.` is dropped. A segment of digits indexes a list (`items.0.product_id`);
    on an object it is an ordinary key. A present key whose value is null is found (with
    `None`): `exists` and `equals null` tell the two apart. An empty path or an empty segment
    (`a..b`) is not found.
    """
    path = dotted.removeprefix(TRIGGER_PREFIX)
    if not path:
        return False, None
    current: Any = data
    for segment in path.split("."):
        if not segment:
            return False, None
        if isinstance(current, Mapping):
            if segment not in current:
                return False, None
            current = current[segment]
        elif _is_list(current) and segment.isdigit() and segment.isascii():
            index = int(segment)
            if index >= len(current):
                return False, None
            current = current[index]
        else:
            return False, None
    return True, current


def string_leaves(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every string inside nested objects and lists, with its dotted path (`items.0.name`).

    The path is how a flow problem names a field (`payload_template.to`); a bare string is
    its own leaf at `where`.
    """
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from string_leaves(item, f"{where}.{key}" if where else str(key))
    elif _is_list(value):
        for index, item in enumerate(value):
            yield from string_leaves(item, f"{where}.{index}" if where else str(index))


def _is_list(value: Any) -> bool:
    # A string is a Sequence too, but "name.0" is not a way to pick a character.
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)
