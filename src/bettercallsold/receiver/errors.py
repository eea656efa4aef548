"""The receiver's errors, each with its HTTP meaning (rendered by the handler in `app.py`).

BCSError
├── Unauthorized (401)
│   └── InvalidPluginCredential      no or wrong plugin credential
├── NotFound (404)
│   └── ExecutionNotFound            `flow_execution_id` names no execution
├── Conflict (409)
│   ├── IdempotencyKeyInUse          another request with this key is still running
│   └── IdempotencyLeaseLost         this request's hold on its key expired and was taken
└── Unprocessable (422)
    └── IdempotencyKeyReused         the key was first used with another body
"""

from __future__ import annotations

from bettercallsold.errors import Conflict, NotFound, Unauthorized, Unprocessable


class InvalidPluginCredential(Unauthorized):
    """Missing or invalid plugin credential."""


class ExecutionNotFound(NotFound):
    """Flow execution not found."""


class ExecutionNotRunning(Conflict):
    """The flow execution is no longer running: it takes no more actions."""


class IdempotencyKeyInUse(Conflict):
    """A request with this Idempotency-Key is still in progress; retry later."""


class IdempotencyLeaseLost(Conflict):
    """This request's hold on its Idempotency-Key expired and another request took it over."""


class IdempotencyKeyReused(Unprocessable):
    """The Idempotency-Key was already used with a different request body."""

    def __init__(self) -> None:
        super().__init__(
            ["header", "Idempotency-Key"],
            "this Idempotency-Key was already used with a different request body",
            "idempotency_key_reused",
        )
