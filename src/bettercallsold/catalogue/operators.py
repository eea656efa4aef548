"""The condition operators, in the contract's order: the one list the engine evaluates, the flow
validation accepts, the catalogue API lists and the builder offers."""

from __future__ import annotations

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
UNARY_OPERATORS: frozenset[str] = frozenset({"exists", "not_exists"})
"""The operators that take no `value`."""
LIST_OPERATORS: frozenset[str] = frozenset({"in", "not_in"})
"""The operators whose `value` is a list."""
ORDERING_OPERATORS: frozenset[str] = frozenset(
    {"greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal"}
)
