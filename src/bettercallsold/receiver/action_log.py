"""The receiver's `ActionLog` port (`ports.py`): its event log, read for the automation plugin.

The plugin shows each execution with the rows the receiver logged for its actions (`events`).
It asks here, never with SQL on `automation_event_log`, in both modes: with the parts in one
process, and with the platform (and so the receiver) elsewhere (`BCS_PLATFORM_URL`), where the
plugin's process still shares the receiver's PostgreSQL and runs this module's code as a library
function over it (`wiring.py`). An internal HTTP endpoint would put a round trip into every page
of the executions list for what one indexed read answers; the table's columns stay known to
this part alone either way.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.receiver import repository
from bettercallsold.types import JSON


class ReceiverActionLog:
    """`ports.ActionLog`, over the receiver's own table."""

    async def entries(
        self, session: AsyncSession, tenant_id: uuid.UUID, execution_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[JSON]]:
        return await repository.event_logs(session, tenant_id, execution_ids)
