"""`web/wording.py`: the APIs' messages in a merchant's words."""

from __future__ import annotations

from bettercallsold.web.wording import validation_message


class TestValidationMessage:
    def test_the_hint_names_the_trigger_field_nearest_to_the_one_typed(self) -> None:
        message = validation_message(
            "'email..address' is not a dotted path such as customer.email",
            ["id", "name", "email", "phone"],
        )
        assert message == "'email..address' is not a field of the trigger, such as email"

    def test_without_a_near_field_the_hint_names_a_top_level_one(self) -> None:
        message = validation_message(
            "a condition needs a field (a dotted path such as customer.email)",
            ["address.city", "id"],
        )
        assert message == "A condition needs a field (a field of the trigger, such as id)"

    def test_a_name_at_the_start_is_kept_as_written(self) -> None:
        assert validation_message("send_email requires to") == "send_email requires to"
        assert validation_message("too long") == "Too long"
