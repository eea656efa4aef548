from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from bettercallsold.automation.conditions import (
    LIST_OPERATORS,
    OPERATORS,
    ORDERING_OPERATORS,
    UNARY_OPERATORS,
    Verdict,
    evaluate,
    iso_utc,
    json_safe,
    parse_instant,
    parse_number,
)

ORDER: dict[str, Any] = {
    "email": "john@example.com",
    "name": "John Doe",
    "blank": "   ",
    "phone": None,
    "total": 599.7,
    "price": "150.00",
    "count": 3,
    "vip": True,
    "tags": ["vip", "wholesale", 42],
    "no_tags": [],
    "meta": {"source": "pos"},
    "no_meta": {},
    "created_at": "2026-11-24T10:00:00Z",
    "local_time": "2026-11-24T12:00:00+02:00",
    "naive_time": "2026-11-24T10:00:00",
    "day": "2026-11-24",
    "status": "paid",
    "code": "0042",
    "items": [{"product_id": "p1", "quantity": 30}],
    "customer": {"address": {"city": "Lyon"}},
}


def check(field: str, operator: str, value: Any = None) -> bool:
    return evaluate(field, operator, value, ORDER).passed


class TestOperators:
    def test_the_contract_lists_fourteen(self) -> None:
        assert len(OPERATORS) == 14
        assert UNARY_OPERATORS | LIST_OPERATORS | ORDERING_OPERATORS <= OPERATORS

    def test_an_unknown_operator_is_a_value_error(self) -> None:
        with pytest.raises(ValueError, match="unknown operator: bigger"):
            evaluate("email", "bigger", 1, ORDER)


class TestExists:
    @pytest.mark.parametrize(
        "field", ["email", "total", "count", "vip", "tags", "meta", "trigger.email", "items.0"]
    )
    def test_present_values_exist(self, field: str) -> None:
        assert check(field, "exists")
        assert not check(field, "not_exists")

    @pytest.mark.parametrize("field", ["missing", "phone", "blank", "no_tags", "no_meta"])
    def test_missing_null_and_empty_values_do_not(self, field: str) -> None:
        assert not check(field, "exists")
        assert check(field, "not_exists")

    def test_zero_and_false_exist(self) -> None:
        trigger = {"zero": 0, "no": False}
        assert evaluate("zero", "exists", None, trigger).passed
        assert evaluate("no", "exists", None, trigger).passed

    def test_the_reason_says_missing_or_empty(self) -> None:
        assert evaluate("missing", "exists", None, ORDER).reason == "field is missing"
        assert evaluate("blank", "exists", None, ORDER).reason == "field is empty"
        assert evaluate("email", "exists", None, ORDER).reason is None


class TestEquals:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("status", "paid"),
            ("count", 3),
            ("count", 3.0),
            ("count", "3"),
            ("price", 150),
            ("price", 150.0),
            ("price", "150.00"),
            ("total", "599.70"),
            ("total", Decimal("599.7")),
            ("vip", True),
            ("tags", ["vip", "wholesale", 42.0]),
            ("meta", {"source": "pos"}),
            ("created_at", "2026-11-24T12:00:00+02:00"),
            ("created_at", "2026-11-24T10:00:00"),
            ("day", "2026-11-24T00:00:00Z"),
            ("customer.address.city", "Lyon"),
        ],
    )
    def test_equal(self, field: str, value: Any) -> None:
        assert check(field, "equals", value)
        assert not check(field, "not_equals", value)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("status", "Paid"),
            ("status", "paid "),
            ("count", 4),
            ("count", "three"),
            ("price", "150"),  # two strings compare as text
            ("code", "42"),
            ("vip", 1),
            ("vip", "true"),
            ("count", True),
            ("tags", ["vip"]),
            ("meta", {"source": "web"}),
            ("meta", {"source": "pos", "x": 1}),
            ("status", ["paid"]),
            ("created_at", "2026-11-24T10:00:01Z"),
            ("name", "2026-11-24"),
        ],
    )
    def test_not_equal(self, field: str, value: Any) -> None:
        assert not check(field, "equals", value)
        assert check(field, "not_equals", value)

    def test_null_equals_null_and_missing(self) -> None:
        assert check("phone", "equals", None)
        assert check("missing", "equals", None)
        assert not check("phone", "not_equals", None)
        assert not check("email", "equals", None)
        assert check("email", "not_equals", None)

    def test_a_missing_field_equals_nothing_and_differs_from_everything(self) -> None:
        assert not check("missing", "equals", "x")
        assert check("missing", "not_equals", "x")
        assert not check("phone", "equals", "x")
        assert check("phone", "not_equals", "x")


