"""The order status state machine (pure)."""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    pending = "pending"
    paid = "paid"
    fulfilled = "fulfilled"
    delivered = "delivered"
    cancelled = "cancelled"


ALLOWED_MOVES: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.pending: frozenset({OrderStatus.paid, OrderStatus.cancelled}),
    OrderStatus.paid: frozenset({OrderStatus.fulfilled, OrderStatus.cancelled}),
    OrderStatus.fulfilled: frozenset({OrderStatus.delivered}),
    OrderStatus.delivered: frozenset(),
    OrderStatus.cancelled: frozenset(),
}


def can_move(current: OrderStatus, target: OrderStatus) -> bool:
    return target in ALLOWED_MOVES[current]
