from __future__ import annotations

import pytest
from pydantic import ValidationError

from bettercallsold.receiver.schemas import ActionBatch, BatchResults


class TestBatchResults:
    def test_each_result_keeps_only_its_own_fields(self) -> None:
        answer = BatchResults.model_validate(
            {
                "results": [
                    {"action_type": "a", "success": True, "data": {"description": None}},
                    {"action_type": "b", "success": False, "error": "why"},
                ]
            }
        )
        assert answer.model_dump(mode="json") == {
            "results": [
                {"action_type": "a", "success": True, "data": {"description": None}},
                {"action_type": "b", "success": False, "error": "why"},
            ]
        }

    def test_a_failure_needs_its_error(self) -> None:
        with pytest.raises(ValidationError):
            BatchResults.model_validate({"results": [{"action_type": "b", "success": False}]})


class TestActionBatch:
    def test_payload_and_step_id_are_optional(self) -> None:
        batch = ActionBatch.model_validate(
            {
                "flow_execution_id": "9b2f6c1e-8a4d-4f3b-9e2a-1c5d7e8f9a0b",
                "events": [{"action_type": "create_task"}],
            }
        )
        assert batch.events[0].payload == {}
        assert batch.events[0].step_id is None

    @pytest.mark.parametrize("action_type", ["", "x" * 65])
    def test_an_action_type_fits_the_log_column(self, action_type: str) -> None:
        with pytest.raises(ValidationError):
            ActionBatch.model_validate(
                {
                    "flow_execution_id": "9b2f6c1e-8a4d-4f3b-9e2a-1c5d7e8f9a0b",
                    "events": [{"action_type": action_type}],
                }
            )
