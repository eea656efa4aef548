"""The plugin's `ExecutionDirectory` port (`ports.py`): its executions, read for the receiver.

The event receiver checks the execution of every action batch it gets (whose it is, its cause's
depth, whether it still runs). It asks here, never with SQL on `automation_executions`, in both
modes: with the parts in one process, and with the plugin elsewhere (`BCS_PLUGIN_URL`), where
the receiver's process still shares the plugin's PostgreSQL and runs this module's code as a
library function over it (`wiring.py`). An internal HTTP endpoint would cost a round trip on
every batch for what one indexed read answers, and the table's columns stay known to this part
alone either way.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation import repository
from bettercallsold.ports import ExecutionRef


class PluginExecutions:
    """`ports.ExecutionDirectory`, over the plugin's own table."""

    async def find(
        self, session: AsyncSession, execution_id: uuid.UUID
    ) -> tuple[ExecutionRef, str] | None:
        return await repository.execution_ref(session, execution_id)
