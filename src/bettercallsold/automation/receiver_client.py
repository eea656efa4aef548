"""Sending an action batch to the event receiver (`POST /api/events/automation`).

The one outbound call of the plugin. Its answers sort into three: the results (200), a
transient failure worth retrying with the same `Idempotency-Key` (`ReceiverUnavailable`: no
answer in time, a network error, 408/409/425/429, 5xx; the receiver returns the stored results
or repeats nothing), and a refusal retrying cannot fix (`ReceiverRefused`: any other answer).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from bettercallsold.automation.engine import PreparedAction
from bettercallsold.automation.errors import ReceiverRefused, ReceiverUnavailable
from bettercallsold.types import JSON

RECEIVER_PATH = "/api/events/automation"
_TRANSIENT_STATUSES = frozenset({408, 409, 425, 429})
_MAX_DETAIL_CHARS = 300


def idempotency_key(execution_id: uuid.UUID, first_step_id: str) -> str:
    """The contract's key of a batch: `<execution id>:<first step id of the batch>`."""
    return f"{execution_id}:{first_step_id}"


async def send_batch(
    http: httpx.AsyncClient,
    *,
    base_url: str,
    token: str,
    execution_id: uuid.UUID,
    batch: Sequence[PreparedAction],
) -> list[JSON]:
    """Send `batch` for `execution_id`; one result per action, in order."""
    body = {"flow_execution_id": str(execution_id), "events": [a.as_event() for a in batch]}
    headers = {
        "Authorization": f"Bearer {token}",
        "Idempotency-Key": idempotency_key(execution_id, batch[0].step_id),
    }
    try:
        response = await http.post(f"{base_url}{RECEIVER_PATH}", json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise ReceiverUnavailable(
            f"the event receiver did not answer: {type(exc).__name__}: {exc}"
        ) from exc
    if response.status_code in _TRANSIENT_STATUSES or response.status_code >= 500:
        raise ReceiverUnavailable(
            f"the event receiver answered {response.status_code}: {_detail(response)}"
        )
    if response.status_code != 200:
        raise ReceiverRefused(
            f"the event receiver refused the batch ({response.status_code}): {_detail(response)}"
        )
    return _results(response, batch)


def _results(response: httpx.Response, batch: Sequence[PreparedAction]) -> list[JSON]:
    try:
        results: Any = response.json()["results"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ReceiverRefused("the event receiver answered without results") from exc
    if not isinstance(results, list) or len(results) != len(batch):
        raise ReceiverRefused(
            f"the event receiver answered {len(results) if isinstance(results, list) else 0} "
            f"results for {len(batch)} actions"
        )
    return [result if isinstance(result, dict) else {"success": False} for result in results]


def _detail(response: httpx.Response) -> str:
    try:
        detail: Any = response.json().get("detail", response.text)
    except (ValueError, AttributeError):
        detail = response.text
    return str(detail)[:_MAX_DETAIL_CHARS]
