"""The error tree. Each error carries its HTTP meaning; one handler in `app.py` renders them.

    BCSError (500)
    ├── NotFound (404)
    ├── Conflict (409)
    ├── Unauthorized (401)
    ├── Forbidden (403)
    └── Unprocessable (422)   a body that parses but names something invalid; carries `loc`

Features subclass these in their own `errors.py`; services raise them, routes never catch them.
"""

from __future__ import annotations

from collections.abc import Sequence


class BCSError(Exception):
    """Internal error."""

    status_code = 500

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (self.__doc__ or "error").strip().splitlines()[0]
        super().__init__(self.message)


class NotFound(BCSError):
    """Not found."""

    status_code = 404


class Conflict(BCSError):
    """Conflict."""

    status_code = 409


class Unauthorized(BCSError):
    """Missing or invalid credentials."""

    status_code = 401


class Forbidden(BCSError):
    """Forbidden."""

    status_code = 403


class Unprocessable(BCSError):
    """Unprocessable entity.

    Rendered in FastAPI's validation shape, `{"detail": [{"loc", "msg", "type"}]}`, so a client
    handles a missing product exactly like a missing field.
    """

    status_code = 422

    def __init__(
        self, loc: Sequence[str | int], message: str, error_type: str = "value_error"
    ) -> None:
        super().__init__(message)
        self.loc = list(loc)
        self.error_type = error_type

    def detail(self) -> list[dict[str, object]]:
        return [{"loc": self.loc, "msg": self.message, "type": self.error_type}]
