"""Every platform router, for `app.py` to include."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from bettercallsold.platform.customers.routes import router as customers
from bettercallsold.platform.notifications.routes import router as notifications
from bettercallsold.platform.orders.routes import router as orders
from bettercallsold.platform.products.routes import router as products
from bettercallsold.platform.replay import replay_performed_action
from bettercallsold.platform.tasks.routes import router as tasks

# Every platform route: a repeated event receiver action is answered before it runs again.
router = APIRouter(dependencies=[Depends(replay_performed_action)])
for part in (products, customers, orders, notifications, tasks):
    router.include_router(part)
