"""`GET /plugins/automation/insights`: hourly counts by status (empty hours as zeros), p50/p95
duration of finished executions, top errors; per tenant or per flow, over `hours` hours."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.automation.conftest import MakeExecution, MakeFlow
from tests.integration.conftest import MakeTenant, TenantHandle

INSIGHTS_PATH = "/plugins/automation/insights"
STATUSES = ("completed", "completed_with_errors", "failed", "skipped")


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


async def _insights(tenant: TenantHandle, **params: Any) -> dict[str, Any]:
    response = await tenant.http.get(INSIGHTS_PATH, params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _counts(found: dict[str, Any]) -> dict[datetime, dict[str, int]]:
    """The non-empty buckets, by hour."""
    counts = {}
    for bucket in found["buckets"]:
        row = {status: bucket[status] for status in STATUSES if bucket[status]}
        if row:
            counts[datetime.fromisoformat(bucket["start"])] = row
    return counts


class TestInsights:
    async def test_buckets_percentiles_and_top_errors(
        self, tenant: TenantHandle, make_flow: MakeFlow, make_execution: MakeExecution
    ) -> None:
        flow = await make_flow(tenant)
        this_hour = _hour(datetime.now(UTC))
        ten_past = this_hour + timedelta(minutes=10)
        three_back = this_hour - timedelta(hours=3) + timedelta(minutes=5)
        for duration in (100, 200, 300, 400):
            await make_execution(tenant, flow["id"], started_at=ten_past, duration_ms=duration)
        await make_execution(
            tenant, flow["id"], status="skipped", started_at=ten_past, duration_ms=0
        )
        for error, times in (("boom", 3), ("timeout", 2), ("rare", 1)):
            for _ in range(times):
                await make_execution(
                    tenant,
                    flow["id"],
                    status="failed",
                    started_at=three_back,
                    error=error,
                    duration_ms=None,
                )
        await make_execution(
            tenant,
            flow["id"],
            status="completed_with_errors",
            started_at=three_back,
            duration_ms=None,
        )
        # Not counted: still running, and one started before the window.
        await make_execution(
            tenant, flow["id"], status="running", started_at=ten_past, duration_ms=None
        )
        await make_execution(
            tenant,
            flow["id"],
            status="failed",
            error="old",
            started_at=this_hour - timedelta(hours=30),
        )

        found = await _insights(tenant, hours=24)

        starts = [datetime.fromisoformat(bucket["start"]) for bucket in found["buckets"]]
        assert starts == [this_hour - timedelta(hours=back) for back in range(23, -1, -1)]
        assert _counts(found) == {
            this_hour: {"completed": 4, "skipped": 1},
            this_hour - timedelta(hours=3): {"failed": 6, "completed_with_errors": 1},
        }
        # percentile_cont over 0, 100, 200, 300, 400 ms (the unfinished ones have no duration).
        assert found["duration_ms"] == {"p50": 200.0, "p95": 380.0}
        assert found["top_errors"] == [
            {"error": "boom", "count": 3},
            {"error": "timeout", "count": 2},
            {"error": "rare", "count": 1},
        ]
        # A wider window reaches the old one.
        wide = await _insights(tenant, hours=48)
        assert len(wide["buckets"]) == 48
        assert {"error": "old", "count": 1} in wide["top_errors"]

    async def test_per_flow(
        self, tenant: TenantHandle, make_flow: MakeFlow, make_execution: MakeExecution
    ) -> None:
        one, two = await make_flow(tenant), await make_flow(tenant, name="Other")
        await make_execution(tenant, one["id"], duration_ms=50)
        await make_execution(tenant, two["id"], status="failed", error="two's", duration_ms=10)

        mine = await _insights(tenant, flow_id=one["id"], hours=1)
        assert [bucket["completed"] for bucket in mine["buckets"]] == [1]
        assert [bucket["failed"] for bucket in mine["buckets"]] == [0]
        assert mine["duration_ms"] == {"p50": 50.0, "p95": 50.0}
        assert mine["top_errors"] == []
        everything = await _insights(tenant, hours=1)
        assert everything["buckets"][0]["completed"] == 1
        assert everything["buckets"][0]["failed"] == 1

    async def test_top_errors_are_the_ten_most_frequent(
        self, tenant: TenantHandle, make_execution: MakeExecution
    ) -> None:
        for n in range(12):
            for _ in range(1 + (n == 11)):
                await make_execution(tenant, status="failed", error=f"error {n:02d}")
        errors = (await _insights(tenant))["top_errors"]
        assert len(errors) == 10
        assert errors[0] == {"error": "error 11", "count": 2}
        assert [error["error"] for error in errors[1:]] == [f"error {n:02d}" for n in range(9)]

    async def test_nothing_yet_is_zeros_and_nulls(self, tenant: TenantHandle) -> None:
        found = await _insights(tenant, hours=5)
        assert len(found["buckets"]) == 5
        assert all(bucket[status] == 0 for bucket in found["buckets"] for status in STATUSES)
        assert found["duration_ms"] == {"p50": None, "p95": None}
        assert found["top_errors"] == []

    async def test_another_tenant_sees_nothing(
        self,
        tenant: TenantHandle,
        make_tenant: MakeTenant,
        make_flow: MakeFlow,
        make_execution: MakeExecution,
    ) -> None:
        flow = await make_flow(tenant)
        await make_execution(tenant, flow["id"], status="failed", error="secret")
        stranger = await make_tenant()
        found = await _insights(stranger)
        assert _counts(found) == {}
        assert found["top_errors"] == []
        response = await stranger.http.get(INSIGHTS_PATH, params={"flow_id": flow["id"]})
        assert response.status_code == 404
        missing = await tenant.http.get(INSIGHTS_PATH, params={"flow_id": str(uuid.uuid4())})
        assert missing.status_code == 404

    @pytest.mark.parametrize(
        ("params", "loc"),
        [
            ({"hours": "0"}, ["query", "hours"]),
            ({"hours": "721"}, ["query", "hours"]),
            ({"hours": "a day"}, ["query", "hours"]),
            ({"flow_id": "nope"}, ["query", "flow_id"]),
        ],
    )
    async def test_bad_parameters_are_a_422_naming_them(
        self, tenant: TenantHandle, params: dict[str, str], loc: list[str]
    ) -> None:
        response = await tenant.http.get(INSIGHTS_PATH, params=params)
        assert response.status_code == 422
        assert [detail["loc"] for detail in response.json()["detail"]] == [loc]
