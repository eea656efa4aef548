"""Condition steps: one operator applied to one trigger field, giving a stored verdict.

Type-aware, as the contract asks, and total: a comparison that makes no sense (a list greater
than a number) is a failed verdict with a reason, never an exception, so a merchant reading an
execution sees why a flow stopped. The rules, in order:

- `exists` holds for a present, non-null, non-empty value; a blank string, `[]` and `{}` are
  empty. `not_exists` is its negation.
- A missing field (or a null one) fails every positive operator; the negations `not_equals`,
  `not_contains` and `not_in` hold ("the field does not contain x" is true of no field). The
  exception: `equals null` holds for a null (or missing) field, `not_equals null` does not.
- Equality: a number (never a bool) against a number or a numeric string compares numerically
  (`"150.00"` equals `150`); two ISO 8601 date-times (or dates) compare as instants; two
  strings otherwise compare exactly (case-sensitive); anything else by plain JSON equality.
- Ordering (`greater_than` ...): numbers numerically (a numeric string against a number, or two
  numeric strings), date-times as instants (naive means UTC, a date is its midnight UTC), other
  strings lexicographically (case-sensitive); any other pair is incomparable.
- `contains`: substring of a string (a number operand is used as its text), membership in a
  list (with the equality above), key of an object. `starts_with` / `ends_with`: strings only.
- `in` / `not_in`: the operand is a list (a comma-separated string is split); a list field is
  "in" when any of its elements is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bettercallsold.automation.budget import charge_items
from bettercallsold.automation.paths import resolve_path
from bettercallsold.catalogue.operators import LIST_OPERATORS as LIST_OPERATORS
from bettercallsold.catalogue.operators import OPERATORS as CATALOGUE_OPERATORS
from bettercallsold.catalogue.operators import ORDERING_OPERATORS as ORDERING_OPERATORS
from bettercallsold.catalogue.operators import UNARY_OPERATORS as UNARY_OPERATORS

OPERATORS: frozenset[str] = frozenset(CATALOGUE_OPERATORS)
_NEGATIONS = frozenset({"not_equals", "not_contains", "not_in"})

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}.*)?", re.DOTALL)
_MAX_NUMBER_TEXT = 100  # longer "numbers" are text: no giant Decimal from a payload


@dataclass(frozen=True)
class Verdict:
    """The outcome of one condition, stored with the execution for the merchant to read."""

    passed: bool
    field: str
    operator: str
    expected: Any
    actual: Any
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "field": self.field,
            "operator": self.operator,
            "expected": json_safe(self.expected),
            "actual": json_safe(self.actual),
            "reason": self.reason,
        }


def evaluate(field: str, operator: str, value: Any, trigger: Mapping[str, Any]) -> Verdict:
    """Apply `operator` with operand `value` to the trigger's `field` (a dotted path).

    Never raises for any data; raises `ValueError` for an operator outside `OPERATORS`
    (flow validation refuses those before a flow is saved).
    """
    if operator not in OPERATORS:
        raise ValueError(f"unknown operator: {operator}")
    found, actual = resolve_path(trigger, field)

    def verdict(passed: bool, reason: str | None = None) -> Verdict:
        return Verdict(passed, field, operator, value, actual if found else None, reason)

    if operator in UNARY_OPERATORS:
        present = found and not _is_empty(actual)
        why = None if present else ("field is missing" if not found else "field is empty")
        return verdict(present if operator == "exists" else not present, why)
    if not found or actual is None:
        why = "field is missing" if not found else "field is null"
        if operator in {"equals", "not_equals"} and value is None:
            return verdict(operator == "equals", why)
        return verdict(operator in _NEGATIONS, why)
    outcome = _OPERATIONS[operator.removeprefix("not_")](actual, value)
    if isinstance(outcome, str):  # incomparable: a reason, and the condition fails
        return verdict(False, outcome)
    return verdict(not outcome if operator in _NEGATIONS else outcome)


def parse_number(value: Any) -> Decimal | None:
    """The number a value stands for (an int, a float or a numeric string); bools are not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str):
        text = value.strip()
        if len(text) <= _MAX_NUMBER_TEXT and _NUMBER.fullmatch(text):
            try:
                return Decimal(text)
            except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
                return None
    return None


def parse_instant(value: Any) -> datetime | None:
    """The instant an ISO 8601 date-time or date stands for, as an aware UTC datetime.

    Naive date-times are UTC; a date is midnight UTC. Anything else is None.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and len(value) <= 64 and _ISO_DATE.fullmatch(value.strip()):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """An instant as ISO 8601 UTC text, `2026-11-27T10:00:00Z` (naive means UTC)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


