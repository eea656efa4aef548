"""The error handlers every API shares: one shape, `{"detail": ...}`, for every error.

- a `BCSError` (each part's typed errors, `errors.py`): its status and message;
- a malformed request: FastAPI's 422 shape, rendered so that no input can turn it into a 500;
- the database unavailable: a JSON 503 with `Retry-After`;
"""

from __future__ import annotations

import json
import logging
import math

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bettercallsold.errors import BCSError, Unprocessable

logger = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BCSError, _bcs_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error_handler)  # type: ignore[arg-type]
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_unavailable_handler)


DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError,  # cannot connect, connection lost, deadlock, serialization failure
    InterfaceError,  # the connection was closed under us
    PoolTimeout,  # every pooled connection busy for `pool_timeout`
)


async def _database_unavailable_handler(request: Request, exc: Exception) -> JSONResponse:
    """A JSON 503 with `Retry-After`, not Starlette's plain-text 500: the request was fine, the
    database was not (down, restarting, saturated), and trying again shortly is the answer.
    Nothing was committed (the transaction dies with its connection). Only the error's type and
    first line are logged: enough to tell "down" from "saturated", no query or parameters."""
    first_line = str(getattr(exc, "orig", None) or exc).strip().splitlines()[:1]
    logger.warning(
        "database unavailable for %s %s: %s %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        first_line[0] if first_line else "",
    )
    return JSONResponse(
        {"detail": "The database is unavailable; try again shortly."},
        status_code=503,
        headers={"Retry-After": "5"},
    )


async def _validation_error_handler(request: Request, exc: RequestValidationError) -> Response:
    """FastAPI's 422 shape, rendered ASCII-safe: a rejected value holding a lone surrogate
    (`"\\ud800"`) would otherwise crash the default UTF-8 renderer into a 500, and a rejected
    NaN/Infinity is echoed as a string (strict JSON has no such numbers)."""
    del request
    detail = _finite(jsonable_encoder(exc.errors()))
    body = json.dumps({"detail": detail}, ensure_ascii=True, allow_nan=False, default=str)
    return Response(body, status_code=422, media_type="application/json")


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


async def _bcs_error_handler(request: Request, exc: BCSError) -> JSONResponse:
    del request
    if isinstance(exc, Unprocessable):
        return JSONResponse({"detail": exc.detail()}, status_code=exc.status_code)
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code)
