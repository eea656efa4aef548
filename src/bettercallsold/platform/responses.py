"""The error responses every platform route may give, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from bettercallsold.http.schemas import ErrorOut


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "the body could not be parsed (not JSON, or not UTF-8)",
        401: "missing or invalid credentials",
        404: "not found (or another tenant's)",
        409: "conflicts with the current state",
    }
    return {code: {"model": ErrorOut, "description": described[code]} for code in codes}


AUTH = errors(401)
AUTH_404 = errors(401, 404)
WRITE = errors(400, 401)
"""A route with a request body: an unparseable body is FastAPI's 400."""
WRITE_404 = errors(400, 401, 404)
