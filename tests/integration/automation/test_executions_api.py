"""`GET /plugins/automation/executions[/{id}]`: tenant-scoped, filtered, with the event log."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import event, text

from bettercallsold.automation import runner
from bettercallsold.runtime import Runtime
from tests.integration.automation.conftest import (
    EXECUTIONS_PATH,
    FLOWS_PATH,
    MakeFlow,
    SendEvent,
    StubReceiver,
    executions_for_event,
)
from tests.integration.conftest import MakeTenant, TenantHandle


async def _run(
    runtime: Runtime, stubbed: Runtime, send_event: SendEvent, tenant: TenantHandle, payload: dict
) -> list[uuid.UUID]:
    response = await send_event(tenant.tenant_id, "customer.created", payload)
    created = await executions_for_event(runtime, response.json()["event_id"])
    for execution_id in created:
        await runner.run_execution(stubbed, execution_id)
    return created


class TestExecutionsApi:
    async def test_list_filters_and_detail(
        self,
        runtime: Runtime,
        stub_receiver: tuple[Runtime, StubReceiver],
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, _stub = stub_receiver
        welcome = await make_flow(tenant)
        [completed] = await _run(
            runtime, stubbed, send_event, tenant, {"email": "a@b.c", "name": "A"}
        )
        [skipped] = await _run(runtime, stubbed, send_event, tenant, {"name": "B"})

        listed = (await tenant.http.get(EXECUTIONS_PATH)).json()
        assert [item["id"] for item in listed["items"]] == [str(skipped), str(completed)]
        assert listed["next_cursor"] is None
        only = await tenant.http.get(EXECUTIONS_PATH, params={"status": "skipped"})
        assert [item["id"] for item in only.json()["items"]] == [str(skipped)]
        by_flow = await tenant.http.get(EXECUTIONS_PATH, params={"flow_id": welcome["id"]})
        assert len(by_flow.json()["items"]) == 2
        paged = (await tenant.http.get(EXECUTIONS_PATH, params={"limit": 1})).json()
        rest = await tenant.http.get(
            EXECUTIONS_PATH, params={"limit": 1, "cursor": paged["next_cursor"]}
        )
        assert [item["id"] for item in rest.json()["items"]] == [str(completed)]

        detail = (await tenant.http.get(f"{EXECUTIONS_PATH}/{completed}")).json()
        assert {
            "id", "flow_id", "status", "trigger_data", "execution_results", "started_at",
            "completed_at", "error", "steps", "events",
        } <= set(detail)  # fmt: skip
        assert detail["status"] == "completed"
        assert detail["flow_id"] == welcome["id"]
        assert detail["trigger_data"] == {"email": "a@b.c", "name": "A"}
        assert detail["steps"][0]["passed"] is True
        assert detail["events"] == []  # the stub receiver logs nothing

        flows = (await tenant.http.get(FLOWS_PATH)).json()["items"]
        assert flows[0]["run_count"] == 2
        assert flows[0]["run_counts"] == {"completed": 1, "skipped": 1}
        assert flows[0]["last_status"] == "skipped"

    async def test_the_event_log_rows_are_included(
        self,
        runtime: Runtime,
        stub_receiver: tuple[Runtime, StubReceiver],
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, _stub = stub_receiver
        await make_flow(tenant)
        [execution_id] = await _run(
            runtime, stubbed, send_event, tenant, {"email": "a@b.c", "name": "A"}
        )
        async with runtime.sessionmaker() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO automation_event_log (id, flow_execution_id, action_type,"
                    " payload, result, success, tenant_id, step_id) VALUES (:id, :execution,"
                    " 'send_email', CAST('{\"to\": \"a@b.c\"}' AS jsonb),"
                    " CAST('{\"id\": \"n-1\"}' AS jsonb), true, :tenant, 'action_1')"
                ),
                {"id": uuid.uuid4(), "execution": execution_id, "tenant": tenant.tenant_id},
            )
        [event] = (await tenant.http.get(f"{EXECUTIONS_PATH}/{execution_id}")).json()["events"]
        assert event["action_type"] == "send_email"
        assert event["payload"] == {"to": "a@b.c"}
        assert event["result"] == {"id": "n-1"}
        assert event["success"] is True
        assert event["step_id"] == "action_1"

    async def test_another_tenants_execution_is_a_404(
        self,
        runtime: Runtime,
        stub_receiver: tuple[Runtime, StubReceiver],
        send_event: SendEvent,
        tenant: TenantHandle,
        make_tenant: MakeTenant,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, _stub = stub_receiver
        await make_flow(tenant)
        [execution_id] = await _run(runtime, stubbed, send_event, tenant, {"name": "A"})
        stranger = await make_tenant()
        assert (await stranger.http.get(f"{EXECUTIONS_PATH}/{execution_id}")).status_code == 404
        assert (await stranger.http.get(EXECUTIONS_PATH)).json()["items"] == []
        missing = await tenant.http.get(f"{EXECUTIONS_PATH}/{uuid.uuid4()}")
        assert missing.status_code == 404

    async def test_needs_a_tenant_token(self, client: httpx.AsyncClient) -> None:
        assert (await client.get(EXECUTIONS_PATH)).status_code == 401
        assert (await client.get(f"{EXECUTIONS_PATH}/{uuid.uuid4()}")).status_code == 401


async def _log(
    runtime: Runtime,
    tenant_id: uuid.UUID,
    execution_id: uuid.UUID,
    step_id: str,
    created_at: datetime,
) -> None:
    """An event-log row as the receiver writes it for one action (the stub receiver logs
    nothing)."""
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO automation_event_log (id, flow_execution_id, action_type, payload,"
                " result, success, tenant_id, step_id, created_at) VALUES (:id, :execution,"
                " 'send_email', CAST(:payload AS jsonb), CAST('{\"id\": \"n-1\"}' AS jsonb),"
                " true, :tenant, :step_id, :created_at)"
            ),
            {
                "id": uuid.uuid4(),
                "execution": execution_id,
                "payload": f'{{"step": "{step_id}"}}',
                "tenant": tenant_id,
                "step_id": step_id,
                "created_at": created_at,
            },
        )


async def _two_logged_actions(
    runtime: Runtime, stubbed: Runtime, send_event: SendEvent, tenant: TenantHandle
) -> uuid.UUID:
    """A completed welcome execution with a log row per action, written out of order so only
    `created_at` can put them right."""
    [execution_id] = await _run(
        runtime, stubbed, send_event, tenant, {"email": "a@b.c", "name": "A"}
    )
    moment = datetime.now(UTC)
    await _log(runtime, tenant.tenant_id, execution_id, "action_2", moment + timedelta(seconds=1))
    await _log(runtime, tenant.tenant_id, execution_id, "action_1", moment)
    return execution_id


async def _detail(tenant: TenantHandle, execution_id: str) -> dict[str, Any]:
    response = await tenant.http.get(f"{EXECUTIONS_PATH}/{execution_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


@contextmanager
def _event_log_queries(runtime: Runtime) -> Iterator[list[str]]:
    """The statements sent to the database that read the event log, while in the block."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement = args[2]
        if "automation_event_log" in statement:
            seen.append(statement)

    engine = runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


