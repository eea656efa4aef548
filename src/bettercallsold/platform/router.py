"""Every platform router, for `app.py` to include."""

from __future__ import annotations

from fastapi import APIRouter

from bettercallsold.platform.customers.routes import router as customers
from bettercallsold.platform.notifications.routes import router as notifications
from bettercallsold.platform.orders.routes import router as orders
from bettercallsold.platform.products.routes import router as products
from bettercallsold.platform.tasks.routes import router as tasks

# Each write route answers a repeated event receiver action itself (`once.py`).
router = APIRouter()
for part in (products, customers, orders, notifications, tasks):
    router.include_router(part)
