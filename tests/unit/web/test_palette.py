"""`web/palette.py`: the catalogue answer as form fields, operators and trigger paths."""

from __future__ import annotations

from bettercallsold import catalogue
from bettercallsold.web.palette import OPERATORS, flatten_paths, palette_from_catalogue


class TestPaletteFromCatalogue:
    def test_fields_follow_each_actions_schema(self) -> None:
        palette = palette_from_catalogue(
            {"actions": [spec.describe() for spec in catalogue.ACTIONS.values()]}
        )
        kinds = {field.name: field.kind for field in palette.actions["create_product"].fields}
        assert kinds == {
            "name": "string",
            "price": "number",
            "description": "string",
            "sku": "string",
            "inventory": "integer",
            "tags": "list",
        }
        status = palette.actions["update_order_status"].field_named("status")
        assert status is not None
        assert (status.kind, status.required) == ("enum", True)
        assert "cancelled" in status.choices
        due = palette.actions["create_task"].field_named("due_date")
        assert due is not None
        assert due.kind == "datetime"
        items = palette.actions["create_order"].field_named("items")
        assert items is not None
        assert items.kind == "json"

    def test_samples_and_operators_in_either_shape(self) -> None:
        keyed = palette_from_catalogue(
            {"events": {"customer.created": {"email": "a@b.c"}}, "operators": ["equals"]}
        )
        listed = palette_from_catalogue(
            {
                "events": [
                    {"event_type": "customer.created", "sample_payload": {"email": "a@b.c"}}
                ],
                "operators": [{"operator": "equals", "takes_value": True}],
            }
        )
        for palette in (keyed, listed):
            assert palette.samples == {"customer.created": {"email": "a@b.c"}}
            assert palette.operators == ("equals",)

    def test_the_contracts_operators_when_none_are_listed(self) -> None:
        assert palette_from_catalogue({}).operators == OPERATORS
        assert len(OPERATORS) == 14


class TestFlattenPaths:
    def test_objects_are_descended_lists_kept_whole(self) -> None:
        sample = {"email": "x", "address": {"city": "Paris", "geo": {"lat": 1}}, "items": [1]}
        assert flatten_paths(sample) == ["email", "address.city", "address.geo.lat", "items"]