class TestListExecutionsEvents:
    """The list's rows carry `events` exactly as the detail does (the contract's one shape)."""

    async def test_each_row_is_the_detail(
        self,
        runtime: Runtime,
        stub_receiver: tuple[Runtime, StubReceiver],
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, _stub = stub_receiver
        await make_flow(tenant)
        logged = await _two_logged_actions(runtime, stubbed, send_event, tenant)
        [skipped] = await _run(runtime, stubbed, send_event, tenant, {"name": "B"})

        rows = (await tenant.http.get(EXECUTIONS_PATH)).json()["items"]
        assert [row["id"] for row in rows] == [str(skipped), str(logged)]
        for row in rows:
            assert row == await _detail(tenant, row["id"])
        skipped_row, logged_row = rows
        assert skipped_row["status"] == "skipped"
        assert skipped_row["events"] == []
        assert [e["step_id"] for e in logged_row["events"]] == ["action_1", "action_2"]
        assert logged_row["events"][0]["payload"] == {"step": "action_1"}
        assert logged_row["events"][0]["result"] == {"id": "n-1"}
        assert logged_row["events"][0]["success"] is True

    async def test_every_page_carries_its_rows_events(
        self,
        runtime: Runtime,
        stub_receiver: tuple[Runtime, StubReceiver],
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, _stub = stub_receiver
        await make_flow(tenant)
        older = await _two_logged_actions(runtime, stubbed, send_event, tenant)
        [skipped] = await _run(runtime, stubbed, send_event, tenant, {"name": "B"})
        newer = await _two_logged_actions(runtime, stubbed, send_event, tenant)

        seen: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 1}
        while True:
            page = (await tenant.http.get(EXECUTIONS_PATH, params=params)).json()
            seen += page["items"]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert [row["id"] for row in seen] == [str(newer), str(skipped), str(older)]
        for row in seen:
            assert row["events"] == (await _detail(tenant, row["id"]))["events"]
        assert [len(row["events"]) for row in seen] == [2, 0, 2]

    async def test_one_event_log_query_for_the_whole_page(
        self,
        runtime: Runtime,
        stub_receiver: tuple[Runtime, StubReceiver],
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, _stub = stub_receiver
        await make_flow(tenant)
        for _ in range(3):
            await _two_logged_actions(runtime, stubbed, send_event, tenant)
        with _event_log_queries(runtime) as queries:
            rows = (await tenant.http.get(EXECUTIONS_PATH)).json()["items"]
        assert [len(row["events"]) for row in rows] == [2, 2, 2]
        assert len(queries) == 1, queries

    async def test_another_tenants_rows_never_appear(
        self,
        runtime: Runtime,
        stub_receiver: tuple[Runtime, StubReceiver],
        send_event: SendEvent,
        tenant: TenantHandle,
        make_tenant: MakeTenant,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, _stub = stub_receiver
        stranger = await make_tenant()
        await make_flow(tenant)
        await make_flow(stranger)
        mine = await _two_logged_actions(runtime, stubbed, send_event, tenant)
        theirs = await _two_logged_actions(runtime, stubbed, send_event, stranger)
        # A row on my execution stamped with the stranger's tenant is theirs, not mine.
        await _log(runtime, stranger.tenant_id, mine, "stray", datetime.now(UTC))

        [my_row] = (await tenant.http.get(EXECUTIONS_PATH)).json()["items"]
        assert my_row["id"] == str(mine)
        assert [e["step_id"] for e in my_row["events"]] == ["action_1", "action_2"]
        assert my_row == await _detail(tenant, str(mine))
        [their_row] = (await stranger.http.get(EXECUTIONS_PATH)).json()["items"]
        assert their_row["id"] == str(theirs)
        their_ids = {e["id"] for e in their_row["events"]}
        assert their_ids.isdisjoint(e["id"] for e in my_row["events"])
        assert len(their_ids) == 2

    async def test_the_document_gives_list_and_detail_one_schema(
        self, client: httpx.AsyncClient
    ) -> None:
        document = (await client.get("/openapi.json")).json()
        page_schema = document["components"]["schemas"]["ExecutionPage"]
        listed = page_schema["properties"]["items"]["items"]["$ref"]
        detail = document["paths"][EXECUTIONS_PATH + "/{execution_id}"]["get"]
        shown = detail["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert listed == shown
        execution = document["components"]["schemas"][shown.rsplit("/", 1)[-1]]
        assert "events" in execution["required"]
        assert execution["properties"]["events"]["items"]["$ref"].endswith("/EventLogOut")


async def test_the_catalogue_lists_actions_events_and_operators(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/plugins/automation/catalogue")
    assert response.status_code == 200
    catalogue = response.json()
    actions = {action["action_type"]: action for action in catalogue["actions"]}
    assert "send_email" in actions
    assert "create_task" in actions
    assert actions["send_email"]["payload_schema"]["required"] == ["to", "subject"]
    events = {event["event_type"]: event for event in catalogue["events"]}
    assert events["customer.created"]["sample_payload"]["email"]
    operators = [operator["operator"] for operator in catalogue["operators"]]
    assert len(operators) == 14
    assert operators[:2] == ["exists", "not_exists"]
    assert {"active", "paused"} <= set(catalogue["statuses"])