class TestOrdering:
    @pytest.mark.parametrize(
        ("field", "operator", "value"),
        [
            ("price", "greater_than", 100),  # "150.00" > 100
            ("price", "greater_than", "100"),
            ("price", "greater_than", "99.5"),  # "150.00" > "99.5" as numbers, not as text
            ("price", "greater_than_or_equal", 150),
            ("price", "less_than_or_equal", "150"),
            ("total", "greater_than", 500),
            ("total", "less_than", "1e3"),
            ("count", "less_than", 10),
            ("count", "greater_than_or_equal", 3),
            ("count", "less_than_or_equal", 3.0),
            ("created_at", "greater_than", "2026-11-23"),
            ("created_at", "less_than", "2026-11-24T10:00:01Z"),
            ("created_at", "greater_than_or_equal", "2026-11-24T12:00:00+02:00"),
            ("local_time", "less_than_or_equal", "2026-11-24T10:00:00Z"),
            ("naive_time", "greater_than_or_equal", "2026-11-24T11:00:00+01:00"),
            ("day", "less_than", "2026-11-24T00:00:01Z"),
            ("status", "greater_than", "cancelled"),
            ("status", "less_than", "pending"),
            ("name", "less_than", "john"),  # case-sensitive: "J" < "j"
        ],
    )
    def test_holds(self, field: str, operator: str, value: Any) -> None:
        verdict = evaluate(field, operator, value, ORDER)
        assert verdict.passed, verdict

    @pytest.mark.parametrize(
        ("field", "operator", "value"),
        [
            ("price", "greater_than", 150),
            ("price", "less_than", 100),
            ("count", "greater_than", 3),
            ("count", "less_than", 3),
            ("created_at", "greater_than", "2026-11-24T10:00:00Z"),
            ("created_at", "less_than", "2026-11-24"),
            ("status", "greater_than", "zebra"),
        ],
    )
    def test_does_not_hold(self, field: str, operator: str, value: Any) -> None:
        verdict = evaluate(field, operator, value, ORDER)
        assert not verdict.passed
        assert verdict.reason is None

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("tags", 1),
            ("meta", 1),
            ("vip", 0),
            ("count", True),
            ("count", "three"),
            ("status", 5),
            ("count", "2026-11-24"),
            ("created_at", 5),
            ("count", [1]),
            ("meta", "x"),
            ("tags", ["vip"]),
        ],
    )
    def test_incomparable_types_fail_with_a_reason(self, field: str, value: Any) -> None:
        for operator in ORDERING_OPERATORS:
            verdict = evaluate(field, operator, value, ORDER)
            assert not verdict.passed
            assert verdict.reason is not None
            assert verdict.reason.startswith("cannot order")

    def test_a_missing_or_null_field_is_not_ordered(self) -> None:
        for operator in ORDERING_OPERATORS:
            assert not check("missing", operator, 1)
            assert evaluate("phone", operator, 1, ORDER).reason == "field is null"


class TestContains:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("email", "@example.com"),
            ("email", "john"),
            ("name", "Doe"),
            ("tags", "vip"),
            ("tags", 42),
            ("tags", "42"),  # number-aware membership
            ("tags", 42.0),
            ("meta", "source"),
            ("code", 42),  # a number is looked for as its text
        ],
    )
    def test_holds(self, field: str, value: Any) -> None:
        assert check(field, "contains", value)
        assert not check(field, "not_contains", value)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("email", "JOHN"),
            ("tags", "VIP"),
            ("tags", "retail"),
            ("no_tags", "vip"),
            ("meta", "pos"),
            ("meta", 1),
        ],
    )
    def test_does_not_hold(self, field: str, value: Any) -> None:
        assert not check(field, "contains", value)
        assert check(field, "not_contains", value)

    def test_missing_and_null_fields_contain_nothing(self) -> None:
        assert not check("missing", "contains", "x")
        assert check("missing", "not_contains", "x")
        assert check("phone", "not_contains", "x")

    def test_a_python_value_is_named_by_its_type(self) -> None:
        trigger = {"at": datetime(2026, 11, 24, tzinfo=UTC)}
        verdict = evaluate("at", "contains", "x", trigger)
        assert verdict.reason == "cannot look inside a datetime"
        assert evaluate("at", "greater_than", "2026-11-23", trigger).passed

    @pytest.mark.parametrize(("field", "value"), [("count", 3), ("vip", "t"), ("email", ["j"])])
    def test_incomparable_fails_both_ways_with_a_reason(self, field: str, value: Any) -> None:
        for operator in ("contains", "not_contains"):
            verdict = evaluate(field, operator, value, ORDER)
            assert not verdict.passed
            assert verdict.reason is not None


