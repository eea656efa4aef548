"""The platform event catalogue: every event type with a sample payload (the test panel's)."""

from __future__ import annotations

from typing import Any

_CUSTOMER = {
    "id": "3f1c9a52-7e0b-4c8d-9a61-2b7e5d4c3a10",
    "customer_id": "3f1c9a52-7e0b-4c8d-9a61-2b7e5d4c3a10",
    "name": "John Doe",
    "email": "john@example.com",
    "phone": "+15551234567",
    "tags": [],
    "created_at": "2026-11-24T10:00:00Z",
    "updated_at": "2026-11-24T10:00:00Z",
}
_PRODUCT = {
    "id": "8c2d4e6f-1a3b-4c5d-8e9f-0a1b2c3d4e5f",
    "product_id": "8c2d4e6f-1a3b-4c5d-8e9f-0a1b2c3d4e5f",
    "name": "Ceramic Mug",
    "price": 19.99,
    "description": "A sturdy mug",
    "sku": "MUG-001",
    "inventory": 4,
    "tags": ["kitchen"],
    "created_at": "2026-11-24T10:00:00Z",
    "updated_at": "2026-11-24T10:00:00Z",
}
_ORDER = {
    "id": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
    "order_id": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
    "customer_id": _CUSTOMER["id"],
    "status": "pending",
    "total": 599.70,
    "items": [
        {
            "product_id": _PRODUCT["id"],
            "name": "Ceramic Mug",
            "sku": "MUG-001",
            "quantity": 30,
            "unit_price": 19.99,
            "line_total": 599.70,
        }
    ],
    "created_at": "2026-11-24T10:00:00Z",
    "updated_at": "2026-11-24T10:00:00Z",
}
_NOTIFICATION = {
    "id": "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
    "notification_id": "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
    "channel": "email",
    "status": "sent",
    "to": "john@example.com",
    "subject": "Welcome John Doe!",
    "body": None,
    "template": "welcome_email",
    "provider": "store",
    "created_at": "2026-11-24T10:00:00Z",
}
_TASK = {
    "id": "6d7e8f9a-0b1c-4d2e-9f3a-4b5c6d7e8f9a",
    "task_id": "6d7e8f9a-0b1c-4d2e-9f3a-4b5c6d7e8f9a",
    "title": "Follow up with John Doe",
    "description": None,
    "due_date": "2026-11-27T10:00:00Z",
    "assignee": "sam",
    "status": "open",
    "created_at": "2026-11-24T10:00:00Z",
    "updated_at": "2026-11-24T10:00:00Z",
}

EVENT_SAMPLES: dict[str, dict[str, Any]] = {
    "customer.created": _CUSTOMER,
    "customer.updated": {**_CUSTOMER, "tags": ["vip"], "changed_fields": ["tags"]},
    "product.created": _PRODUCT,
    "product.updated": {**_PRODUCT, "inventory": 2, "changed_fields": ["inventory"]},
    "product.deleted": _PRODUCT,
    "order.created": _ORDER,
    "order.status_changed": {**_ORDER, "from_status": "paid", "status": "fulfilled"},
    "notification.sent": _NOTIFICATION,
    "task.created": {**_TASK, "assignee": None},
    "task.assigned": {**_TASK, "previous_assignee": None},
}

EVENT_TYPES: tuple[str, ...] = tuple(EVENT_SAMPLES)
