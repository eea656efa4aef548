"""The error responses every platform route may give, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorOut(BaseModel):
    detail: str


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        401: "missing or invalid credentials",
        404: "not found (or another tenant's)",
        409: "conflicts with the current state",
    }
    return {code: {"model": ErrorOut, "description": described[code]} for code in codes}


AUTH = errors(401)
AUTH_404 = errors(401, 404)
