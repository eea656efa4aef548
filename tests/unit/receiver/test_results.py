from __future__ import annotations

from bettercallsold.receiver import results


class TestShapes:
    def test_a_success_has_data_and_no_error(self) -> None:
        assert results.succeeded("create_product", {"id": "p"}) == {
            "action_type": "create_product",
            "success": True,
            "data": {"id": "p"},
        }

    def test_a_failure_has_an_error_and_no_data(self) -> None:
        assert results.failed("x", "why") == {"action_type": "x", "success": False, "error": "why"}

    def test_an_unknown_type_says_so_in_the_contracts_words(self) -> None:
        assert results.unknown_action("launch")["error"] == "Unknown action type: launch"

    def test_an_invalid_payload_keeps_the_catalogues_message(self) -> None:
        error = results.invalid_payload("create_product", "price: Field required")["error"]
        assert error == "Invalid payload: price: Field required"


class TestPlatformRefused:
    def test_status_method_path_and_detail(self) -> None:
        result = results.platform_refused(
            "update_product", "PUT", "/api/products/1", 404, {"detail": "product not found"}
        )
        assert result["error"] == (
            "Platform API error 404 on PUT /api/products/1: product not found"
        )

    def test_a_validation_detail_names_the_fields(self) -> None:
        body = {
            "detail": [
                {"loc": ["body", "items", 0, "product_id"], "msg": "product not found"},
                {"loc": ["body", "customer_id"], "msg": "customer not found"},
            ]
        }
        error = results.platform_refused("create_order", "POST", "/api/orders", 422, body)
        assert error["error"].endswith(
            "items.0.product_id: product not found; customer_id: customer not found"
        )


class TestDescribeDetail:
    def test_without_a_detail_the_status_is_given(self) -> None:
        assert results.describe_detail(None, 502) == "HTTP 502"
        assert results.describe_detail({"message": "x"}, 500) == "HTTP 500"
        assert results.describe_detail({"detail": ""}, 400) == "HTTP 400"

    def test_odd_problems_are_still_shown(self) -> None:
        assert results.describe_detail({"detail": ["plain", {"msg": "no loc"}]}, 422) == (
            "plain; no loc"
        )

    def test_a_long_detail_is_clipped(self) -> None:
        described = results.describe_detail({"detail": "x" * 5000}, 400)
        assert len(described) == 500
        assert described.endswith("…")


class TestEmptyAnswer:
    def test_a_delete_names_what_went(self) -> None:
        assert results.empty_answer("DELETE", {"id": "p1"}, uses_id=True) == {
            "id": "p1",
            "deleted": True,
        }

    def test_other_empty_answers(self) -> None:
        assert results.empty_answer("POST", {"title": "t"}, uses_id=False) == {}
        assert results.empty_answer("PUT", {"id": "o1"}, uses_id=True) == {"id": "o1"}


class TestTransportFailures:
    def test_unreachable_and_timed_out(self) -> None:
        unreachable = results.platform_unreachable("send_sms", "POST", "/p", "ConnectError")
        assert unreachable["error"] == "Platform API unreachable on POST /p: ConnectError"
        timed_out = results.platform_timed_out("send_sms", "POST", "/p", 2.5)
        assert timed_out["error"].startswith("Platform API timed out after 2.5s on POST /p")
