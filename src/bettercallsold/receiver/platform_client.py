"""Calling the platform for one action, through its real HTTP interface.

In `bcs serve` the base URL is `http://bcs.internal`, which the runtime's client routes to this
process's own app (httpx's ASGI transport); with `BCS_PLATFORM_URL` it is a remote platform.
Either way the answer is read the same way, so the receiver can drive an external platform.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bettercallsold.catalogue import ActionSpec
from bettercallsold.receiver import results
from bettercallsold.tenancy.assertions import Signer
from bettercallsold.types import JSON

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PlatformTarget:
    """Where and as whom to call: the base URL and a bearer credential for one tenant."""

    http: httpx.AsyncClient
    base_url: str
    credential_for: Signer
    """The bearer credential for one HTTP call `(method, path)`: asked again for every try,
    since the platform accepts a service assertion once and only for the call it names."""
    timeout_seconds: float
    """The bound of the whole call, retries included."""
    attempts: int = 1
    """Tries on a transient failure (no answer, a 5xx, 408, 429). More than one only for a
    keyed action: the platform performs it once however often it is sent (`bus/outbox.py`)."""
    retry_pause_seconds: float = 0.25
    """The pause before the second try; it grows linearly."""


def request_path(spec: ActionSpec, payload: Mapping[str, Any]) -> str:
    """The spec's path with `:id` from the payload, percent-encoded (dots too): an id can never
    reach another path (`../..`) or add a query, whatever the payload says."""
    return spec.request_path(payload)


_TRANSIENT_STATUSES = frozenset({408, 429})


async def perform(
    target: PlatformTarget, action_type: str, spec: ActionSpec, payload: Mapping[str, Any]
) -> JSON:
    """Call the platform for one validated action; never raises for the platform's failures.

    2xx → a success with the answer's JSON as `data`; any other status → a failure with the
    status and the platform's detail; a network error or the total timeout → a failure. A
    transient failure is tried again, within the timeout, up to `target.attempts` times.
    """
    path = request_path(spec, payload)
    try:
        # A total bound: httpx's timeouts are per operation, and the in-process ASGI
        # transport applies none at all.
        async with asyncio.timeout(target.timeout_seconds):
            for attempt in range(1, target.attempts + 1):
                result, transient = await _attempt(target, action_type, spec, payload, path)
                if not transient or attempt == target.attempts:
                    return result
                logger.warning(
                    "platform call %s %s failed (%s); trying again",
                    spec.method,
                    path,
                    result.get("error"),
                )
                await asyncio.sleep(target.retry_pause_seconds * attempt)
    except TimeoutError:
        pass
    return results.platform_timed_out(action_type, spec.method, path, target.timeout_seconds)


async def _attempt(
    target: PlatformTarget,
    action_type: str,
    spec: ActionSpec,
    payload: Mapping[str, Any],
    path: str,
) -> tuple[JSON, bool]:
    """One call: its result, and whether its failure is worth another try."""
    url = httpx.URL(target.base_url + path)
    # Signed for the path as the platform routes it: percent-decoded, without the query.
    credential = target.credential_for(spec.method, url.path)
    try:
        response = await target.http.request(
            spec.method,
            url,
            json=spec.request_body(payload),
            headers={"Authorization": f"Bearer {credential}"},
        )
    except httpx.TimeoutException:
        return results.platform_timed_out(
            action_type, spec.method, path, target.timeout_seconds
        ), True
    except httpx.HTTPError as exc:
        return results.platform_unreachable(
            action_type, spec.method, path, type(exc).__name__
        ), True
    except Exception:
        # In-process, the ASGI transport re-raises the platform's own unhandled errors, where a
        # remote platform would answer 500. Treat both alike: this action fails, the batch goes
        # on. Logged with its traceback, since it is a platform bug.
        logger.exception("platform call failed: %s %s", spec.method, path)
        return results.platform_refused(action_type, spec.method, path, 500, None), True
    status = response.status_code
    transient = status >= 500 or status in _TRANSIENT_STATUSES
    answer = _json_or_none(response)
    result = results.from_answer(
        action_type, spec.method, path, status, answer, payload, spec.uses_id
    )
    return result, transient


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
