"""The one error shape every API answers with (`http/handlers.py`), as the OpenAPI document
shows it: `{"detail": "..."}`. A 422 has FastAPI's own schema instead."""

from __future__ import annotations

from pydantic import BaseModel


class ErrorOut(BaseModel):
    detail: str
