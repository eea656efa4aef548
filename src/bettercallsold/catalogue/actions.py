"""The action catalogue: each action type is data (method, path, payload schema), not a switch."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ValidationError

from bettercallsold.catalogue import payloads as p


@dataclass(frozen=True)
class ActionSpec:
    action_type: str
    method: str
    path: str
    """The platform path; `:id` is taken from `payload.id`."""
    payload_model: type[BaseModel]
    description: str
    example: dict[str, Any]
    aliases: tuple[str, ...] = field(default=())
    outside: bool = False
    """Performed by a call to a URL outside the platform (`send_http_request`), not by a
    platform API: outside any database transaction, through the address guard."""

    @property
    def uses_id(self) -> bool:
        return ":id" in self.path

    def payload_schema(self) -> dict[str, Any]:
        return _schema_of(self.payload_model)

    def required_fields(self) -> list[str]:
        return list(self.payload_schema().get("required", []))

    def known_fields(self) -> list[str]:
        return list(self.payload_schema().get("properties", {}))

    def request_path(self, payload: Mapping[str, Any]) -> str:
        if not self.uses_id:
            return self.path
        # Percent-encode everything, dots included: an id can never walk to another path.
        return self.path.replace(":id", quote(str(payload["id"]), safe="").replace(".", "%2E"))

    def request_body(self, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        """The JSON body of the platform call: the payload without the path's `id`."""
        if self.method == "DELETE":
            return None
        return {key: value for key, value in payload.items() if not (self.uses_id and key == "id")}

    def describe(self) -> dict[str, Any]:
        return {
            "action_type": self.action_type,
            "aliases": list(self.aliases),
            "method": self.method,
            "path": self.path,
            "description": self.description,
            "outside": self.outside,
            "payload_schema": self.payload_schema(),
            "example": self.example,
        }


@functools.cache
def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


_EXAMPLE_ID = "9b2f6c1e-8a4d-4f3b-9e2a-1c5d7e8f9a0b"

ACTIONS: dict[str, ActionSpec] = {
    spec.action_type: spec
    for spec in (
        ActionSpec(
            "create_product",
            "POST",
            "/api/products",
            p.CreateProduct,
            "Create a product.",
            {"name": "New Product", "price": 29.99},
        ),
        ActionSpec(
            "update_product",
            "PUT",
            "/api/products/:id",
            p.UpdateProduct,
            "Change any fields of a product.",
            {"id": _EXAMPLE_ID, "inventory": 25},
        ),
        ActionSpec(
            "delete_product",
            "DELETE",
            "/api/products/:id",
            p.DeleteProduct,
            "Delete a product.",
            {"id": _EXAMPLE_ID},
        ),
        ActionSpec(
            "create_customer",
            "POST",
            "/api/customers",
            p.CreateCustomer,
            "Create a customer.",
            {"name": "Jane Doe", "email": "jane@example.com"},
        ),
        ActionSpec(
            "update_customer",
            "PUT",
            "/api/customers/:id",
            p.UpdateCustomer,
            "Change any fields of a customer (for example add a tag).",
            {"id": "{{trigger.customer_id}}", "tags": ["vip"]},
        ),
        ActionSpec(
            "create_order",
            "POST",
            "/api/orders",
            p.CreateOrder,
            "Create a pending order.",
            {"customer_id": _EXAMPLE_ID, "items": [{"product_id": _EXAMPLE_ID, "quantity": 1}]},
        ),
        ActionSpec(
            "update_order_status",
            "PUT",
            "/api/orders/:id/status",
            p.UpdateOrderStatus,
            "Move an order to another status.",
            {"id": "{{trigger.order_id}}", "status": "paid"},
        ),
        ActionSpec(
            "send_email",
            "POST",
            "/api/notifications/email",
            p.SendEmail,
            "Send an email.",
            {
                "to": "{{trigger.email}}",
                "subject": "Welcome {{trigger.name}}!",
                "template": "welcome_email",
            },
        ),
        ActionSpec(
            "send_sms",
            "POST",
            "/api/notifications/sms",
            p.SendSms,
            "Send a text message.",
            {"to": "{{trigger.phone}}", "message": "Your order shipped!"},
        ),
        ActionSpec(
            "create_notification",
            "POST",
            "/api/notifications",
            p.CreateNotification,
            "Post a message on a channel such as slack.",
            {"channel": "slack", "message": "New order {{trigger.order_id}}"},
            aliases=("send_notification",),
        ),
        ActionSpec(
            "create_task",
            "POST",
            "/api/tasks",
            p.CreateTask,
            "Create a staff task.",
            {"title": "Follow up with {{trigger.name}}", "due_date": "{{now + 3 days}}"},
        ),
        ActionSpec(
            "assign_task",
            "POST",
            "/api/tasks/:id/assign",
            p.AssignTask,
            "Assign a task to a staff member.",
            {"id": "{{steps.action_1.id}}", "assignee": "sam"},
        ),
        ActionSpec(
            "send_http_request",
            "*",
            "<url>",
            p.SendHttpRequest,
            "Call an outside service (its answer is usable by later steps as "
            "steps.<id>.status_code, .headers and .body).",
            {
                "method": "POST",
                "url": "https://hooks.example.com/orders",
                "body": {"order_id": "{{trigger.order_id}}"},
            },
            outside=True,
        ),
    )
}

_BY_NAME: dict[str, ActionSpec] = {
    name: spec for spec in ACTIONS.values() for name in (spec.action_type, *spec.aliases)
}


RESULT_EVENTS: dict[str, str] = {
    "create_product": "product.created",
    "update_product": "product.created",
    "delete_product": "product.deleted",
    "create_customer": "customer.created",
    "update_customer": "customer.created",
    "create_order": "order.created",
    "update_order_status": "order.created",
    "send_email": "notification.sent",
    "send_sms": "notification.sent",
    "create_notification": "notification.sent",
    "create_task": "task.created",
    "assign_task": "task.created",
}
"""The event whose sample payload has the shape of what each platform action returns: the dry
run and the builder's variable picker show an action's result with it."""


def action_spec(action_type: str) -> ActionSpec | None:
    """The spec of an action type or alias; None when unknown."""
    return _BY_NAME.get(action_type)


def validate_payload(spec: ActionSpec, payload: Any) -> str | None:
    """None when the payload fits the action's schema, else a message naming the field(s)."""
    try:
        spec.payload_model.model_validate(payload)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            location = ".".join(str(part) for part in error["loc"]) or "payload"
            problems.append(f"{location}: {error['msg']}")
        return "; ".join(problems)
    return None
