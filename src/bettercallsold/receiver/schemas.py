"""The receiver's request and answer bodies (the contract's `POST /api/events/automation`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bettercallsold.http.inputs import StorableModel

MAX_EVENTS_PER_BATCH = 500


class ActionEvent(StorableModel):
    """One action of a batch: the catalogue's `action_type` (or an alias) and its payload."""

    action_type: Annotated[str, Field(min_length=1, max_length=64)]
    payload: dict[str, Any] = Field(default_factory=dict)
    step_id: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="the plugin's step id, kept in the event log"
    )


class ActionBatch(StorableModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "flow_execution_id": "9b2f6c1e-8a4d-4f3b-9e2a-1c5d7e8f9a0b",
                    "events": [
                        {
                            "action_type": "create_product",
                            "payload": {"name": "New Product", "price": 29.99},
                            "step_id": "action_1",
                        }
                    ],
                }
            ]
        }
    )

    flow_execution_id: uuid.UUID
    events: Annotated[list[ActionEvent], Field(max_length=MAX_EVENTS_PER_BATCH)]


class ActionSucceeded(BaseModel):
    action_type: str
    success: Literal[True]
    data: Any = Field(description="the platform's answer: the resource created or changed")


class ActionFailed(BaseModel):
    action_type: str
    success: Literal[False]
    error: str = Field(description="why: unknown type, the field at fault, the platform status")


ActionResult = Annotated[ActionSucceeded | ActionFailed, Field(discriminator="success")]


class BatchResults(BaseModel):
    """One result per event, in the batch's order."""

    results: list[ActionResult]
