"""Shaping action results (pure): the contract's `{action_type, success, data | error}`.

Every message a merchant may read in an execution's log is written here, so they stay
consistent: what failed, and why (the field at fault, or the platform's status and detail).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bettercallsold.types import JSON

_MAX_DETAIL_CHARS = 500


def succeeded(action_type: str, data: Any) -> JSON:
    return {"action_type": action_type, "success": True, "data": data}


def failed(action_type: str, error: str) -> JSON:
    return {"action_type": action_type, "success": False, "error": error}


def unknown_action(action_type: str) -> JSON:
    return failed(action_type, f"Unknown action type: {action_type}")


def invalid_payload(action_type: str, problem: str) -> JSON:
    """`problem` is the catalogue's message, which names the field(s) at fault."""
    return failed(action_type, f"Invalid payload: {problem}")


def platform_refused(action_type: str, method: str, path: str, status: int, body: Any) -> JSON:
    """A non-2xx answer: its status code and the platform's own `detail`."""
    return failed(
        action_type,
        f"Platform API error {status} on {method} {path}: {describe_detail(body, status)}",
    )


def platform_unreachable(action_type: str, method: str, path: str, reason: str) -> JSON:
    return failed(action_type, f"Platform API unreachable on {method} {path}: {reason}")


def platform_timed_out(action_type: str, method: str, path: str, seconds: float) -> JSON:
    return failed(
        action_type,
        f"Platform API timed out after {seconds:g}s on {method} {path}; the outcome is unknown",
    )


def from_answer(
    action_type: str,
    method: str,
    path: str,
    status: int,
    body: Any,
    payload: Mapping[str, Any],
    uses_id: bool,
) -> JSON:
    """The result of the platform's answer to an action, over HTTP or in process alike."""
    if 200 <= status < 300:
        return succeeded(
            action_type, body if body is not None else empty_answer(method, payload, uses_id)
        )
    return platform_refused(action_type, method, path, status, body)


def empty_answer(method: str, payload: Mapping[str, Any], uses_id: bool) -> JSON:
    """`data` for a 2xx without a body (a DELETE's 204): what was acted on."""
    data: JSON = {"id": payload["id"]} if uses_id and "id" in payload else {}
    if method == "DELETE":
        data["deleted"] = True
    return data


def describe_detail(body: Any, status: int) -> str:
    """The platform's `{"detail": ...}` as one line: a string as is, a validation list as
    `field: message; ...` (the field path without the `body` prefix)."""
    detail = body.get("detail") if isinstance(body, Mapping) else None
    if isinstance(detail, str) and detail:
        return _clip(detail)
    if isinstance(detail, list) and detail:
        return _clip("; ".join(_describe_problem(problem) for problem in detail))
    return f"HTTP {status}"


def _describe_problem(problem: Any) -> str:
    if not isinstance(problem, Mapping):
        return str(problem)
    loc = [str(part) for part in problem.get("loc", []) if part != "body"]
    message = str(problem.get("msg", "invalid"))
    return f"{'.'.join(loc)}: {message}" if loc else message


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL_CHARS else text[: _MAX_DETAIL_CHARS - 1] + "…"
