"""`platform/inputs.py`, `money.py` and the request schemas: what a body may hold (no database)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from bettercallsold.http.inputs import check_storable_text
from bettercallsold.platform.money import MAX_MONEY, NonNegativeMoney
from bettercallsold.platform.products.schemas import ProductCreate
from bettercallsold.platform.tasks.schemas import TaskCreate


class TestCheckStorableText:
    @pytest.mark.parametrize(
        "value", ["", "plain", "ünïcödé ✓ 🎉", ["a", "b"], {"k": ["v"]}, 3, None, Decimal(1)]
    )
    def test_accepts_what_postgresql_stores(self, value: Any) -> None:
        check_storable_text(value)

    @pytest.mark.parametrize(
        "value", ["a\x00b", ["ok", "\x00"], {"k": "\x00"}, {"\x00": "v"}, ("\ud800",), "\udfff"]
    )
    def test_refuses_nul_and_lone_surrogates_anywhere(self, value: Any) -> None:
        with pytest.raises(ValueError, match=r"NUL|surrogate"):
            check_storable_text(value)


class TestInputModels:
    def test_a_nul_names_its_field(self) -> None:
        with pytest.raises(ValidationError) as raised:
            ProductCreate.model_validate({"name": "Mug", "price": 1, "sku": "A\x00"})
        assert [error["loc"] for error in raised.value.errors()] == [("sku",)]

    def test_unknown_fields_are_refused(self) -> None:
        with pytest.raises(ValidationError) as raised:
            ProductCreate.model_validate({"name": "Mug", "price": 1, "tenant_id": "x"})
        assert raised.value.errors()[0]["type"] == "extra_forbidden"


class Priced(BaseModel):
    price: NonNegativeMoney


class TestMoney:
    @pytest.mark.parametrize("given", [19.99, "19.99", 0, "9999999999.99"])
    def test_keeps_an_exact_decimal_and_writes_a_json_number(self, given: Any) -> None:
        priced = Priced.model_validate({"price": given})
        assert priced.price == Decimal(str(given))
        assert priced.model_dump_json() == f'{{"price":{float(Decimal(str(given)))}}}'

    @pytest.mark.parametrize("given", [-0.01, 1.001, "NaN", "Infinity", MAX_MONEY + 1])
    def test_refuses_negative_too_precise_or_too_large(self, given: Any) -> None:
        with pytest.raises(ValidationError):
            Priced.model_validate({"price": given})


class TestDueDate:
    @pytest.mark.parametrize(
        "due", ["2026-12-01T10:00:00Z", "0001-01-02T00:00:00Z", "9999-12-30T00:00:00+00:00"]
    )
    def test_accepts_an_aware_instant_within_python_s_range(self, due: str) -> None:
        assert TaskCreate.model_validate({"title": "T", "due_date": due}).due_date is not None

    @pytest.mark.parametrize(
        "due",
        [
            "2026-12-01T10:00:00",
            "9999-12-31T23:59:59-23:59",
            "9999-12-31T12:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "soon",
        ],
    )
    def test_refuses_naive_or_unreadable_instants(self, due: str) -> None:
        with pytest.raises(ValidationError) as raised:
            TaskCreate.model_validate({"title": "T", "due_date": due})
        assert raised.value.errors()[0]["loc"] == ("due_date",)
