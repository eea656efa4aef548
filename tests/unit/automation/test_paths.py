from __future__ import annotations

from typing import Any

import pytest

from bettercallsold.automation.paths import resolve_path, string_leaves

ORDER: dict[str, Any] = {
    "email": "john@example.com",
    "phone": None,
    "customer": {"address": {"city": "Lyon"}, "tags": []},
    "items": [{"product_id": "p1", "quantity": 2}, {"product_id": "p2"}],
    "totals": {"0": "zero as a key"},
    "trigger": {"name": "a key called trigger"},
}


class TestResolvePath:
    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("email", "john@example.com"),
            ("trigger.email", "john@example.com"),
            ("customer.address.city", "Lyon"),
            ("trigger.customer.address.city", "Lyon"),
            ("customer.tags", []),
            ("items.0.product_id", "p1"),
            ("items.1.product_id", "p2"),
            ("items.0", {"product_id": "p1", "quantity": 2}),
            ("totals.0", "zero as a key"),
            ("trigger.trigger.name", "a key called trigger"),
        ],
    )
    def test_found(self, path: str, expected: Any) -> None:
        assert resolve_path(ORDER, path) == (True, expected)

    def test_a_present_null_is_found(self) -> None:
        assert resolve_path(ORDER, "phone") == (True, None)

    @pytest.mark.parametrize(
        "path",
        [
            "missing",
            "customer.address.zip",
            "items.2.product_id",
            "items.-1.product_id",
            "items.first",
            "items.1.quantity",
            "email.0",
            "email.length",
            "phone.number",
            "",
            "trigger.",
            "customer..address",
            ".email",
            "email.",
            "items.٣",
        ],
    )
    def test_not_found(self, path: str) -> None:
        assert resolve_path(ORDER, path) == (False, None)

    def test_a_list_payload_value_is_indexed_not_a_string(self) -> None:
        assert resolve_path({"name": "abc"}, "name.0") == (False, None)


class TestStringLeaves:
    def test_every_string_with_its_dotted_path(self) -> None:
        value = {"to": "a", "n": 1, "items": [{"id": "x"}, 2, ["y"]], "none": None}
        assert list(string_leaves(value, "payload_template")) == [
            ("payload_template.to", "a"),
            ("payload_template.items.0.id", "x"),
            ("payload_template.items.2.0", "y"),
        ]

    def test_without_a_prefix(self) -> None:
        assert list(string_leaves({"a": ["b"]})) == [("a.0", "b")]

    def test_a_bare_string_is_its_own_leaf(self) -> None:
        assert list(string_leaves("x")) == [("", "x")]