def json_safe(value: Any) -> Any:
    """A JSON-serialisable copy: Decimals become numbers, date-times ISO 8601 text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return _decimal_json(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item) for item in value]
    return str(value)


def _decimal_json(value: Decimal) -> int | float | str:
    if not value.is_finite():
        return str(value)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:
        return int(value)
    return float(value)


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | Mapping):
        return len(value) == 0
    return False


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if _is_number(actual) or _is_number(expected):
        left, right = parse_number(actual), parse_number(expected)
        return left is not None and right is not None and left == right
    if isinstance(actual, str) and isinstance(expected, str):
        if actual == expected:
            return True
        left_at, right_at = parse_instant(actual), parse_instant(expected)
        return left_at is not None and right_at is not None and left_at == right_at
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(map(_equal, actual, expected))
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        return actual.keys() == expected.keys() and all(
            _equal(actual[key], expected[key]) for key in actual
        )
    return bool(actual == expected)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _order(actual: Any, expected: Any) -> int | str:
    """-1, 0 or 1 comparing actual to expected, or the reason they are incomparable."""
    pair: tuple[Any, Any] | None = None
    numbers = parse_number(actual), parse_number(expected)
    strings = isinstance(actual, str) and isinstance(expected, str)
    if (_is_number(actual) or _is_number(expected) or strings) and None not in numbers:
        pair = numbers
    elif not (_is_number(actual) or _is_number(expected)):
        instants = parse_instant(actual), parse_instant(expected)
        if None not in instants:
            pair = instants
        elif strings:
            pair = actual, expected
    if pair is None:
        return f"cannot order {_kind(actual)} against {_kind(expected)}"
    left, right = pair
    return 1 if left > right else -1 if left < right else 0


def _ordering(test: Callable[[int], bool]) -> Callable[[Any, Any], bool | str]:
    def operation(actual: Any, expected: Any) -> bool | str:
        order = _order(actual, expected)
        return order if isinstance(order, str) else test(order)

    return operation


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if _is_number(value):
        number = json_safe(value)
        return str(number)
    return None


def _contains(actual: Any, expected: Any) -> bool | str:
    if isinstance(actual, str):
        needle = _as_text(expected)
        if needle is None:
            return f"cannot look for {_kind(expected)} in a string"
        return needle in actual
    if isinstance(actual, list | tuple):
        charge_items(len(actual))
        return any(_equal(item, expected) for item in actual)
    if isinstance(actual, Mapping):
        return isinstance(expected, str) and expected in actual
    return f"cannot look inside {_kind(actual)}"


def _affix(check: Callable[[str, str], bool]) -> Callable[[Any, Any], bool | str]:
    def operation(actual: Any, expected: Any) -> bool | str:
        text, affix = _as_text(actual), _as_text(expected)
        if text is None or affix is None:
            return f"needs text, got {_kind(actual)} and {_kind(expected)}"
        return check(text, affix)

    return operation


def _in(actual: Any, expected: Any) -> bool | str:
    if isinstance(expected, str):
        expected = [part.strip() for part in expected.split(",")]
    if not isinstance(expected, list | tuple):
        return f"needs a list operand, got {_kind(expected)}"
    candidates = actual if isinstance(actual, list | tuple) else [actual]
    charge_items(len(candidates) + len(expected))
    keys: set[tuple[Any, ...]] = set()
    others: list[Any] = []  # lists and objects: compared one by one, as `_equal` does
    for option in expected:
        option_keys = _option_keys(option)
        if option_keys is None:
            others.append(option)
        else:
            keys.update(option_keys)
    for item in candidates:
        item_keys = _lookup_keys(item)
        if item_keys is None:
            if any(_equal(item, option) for option in others):
                return True
        elif not keys.isdisjoint(item_keys):
            return True
    return False


def _option_keys(option: Any) -> list[tuple[Any, ...]] | None:
    """Hash keys under which `_equal(actual, option)` can hold, for a scalar `option`; None for
    a list or an object. With `_lookup_keys`, `in` costs one pass over each list instead of
    every pair (1,500 by 1,500 items took seconds): a number matches numbers and numeric
    strings (`"n"`); a numeric string matches numbers only (`"sn"`: two strings compare as
    text); a string also matches the same instant written otherwise (`"t"`)."""
    if option is None:
        return [("z",)]
    if isinstance(option, bool):
        return [("b", option)]
    if _is_number(option):
        number = parse_number(option)
        return [("n", number)] if number is not None else [("x", repr(option))]
    if isinstance(option, str):
        keys: list[tuple[Any, ...]] = [("s", option)]
        number, instant = parse_number(option), parse_instant(option)
        if number is not None:
            keys.append(("sn", number))
        if instant is not None:
            keys.append(("t", instant))
        return keys
    return None


def _lookup_keys(item: Any) -> list[tuple[Any, ...]] | None:
    """The keys to look an actual value up by (see `_option_keys`); None for a list or object."""
    if item is None:
        return [("z",)]
    if isinstance(item, bool):
        return [("b", item)]
    if _is_number(item):
        number = parse_number(item)
        return [("n", number), ("sn", number)] if number is not None else [("x", repr(item))]
    if isinstance(item, str):
        keys: list[tuple[Any, ...]] = [("s", item)]
        number, instant = parse_number(item), parse_instant(item)
        if number is not None:
            keys.append(("n", number))
        if instant is not None:
            keys.append(("t", instant))
        return keys
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if _is_number(value):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


# Keyed by the positive operator; evaluate() negates for the `not_` ones.
_OPERATIONS: dict[str, Callable[[Any, Any], bool | str]] = {
    "equals": _equal,
    "contains": _contains,
    "starts_with": _affix(str.startswith),
    "ends_with": _affix(str.endswith),
    "greater_than": _ordering(lambda order: order > 0),
    "greater_than_or_equal": _ordering(lambda order: order >= 0),
    "less_than": _ordering(lambda order: order < 0),
    "less_than_or_equal": _ordering(lambda order: order <= 0),
    "in": _in,
}
