"""`platform/orders/status.py`: the order state machine, every move checked (no database).

No `__init__.py` here on purpose: `tests/unit` is not a package, so this folder would be
imported as `platform` and shadow the standard library module of that name.
"""

from __future__ import annotations

import pytest

from bettercallsold.platform.orders.status import ALLOWED_MOVES, OrderStatus, can_move

S = OrderStatus
CONTRACT_MOVES = {
    (S.pending, S.paid),
    (S.paid, S.fulfilled),
    (S.fulfilled, S.delivered),
    (S.pending, S.cancelled),
    (S.paid, S.cancelled),
}
EVERY_PAIR = [(a, b) for a in S for b in S]


class TestCanMove:
    @pytest.mark.parametrize(
        ("current", "target"), EVERY_PAIR, ids=[f"{a}->{b}" for a, b in EVERY_PAIR]
    )
    def test_only_the_contracts_moves_are_allowed(
        self, current: OrderStatus, target: OrderStatus
    ) -> None:
        assert can_move(current, target) is ((current, target) in CONTRACT_MOVES)

    @pytest.mark.parametrize("terminal", [S.delivered, S.cancelled])
    def test_delivered_and_cancelled_are_final(self, terminal: OrderStatus) -> None:
        assert not any(can_move(terminal, target) for target in S)

    def test_no_status_moves_to_itself(self) -> None:
        assert not any(can_move(status, status) for status in S)

    def test_every_status_has_an_entry(self) -> None:
        assert set(ALLOWED_MOVES) == set(S)


class TestOrderStatus:
    def test_spells_the_contracts_statuses(self) -> None:
        assert [status.value for status in S] == [
            "pending",
            "paid",
            "fulfilled",
            "delivered",
            "cancelled",
        ]

    def test_an_unknown_status_is_refused(self) -> None:
        with pytest.raises(ValueError, match="shipped"):
            OrderStatus("shipped")
