"""`GET /plugins/automation/executions` at scale: filters by flow, status, time range and a
value of the trigger data, keyset pages without duplicates or gaps, 422s naming the field, an
index for each filter, and nothing of another tenant's."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql

from bettercallsold.automation.execution_list import (
    ExecutionFilters,
    list_statement,
    search_clause,
)
from bettercallsold.automation.models import AutomationExecution
from bettercallsold.http.pagination import PageRequest
from bettercallsold.runtime import Runtime
from tests.integration.automation.conftest import EXECUTIONS_PATH, MakeExecution, MakeFlow
from tests.integration.conftest import MakeTenant, TenantHandle

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _ids(tenant: TenantHandle, **params: Any) -> list[str]:
    response = await tenant.http.get(EXECUTIONS_PATH, params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None
    return [item["id"] for item in page["items"]]


def _newest_first(rows: list[tuple[datetime, uuid.UUID]]) -> list[str]:
    return [str(execution_id) for _, execution_id in sorted(rows, reverse=True)]


class TestFilters:
    async def test_by_flow_status_and_time_range(
        self, tenant: TenantHandle, make_flow: MakeFlow, make_execution: MakeExecution
    ) -> None:
        one, two = await make_flow(tenant), await make_flow(tenant, name="Second")
        rows: list[tuple[datetime, uuid.UUID, str, str]] = []
        for n in range(12):
            flow = one if n % 2 else two
            status = ("completed", "failed", "skipped")[n % 3]
            moment = BASE + timedelta(hours=n)
            execution_id = await make_execution(
                tenant, flow["id"], status=status, started_at=moment
            )
            rows.append((moment, execution_id, flow["id"], status))

        def expected(keep: Callable[[datetime, str, str], bool]) -> list[str]:
            return _newest_first([(m, i) for m, i, f, s in rows if keep(m, f, s)])

        assert await _ids(tenant) == expected(lambda m, f, s: True)
        assert await _ids(tenant, flow_id=one["id"]) == expected(lambda m, f, s: f == one["id"])
        assert await _ids(tenant, status="failed") == expected(lambda m, f, s: s == "failed")
        since, until = BASE + timedelta(hours=3), BASE + timedelta(hours=8)
        assert await _ids(tenant, since=since.isoformat()) == expected(lambda m, f, s: m >= since)
        # `until` is exclusive: consecutive ranges never list a row twice.
        assert await _ids(tenant, until=until.isoformat()) == expected(lambda m, f, s: m < until)
        both = await _ids(
            tenant,
            flow_id=two["id"],
            status="completed",
            since=since.isoformat(),
            until=until.isoformat(),
        )
        assert both == expected(
            lambda m, f, s: f == two["id"] and s == "completed" and since <= m < until
        )
        assert both  # the combination is not vacuous
        # No offset: read as UTC.
        naive = (BASE + timedelta(hours=10)).replace(tzinfo=None).isoformat()
        assert await _ids(tenant, since=naive) == expected(
            lambda m, f, s: m >= BASE + timedelta(hours=10)
        )

    async def test_q_matches_a_value_of_the_trigger_data_exactly_ignoring_case(
        self, tenant: TenantHandle, make_execution: MakeExecution
    ) -> None:
        order_id = str(uuid.uuid4())
        by_email = await make_execution(
            tenant,
            started_at=BASE,
            trigger_data={"email": "Jane.Doe@Example.com", "name": "Jane Doe"},
        )
        nested = await make_execution(
            tenant,
            started_at=BASE + timedelta(minutes=1),
            trigger_data={"order_id": order_id, "customer": {"email": "jane.doe@example.com"}},
        )
        in_list = await make_execution(
            tenant,
            started_at=BASE + timedelta(minutes=2),
            trigger_data={"items": [{"sku": "SKU-42", "quantity": 3}], "total": 129.5},
        )
        await make_execution(tenant, started_at=BASE, trigger_data={"email": "john@example.com"})

        assert await _ids(tenant, q="jane.doe@example.com") == [str(nested), str(by_email)]
        assert await _ids(tenant, q="  JANE.DOE@EXAMPLE.COM ") == [str(nested), str(by_email)]
        assert await _ids(tenant, q=order_id.upper()) == [str(nested)]
        assert await _ids(tenant, q="sku-42") == [str(in_list)]
        assert await _ids(tenant, q="129.5") == [str(in_list)]
        assert await _ids(tenant, q="Jane Doe") == [str(by_email)]
        # An exact value, not a substring; keys are not values.
        assert await _ids(tenant, q="jane") == []
        assert await _ids(tenant, q="email") == []
        assert await _ids(tenant, q="jane.doe@example.com", status="failed") == []

    async def test_another_tenant_sees_none_of_it(
        self,
        tenant: TenantHandle,
        make_tenant: MakeTenant,
        make_flow: MakeFlow,
        make_execution: MakeExecution,
    ) -> None:
        flow = await make_flow(tenant)
        await make_execution(tenant, flow["id"], trigger_data={"email": "a@b.c"})
        stranger = await make_tenant()
        assert await _ids(stranger) == []
        assert await _ids(stranger, q="a@b.c") == []
        assert await _ids(stranger, flow_id=flow["id"]) == []
        assert await _ids(stranger, status="completed") == []


class TestPages:
    async def test_pages_have_no_duplicates_or_gaps_with_equal_start_times(
        self, tenant: TenantHandle, make_execution: MakeExecution
    ) -> None:
        rows = []
        for n in range(23):
            # Groups of rows started at the same instant: the id breaks the tie.
            moment = BASE + timedelta(seconds=n // 4)
            execution_id = await make_execution(
                tenant, started_at=moment, trigger_data={"email": "same@shop.test"}
            )
            rows.append((moment, execution_id))
        for params in ({}, {"q": "same@shop.test"}, {"status": "completed"}):
            seen: list[str] = []
            cursor = None
            pages = 0
            while True:
                query: dict[str, Any] = {"limit": 5, **params}
                if cursor:
                    query["cursor"] = cursor
                response = await tenant.http.get(EXECUTIONS_PATH, params=query)
                assert response.status_code == 200, response.text
                page = response.json()
                assert set(page) == {"items", "next_cursor"}
                seen += [item["id"] for item in page["items"]]
                cursor, pages = page["next_cursor"], pages + 1
                if cursor is None:
                    break
            assert seen == _newest_first(rows), params
            assert pages == 5


class TestBadFilters:
    @pytest.mark.parametrize(
        ("params", "loc"),
        [
            ({"since": "yesterday"}, ["query", "since"]),
            ({"until": "2026-13-01T00:00:00Z"}, ["query", "until"]),
            (
                {"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
                ["query", "until"],
            ),
            ({"status": "exploded"}, ["query", "status"]),
            ({"flow_id": "not-a-uuid"}, ["query", "flow_id"]),
            ({"q": ""}, ["query", "q"]),
            ({"q": "   "}, ["query", "q"]),
            ({"q": "x" * 201}, ["query", "q"]),
            ({"cursor": "%%%"}, ["query", "cursor"]),
            ({"limit": "0"}, ["query", "limit"]),
        ],
    )
    async def test_is_a_422_naming_the_field(
        self, tenant: TenantHandle, params: dict[str, str], loc: list[str]
    ) -> None:
        response = await tenant.http.get(EXECUTIONS_PATH, params=params)
        assert response.status_code == 422, response.text
        assert [detail["loc"] for detail in response.json()["detail"]] == [loc]


class TestIndexes:
    """Each filter can be answered by its index, in the keyset's order, as the query is
    written. A busy tenant is loaded (3,000 executions over 20 flows) and the table analysed,
    so a filter's own index is the cheap way; sequential scans, bitmaps and sorts are ruled out
    besides (a sort of a few rows is what the planner would otherwise rather do). `q`'s clause
    is explained alone (its matches are then sorted)."""

    @pytest.fixture
    async def busy_tenant(self, runtime: Runtime, tenant: TenantHandle) -> list[uuid.UUID]:
        """The tenant's 20 flows, with 3,000 executions among them (3 % failed); analysed."""
        async with runtime.sessionmaker() as session, session.begin():
            flows = await session.scalars(
                text(
                    "INSERT INTO automation_flows (id, tenant_id, name, trigger_event,"
                    " flow_definition, status) SELECT gen_random_uuid(), :tenant, 'f' || n,"
                    " 'customer.created', CAST('{\"steps\": []}' AS jsonb), 'active'"
                    " FROM generate_series(1, 20) AS n RETURNING id"
                ),
                {"tenant": tenant.tenant_id},
            )
            flow_ids = list(flows.all())
            await session.execute(
                text(
                    "INSERT INTO automation_executions (id, flow_id, tenant_id, status,"
                    " trigger_data, started_at, steps, causation_depth)"
                    " SELECT gen_random_uuid(), (CAST(:flows AS uuid[]))[1 + i % 20], :tenant,"
                    " CASE WHEN i % 33 = 0 THEN 'failed' ELSE 'completed' END,"
                    " CAST('{}' AS jsonb), now() - i * interval '1 minute', '[]', 0"
                    " FROM generate_series(1, 3000) AS i"
                ),
                {"flows": flow_ids, "tenant": tenant.tenant_id},
            )
        async with runtime.engine.connect() as connection:
            await connection.execute(text("ANALYZE automation_executions"))
            await connection.commit()
        return flow_ids

    @pytest.mark.parametrize(
        ("filters", "index"),
        [
            ({}, "ix_automation_executions_tenant_started"),
            ({"since": BASE, "until": BASE}, "ix_automation_executions_tenant_started"),
            ({"flow_id": "one of them"}, "ix_automation_executions_flow_started"),
            ({"status": "failed"}, "ix_automation_executions_tenant_status_started"),
        ],
    )
    async def test_each_filter_has_its_index(
        self,
        runtime: Runtime,
        tenant: TenantHandle,
        busy_tenant: list[uuid.UUID],
        filters: dict[str, Any],
        index: str,
    ) -> None:
        if "flow_id" in filters:
            filters = {"flow_id": busy_tenant[3]}
        page = PageRequest(limit=50, after=None)
        statement = list_statement(tenant.tenant_id, page, ExecutionFilters(**filters))
        compiled = statement.compile(
            dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
            compile_kwargs={"literal_binds": True},
        )
        async with runtime.sessionmaker() as session, session.begin():
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                await session.execute(text(f"SET LOCAL {setting} = off"))
            plan = "\n".join((await session.scalars(text(f"EXPLAIN {compiled}"))).all())
        assert index in plan, plan
        assert "Sort" not in plan, plan

    async def test_q_is_the_gin_indexs_expression(self, runtime: Runtime) -> None:
        statement = select(AutomationExecution.id).where(search_clause("A@B.c"))
        compiled = statement.compile(
            dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
            compile_kwargs={"literal_binds": True},
        )
        async with runtime.sessionmaker() as session, session.begin():
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join((await session.scalars(text(f"EXPLAIN {compiled}"))).all())
        assert "ix_automation_executions_search_values" in plan, plan