class TestStartsAndEndsWith:
    @pytest.mark.parametrize(
        ("field", "operator", "value", "expected"),
        [
            ("email", "starts_with", "john", True),
            ("email", "starts_with", "John", False),
            ("email", "ends_with", "@example.com", True),
            ("email", "ends_with", ".org", False),
            ("code", "starts_with", "00", True),
            ("count", "starts_with", 3, True),
            ("total", "ends_with", ".7", True),
            ("missing", "starts_with", "x", False),
            ("phone", "ends_with", "x", False),
        ],
    )
    def test_affixes(self, field: str, operator: str, value: Any, expected: bool) -> None:
        assert check(field, operator, value) is expected

    @pytest.mark.parametrize(("field", "value"), [("tags", "v"), ("email", None), ("vip", "T")])
    def test_non_text_fails_with_a_reason(self, field: str, value: Any) -> None:
        verdict = evaluate(field, "starts_with", value, ORDER)
        assert not verdict.passed
        assert verdict.reason is not None
        assert verdict.reason.startswith("needs text")


class TestIn:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("status", ["paid", "fulfilled"]),
            ("status", "paid, fulfilled"),  # a comma-separated string is a list
            ("count", [1, 2, 3]),
            ("count", ["3"]),
            ("price", [150]),
            ("tags", ["retail", "vip"]),  # a list field: any element
            ("vip", [True]),
        ],
    )
    def test_holds(self, field: str, value: Any) -> None:
        assert check(field, "in", value)
        assert not check(field, "not_in", value)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("status", ["pending"]),
            ("status", []),
            ("status", "Paid,fulfilled"),
            ("count", [4]),
            ("tags", ["retail"]),
            ("vip", [1]),
        ],
    )
    def test_does_not_hold(self, field: str, value: Any) -> None:
        assert not check(field, "in", value)
        assert check(field, "not_in", value)

    def test_missing_field_is_in_nothing(self) -> None:
        assert not check("missing", "in", ["x"])
        assert check("missing", "not_in", ["x"])

    @pytest.mark.parametrize("value", [3, {"a": 1}, None, True])
    def test_a_non_list_operand_fails_with_a_reason(self, value: Any) -> None:
        for operator in ("in", "not_in"):
            verdict = evaluate("count", operator, value, ORDER)
            assert not verdict.passed
            assert verdict.reason is not None


class TestVerdict:
    def test_records_what_was_compared(self) -> None:
        verdict = evaluate("trigger.price", "greater_than", 100, ORDER)
        assert verdict == Verdict(True, "trigger.price", "greater_than", 100, "150.00", None)

    def test_a_missing_field_has_no_actual_value(self) -> None:
        verdict = evaluate("missing", "equals", "x", ORDER)
        assert verdict.actual is None
        assert verdict.reason == "field is missing"

    def test_as_json_is_json_safe(self) -> None:
        verdict = Verdict(
            False,
            "f",
            "equals",
            Decimal("1.50"),
            {"at": datetime(2026, 11, 24, tzinfo=UTC), 3: (1, float("nan"))},
            "why",
        )
        rendered = verdict.as_json()
        assert json.loads(json.dumps(rendered)) == rendered
        assert rendered == {
            "passed": False,
            "field": "f",
            "operator": "equals",
            "expected": 1.5,
            "actual": {"at": "2026-11-24T00:00:00+00:00", "3": [1, "nan"]},
            "reason": "why",
        }


class TestParseNumber:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (3, Decimal(3)),
            (0.1, Decimal("0.1")),
            ("150.00", Decimal("150.00")),
            (" -2.5 ", Decimal("-2.5")),
            ("+1e3", Decimal("1000")),
            (".5", Decimal("0.5")),
            (Decimal("7"), Decimal("7")),
        ],
    )
    def test_numbers(self, value: Any, expected: Decimal) -> None:
        assert parse_number(value) == expected

    @pytest.mark.parametrize(
        "value",
        [
            True,
            False,
            None,
            "",
            "abc",
            "1,000",
            "nan",
            "inf",
            float("inf"),
            float("nan"),
            Decimal("NaN"),
            "1" * 101,
            [1],
        ],
    )
    def test_not_numbers(self, value: Any) -> None:
        assert parse_number(value) is None


