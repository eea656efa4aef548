"""`BCS_MAX_ACTIONS_PER_EVENT`: the actions one outside event may cause, across every execution
it leads to.

The depth limit stops a chain of flows; it does not stop a fan-out (a flow on `task.created`
with two `create_task` actions made 126 tasks from one `POST /api/tasks` before depth 6, and
50 actions would make 50⁶). So the receiver, which performs every action of every execution,
counts them per causation tree: the tree's root event (the outside write, or a schedule's or
"run now"'s own key) is carried by every event and execution it leads to. A batch takes what
is left of its tree's budget in one upsert; the actions beyond fail with an error naming the
limit, like any failed action, visible in the execution.

Over HTTP the count is taken once per batch request (a replayed answer takes nothing); an
action whose outcome was lost in a crash and is run again counts twice, which errs on the
safe side.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.db.raw import driver_connection
from bettercallsold.types import JSON

_TAKE = """
    INSERT INTO receiver_action_budgets (tenant_id, root_event_id, actions)
    VALUES (%(tenant_id)s, %(root)s, %(count)s)
    ON CONFLICT (tenant_id, root_event_id)
    DO UPDATE SET actions = receiver_action_budgets.actions + EXCLUDED.actions
    RETURNING actions
"""


async def take(
    session: AsyncSession, tenant_id: uuid.UUID, root_event_id: str | None, count: int, limit: int
) -> int:
    """Take `count` actions from the tree's budget; how many of them may run (the first ones).
    An execution with no known root (recorded before roots were) is not limited."""
    if root_event_id is None or count <= 0:
        return count
    connection = await driver_connection(session)
    parameters = {"tenant_id": tenant_id, "root": root_event_id, "count": count}
    row = await (await connection.execute(_TAKE, parameters)).fetchone()
    assert row is not None
    before = int(row[0]) - count
    return max(0, min(count, limit - before))


def refused(action_type: str, root_event_id: str | None, limit: int) -> JSON:
    return {
        "action_type": action_type,
        "success": False,
        "error": (
            f"action limit reached: event {root_event_id} has already caused {limit} actions "
            f"across the flows it started (BCS_MAX_ACTIONS_PER_EVENT={limit})"
        ),
    }


async def purge_older_than(session: AsyncSession, days: int) -> int:
    """Forget the counts of trees started more than `days` ago (`ix_..._created`)."""
    connection = await driver_connection(session)
    cursor = await connection.execute(
        "DELETE FROM receiver_action_budgets WHERE created_at < now() - make_interval(days => %s)",
        (days,),
    )
    return cursor.rowcount
