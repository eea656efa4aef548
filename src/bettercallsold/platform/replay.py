"""Repeated flow actions: the platform performs each event receiver action once.

The receiver signs each action's call with the action's key (`TenantContext.action_key`) and
may repeat it after a crash, not knowing whether the first call went through. When that first
write is committed, the repeat is answered before any work is done (no second provider call, no
update that would now fail, a delete that would now 404) with the first write's resource; a
repeat racing the first is caught by the outbox's unique index instead (`bus/outbox.py`).
"""

from __future__ import annotations

from bettercallsold.bus.errors import ActionAlreadyPerformed
from bettercallsold.bus.outbox import performed_action
from bettercallsold.db.session import RuntimeDep
from bettercallsold.tenancy.auth import TenantDep


async def replay_performed_action(runtime: RuntimeDep, context: TenantDep) -> None:
    """Router dependency: raise `ActionAlreadyPerformed` for a repeat of a committed action."""
    if context.action_key is None:
        return
    async with runtime.engine.connect() as connection:
        # autocommit: one round trip, no BEGIN and ROLLBACK around it
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        found = await performed_action(connection, context.tenant_id, context.action_key)
    if found is not None:
        raise ActionAlreadyPerformed(found)