class TestParseInstant:
    @pytest.mark.parametrize(
        "value",
        [
            "2026-11-24T10:00:00Z",
            "2026-11-24T10:00:00+00:00",
            "2026-11-24T12:00:00+02:00",
            "2026-11-24T10:00:00",
            "2026-11-24 10:00:00",
            "2026-11-24T10:00:00.000Z",
            datetime(2026, 11, 24, 10, 0),
            datetime(2026, 11, 24, 5, 0, tzinfo=timezone(timedelta(hours=-5))),
        ],
    )
    def test_the_same_instant(self, value: Any) -> None:
        assert parse_instant(value) == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

    def test_a_date_is_midnight_utc(self) -> None:
        midnight = datetime(2026, 11, 24, tzinfo=UTC)
        assert parse_instant("2026-11-24") == midnight
        assert parse_instant(date(2026, 11, 24)) == midnight

    @pytest.mark.parametrize(
        "value", ["20261124", "2026-13-01", "2026-11-24Tnonsense", "today", 1764000000, None]
    )
    def test_not_instants(self, value: Any) -> None:
        assert parse_instant(value) is None


class TestIsoUtc:
    def test_formats_in_utc_with_z(self) -> None:
        paris = timezone(timedelta(hours=1))
        assert iso_utc(datetime(2026, 11, 27, 11, 0, tzinfo=paris)) == "2026-11-27T10:00:00Z"
        assert iso_utc(datetime(2026, 11, 27, 10, 0)) == "2026-11-27T10:00:00Z"

    def test_keeps_sub_second_precision(self) -> None:
        moment = datetime(2026, 11, 27, 10, 0, 0, 250000, tzinfo=UTC)
        assert iso_utc(moment) == "2026-11-27T10:00:00.250000Z"


class TestJsonSafe:
    def test_plain_json_is_unchanged(self) -> None:
        value = {"a": [1, 2.5, "x", None, True, {"b": []}]}
        assert json_safe(value) == value

    def test_other_values_are_converted(self) -> None:
        assert json_safe(Decimal("10")) == 10
        assert json_safe(Decimal("1E+2")) == 100
        assert json_safe(Decimal("0.25")) == 0.25
        assert json_safe(Decimal("Infinity")) == "Infinity"
        assert json_safe(float("-inf")) == "-inf"
        assert json_safe(date(2026, 11, 24)) == "2026-11-24"
        assert json_safe({1, 2}) in ([1, 2], [2, 1])
        assert json_safe(object).startswith("<class")


class TestInByHashing:
    """`in` looks values up by hash; it must agree with comparing every pair by `_equal`."""

    VALUES: list[Any] = [
        None, True, False, 0, 1, 150, 150.0, 1.5, "150", "150.00", "1.5", "abc", "ABC", "",
        "2026-01-01T00:00:00Z", "2026-01-01T00:00:00+00:00", "2026-01-01",
        "2026-01-01T01:00:00+01:00",
        [1, 2], {"a": 1}, [150], {"a": "1"},
    ]  # fmt: skip

    @pytest.mark.parametrize("actual", VALUES)
    def test_agrees_with_every_pair(self, actual: Any) -> None:
        from bettercallsold.automation.conditions import _equal

        candidates = actual if isinstance(actual, list) else [actual]
        for options in [*([value] for value in self.VALUES), self.VALUES]:
            pairs = any(_equal(item, option) for item in candidates for option in options)
            expected = actual is not None and pairs  # a null field is in nothing
            verdict = evaluate("x", "in", options, {"x": actual})
            assert verdict.passed is expected, (actual, options)
            negated = evaluate("x", "not_in", options, {"x": actual})
            assert negated.passed is not expected, (actual, options)

    def test_a_list_field_in_a_long_list_is_one_pass(self) -> None:
        import time

        options = [f"sku-{index}" for index in range(1_000)]
        actual = [f"other-{index}" for index in range(1_500)]
        started = time.perf_counter()
        for _ in range(10):
            assert evaluate("x", "in", options, {"x": actual}).passed is False
        # Pairwise this was 3.4-3.8 s per test; a generous bound that only that would break.
        assert time.perf_counter() - started < 1.0
