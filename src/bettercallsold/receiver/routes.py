"""`POST /api/events/automation`: the automation plugin's action batches."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header

from bettercallsold.db.session import RuntimeDep
from bettercallsold.http.schemas import ErrorOut
from bettercallsold.receiver import service
from bettercallsold.receiver.auth import require_plugin
from bettercallsold.receiver.schemas import ActionBatch, BatchResults

router = APIRouter(
    prefix="/api/events", tags=["event receiver"], dependencies=[Depends(require_plugin)]
)

# 422 is left to FastAPI, which documents it with its validation-error schema (the same shape
# as a reused Idempotency-Key's answer).
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "missing or invalid plugin credential"},
    404: {"model": ErrorOut, "description": "the flow execution does not exist"},
    409: {
        "model": ErrorOut,
        "description": "the execution is no longer running, or a request with this "
        "Idempotency-Key is in progress",
    },
}


@router.post("/automation", responses=_ERRORS)
async def receive_actions(
    batch: ActionBatch,
    runtime: RuntimeDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="the same key and body return the stored results, with no new effect",
        ),
    ] = None,
) -> BatchResults:
    """Run each action on the platform APIs for the execution's tenant, in order.

    A malformed body, or an `Idempotency-Key` already used with another body, is a 422. Every
    action gets a result, `{action_type, success: true, data}` or `{action_type,
    success: false, error}`, and a row in `automation_event_log`; one failing action never
    stops the others. The tenant is the execution's: payloads cannot name another tenant.
    """
    return BatchResults.model_validate(await service.receive_batch(runtime, batch, idempotency_key))
