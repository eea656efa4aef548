"""The ports where the four parts meet when they share a process: plain Python interfaces.

Each part owns one port and implements it; a caller holds the port, never the implementing
module (the import-linter contracts in `pyproject.toml` keep it so). `wiring.py` plugs the
in-process adapters in when the parts run together; with `BCS_PLUGIN_URL` / `BCS_PLATFORM_URL`
set a port is left empty and the caller uses the contract's HTTP instead.

Every port method takes the caller's `AsyncSession`: a call across parts in one process joins
the caller's transaction, which is what makes the hot path atomic and cheap (a platform write
and the executions it starts commit together; an execution's actions, their log and its end
commit together).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from bettercallsold.runtime import Runtime

from bettercallsold.types import JSON, Causation, TenantContext

# --- the bus → the automation plugin --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A platform event as the bus hands it over (the webhook envelope's fields)."""

    event_id: str
    tenant_id: uuid.UUID
    event_type: str
    payload: JSON
    occurred_at: datetime | None
    causation_execution_id: uuid.UUID | None
    causation_depth: int
    causation_root_event_id: str | None = None

    @property
    def root_event_id(self) -> str:
        """The outside event this one descends from: itself, when no automation caused it."""
        return self.causation_root_event_id or self.event_id


class EventIntake(Protocol):
    """The automation plugin's intake: takes a platform event in the writer's transaction."""

    subscription_key: str
    """The operator subscription this intake stands for: the bus delivers nothing to it while
    the intake runs in process (the event is handed over here instead)."""

    async def take(self, session: AsyncSession, event: EventRecord) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A platform event the bus kept (its outbox row), as history readers see it."""

    event_id: str
    event_type: str
    occurred_at: datetime
    payload: JSON


class EventHistory(Protocol):
    """The bus's stored events of one tenant, read-only (the automation plugin's replay)."""

    async def recent(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        event_type: str,
        *,
        limit: int,
        since: datetime | None = None,
    ) -> list[StoredEvent]:
        """Up to `limit` of the tenant's events of `event_type`, newest first, those that
        occurred at or after `since` when given."""
        ...


# --- the automation plugin → the event receiver ---------------------------------------------


@dataclass(frozen=True, slots=True)
class ExecutionRef:
    """What the receiver needs of an execution: whose it is, and how deep its cause."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    causation_depth: int
    root_event_id: str | None = None
    """The causation tree's root event: the receiver counts the tree's actions by it."""

    def causation(self) -> Causation:
        """What the platform writes this execution's actions make are stamped with."""
        return Causation(
            flow_execution_id=self.id,
            depth=self.causation_depth + 1,
            root_event_id=self.root_event_id,
        )


class ActionRequest(Protocol):
    """One rendered action of a batch."""

    @property
    def step_id(self) -> str | None: ...

    @property
    def action_type(self) -> str: ...

    @property
    def payload(self) -> Any: ...


class ActionReceiver(Protocol):
    """The event receiver: performs an execution's actions for its tenant, in the caller's
    transaction, each on its own (one failing leaves the others done), and logs each one."""

    async def perform(
        self,
        session: AsyncSession,
        execution: ExecutionRef,
        batch_key: str,
        actions: Sequence[ActionRequest],
    ) -> list[JSON]:
        """One `{action_type, success, data | error}` per action, in order."""
        ...

    async def perform_outside(
        self, runtime: Runtime, execution: ExecutionRef, action: ActionRequest
    ) -> JSON:
        """Perform an action that calls outside the platform (`send_http_request`), in no
        transaction of the caller's (it may take seconds); logged like any other."""
        ...


# --- the event receiver → the platform ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlatformCall:
    """One platform operation, named as its HTTP route is: `PUT /api/products/:id`."""

    method: str
    path: str
    """The route's template, with `:id` where the resource id goes."""
    resource_id: str | None
    body: JSON | None


@dataclass(frozen=True, slots=True)
class PlatformAnswer:
    """What the route would have answered: its status and its JSON body (None when empty)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class PlatformOperations(Protocol):
    """The platform's services for one tenant context: same validation, same events (with
    their causation and action key) as its HTTP routes. An error answer leaves nothing
    written (the call runs under a savepoint of the caller's transaction)."""

    async def call(
        self, session: AsyncSession, context: TenantContext, call: PlatformCall
    ) -> PlatformAnswer: ...


# --- reads across parts, over the one shared database ----------------------------------------
# Every deployment we support shares one PostgreSQL between the parts, also when the plugin and
# the platform run in different processes (`BCS_PLUGIN_URL` / `BCS_PLATFORM_URL`). A part that
# needs another's records asks the owner's read function through these ports, never with SQL on
# the owner's table: the owner's module is the only code that knows its columns, in every mode.
# So `wiring.py` plugs these two in whichever parts run here (a process runs every part's code).


class ExecutionDirectory(Protocol):
    """The automation plugin's executions, as the event receiver needs them: whose an execution
    is, how deep its cause (`ExecutionRef`), and its status (`running`, `completed`, ...)."""

    async def find(
        self, session: AsyncSession, execution_id: uuid.UUID
    ) -> tuple[ExecutionRef, str] | None:
        """The execution and its status; None when there is no such execution."""
        ...


class ActionLog(Protocol):
    """The event receiver's log of the actions it performed, read by the automation plugin
    (an execution's `events`)."""

    async def entries(
        self, session: AsyncSession, tenant_id: uuid.UUID, execution_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[JSON]]:
        """Each execution's rows, oldest first (`id, step_id, action_type, payload, result,
        success, created_at`); an execution without rows is absent. Scoped to the tenant."""
        ...


@dataclass(frozen=True)
class Ports:
    """The in-process adapters of one process; a None port is reached over HTTP."""

    intake: EventIntake | None = None
    receiver: ActionReceiver | None = None
    platform: PlatformOperations | None = None
    executions: ExecutionDirectory | None = None
    """Wired in every mode: a read over the shared database (see above)."""
    action_log: ActionLog | None = None
    """Wired in every mode: a read over the shared database (see above)."""
    history: EventHistory | None = None


INTAKE_INFO_KEY = "bcs.event_intake"
"""Where a session carries the in-process intake (`Session.info`, set by the sessionmaker):
a platform write reaches it from any service without threading it through every call."""


def event_intake(session: AsyncSession) -> EventIntake | None:
    found: EventIntake | None = session.info.get(INTAKE_INFO_KEY)
    return found
