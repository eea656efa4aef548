"""The automation plugin's errors, each with its HTTP meaning (rendered by the handler in
`app.py`), and the two outcomes of a batch the execution job tells apart.

    BCSError
    ├── Unauthorized (401)
    │   └── InvalidWebhookSignature   a webhook whose signature or timestamp does not verify
    ├── NotFound (404)
    │   ├── FlowNotFound              no such flow for this tenant
    │   ├── FlowVersionNotFound       the flow has no version of that number
    │   └── ExecutionNotFound         no such execution for this tenant
    ├── Conflict (409)
    │   ├── ExecutionNotWaiting       resume asked of an execution that is not waiting
    │   └── NothingFailed             a re-run from the failed step of one where nothing failed
    ├── Unprocessable (422)
    │   └── Problems                  one detail per problem
    │       ├── InvalidFlow           a flow definition with problems (step id + field)
    │       └── MalformedEvent        a signed webhook whose body is not the event envelope
    ├── EventHistoryUnavailable (502) the platform's stored events could not be read (replay)
    └── ReceiverError                 the event receiver did not take an action batch
        ├── ReceiverUnavailable       timeout, network error, 5xx, 409, 429: retry the job
        └── ReceiverRefused           any other answer: retrying would not help
"""

from __future__ import annotations

from collections.abc import Sequence

from bettercallsold.errors import BCSError, Conflict, NotFound, Unauthorized, Unprocessable


class InvalidWebhookSignature(Unauthorized):
    """Invalid webhook signature."""


class FlowNotFound(NotFound):
    """Flow not found."""


class FlowVersionNotFound(NotFound):
    """Flow version not found."""


class ExecutionNotFound(NotFound):
    """Execution not found."""


class ExecutionNotWaiting(Conflict):
    """The execution is not waiting: there is no wait to end."""


class NothingFailed(Conflict):
    """Only a failed or completed_with_errors execution can be re-run from its failed step."""


class EventHistoryUnavailable(BCSError):
    """The platform's stored events could not be read."""

    status_code = 502


class Problems(Unprocessable):
    """The request is invalid.

    Carries every problem at once, each located like a FastAPI validation error, so a client
    (and the builder UI) can point at each step and field at fault.
    """

    error_type = "value_error"

    def __init__(self, problems: Sequence[tuple[Sequence[str | int], str]]) -> None:
        first_loc, first_message = problems[0]
        super().__init__(first_loc, first_message, self.error_type)
        self.problems = [(list(loc), message) for loc, message in problems]

    def detail(self) -> list[dict[str, object]]:
        return [
            {"loc": loc, "msg": message, "type": self.error_type} for loc, message in self.problems
        ]


class InvalidFlow(Problems):
    """The flow definition is invalid."""

    error_type = "flow_definition"


class MalformedEvent(Problems):
    """The webhook body is not a platform event envelope."""

    error_type = "event_envelope"


class ReceiverError(BCSError):
    """The event receiver did not take the action batch."""


class ReceiverUnavailable(ReceiverError):
    """The event receiver is unavailable; the batch is retried with the same key."""


class ReceiverRefused(ReceiverError):
    """The event receiver refused the action batch."""
