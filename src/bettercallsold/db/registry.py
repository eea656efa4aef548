"""Imports every model so `Base.metadata` knows all tables (Alembic and tests use it)."""

from __future__ import annotations

from bettercallsold.automation import models as automation_models
from bettercallsold.bus import models as bus_models
from bettercallsold.db.base import Base
from bettercallsold.platform.customers import models as customer_models
from bettercallsold.platform.notifications import models as notification_models
from bettercallsold.platform.orders import models as order_models
from bettercallsold.platform.products import models as product_models
from bettercallsold.platform.tasks import models as task_models
from bettercallsold.receiver import models as receiver_models
from bettercallsold.tenancy import models as tenancy_models
from bettercallsold.web import models as web_models

MODEL_MODULES = (
    tenancy_models,
    product_models,
    customer_models,
    order_models,
    notification_models,
    task_models,
    bus_models,
    automation_models,
    receiver_models,
    web_models,
)

metadata = Base.metadata
