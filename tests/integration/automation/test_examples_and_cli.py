"""The example flows (seeded by `bcs demo`) and `bcs flows import/export`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bettercallsold.automation.cli import flows_app
from bettercallsold.automation.definition import validate_flow
from bettercallsold.automation.seeding import example_flows, seed_example_flows
from bettercallsold.runtime import Runtime
from bettercallsold.settings import Settings
from tests.integration.automation.conftest import FLOWS_PATH, welcome_flow
from tests.integration.conftest import TenantHandle


class TestExamples:
    def test_the_welcome_flow_is_the_contracts(self) -> None:
        flows = {flow.name: flow for flow in example_flows()}
        welcome = flows["Welcome New Customer"]
        assert welcome.trigger_event == "customer.created"
        steps = welcome.flow_definition["steps"]
        assert steps[0] == {
            "id": "condition_1",
            "type": "condition",
            "field": "email",
            "operator": "exists",
        }
        assert steps[1]["payload_template"] == {
            "to": "{{trigger.email}}",
            "subject": "Welcome {{trigger.name}}!",
            "template": "welcome_email",
        }
        assert steps[2]["payload_template"] == {
            "title": "Follow up with {{trigger.name}}",
            "due_date": "{{now + 3 days}}",
        }

    @pytest.mark.parametrize("flow", example_flows(), ids=lambda flow: flow.name)
    def test_every_example_validates(self, flow: object) -> None:
        from bettercallsold.automation.schemas import FlowCreate

        assert isinstance(flow, FlowCreate)
        parsed, problems = validate_flow(flow.trigger_event, flow.flow_definition)
        assert problems == []
        assert parsed is not None

    async def test_seeding_is_idempotent_by_name_and_keeps_edits(
        self, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        async with runtime.sessionmaker() as session, session.begin():
            first = await seed_example_flows(session, tenant.tenant_id)
        assert len(first) >= 4
        assert set(first.values()) == {"created"}
        flows = (await tenant.http.get(FLOWS_PATH)).json()["items"]
        welcome = next(flow for flow in flows if flow["name"] == "Welcome New Customer")
        await tenant.http.put(f"{FLOWS_PATH}/{welcome['id']}", json={"status": "paused"})
        async with runtime.sessionmaker() as session, session.begin():
            again = await seed_example_flows(session, tenant.tenant_id)
        assert set(again.values()) == {"kept"}
        after = (await tenant.http.get(FLOWS_PATH)).json()["items"]
        assert len(after) == len(flows)
        assert (await tenant.http.get(f"{FLOWS_PATH}/{welcome['id']}")).json()["status"] == "paused"

    async def test_the_examples_dry_run_on_their_sample_events(
        self, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        async with runtime.sessionmaker() as session, session.begin():
            await seed_example_flows(session, tenant.tenant_id)
        for flow in (await tenant.http.get(FLOWS_PATH)).json()["items"]:
            result = (await tenant.http.post(f"{FLOWS_PATH}/{flow['id']}/test", json={})).json()
            assert result["matched"], (flow["name"], result)
            assert all("error" not in step for step in result["steps"]), (flow["name"], result)

    async def test_examples_show_a_branch_a_loop_and_a_wait(
        self, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        async with runtime.sessionmaker() as session, session.begin():
            await seed_example_flows(session, tenant.tenant_id)
        flows = {f["name"]: f for f in (await tenant.http.get(FLOWS_PATH)).json()["items"]}

        async def steps_of(
            name: str, payload: dict[str, object] | None = None
        ) -> list[dict[str, Any]]:
            body = {} if payload is None else {"payload": payload}
            answer = await tenant.http.post(f"{FLOWS_PATH}/{flows[name]['id']}/test", json=body)
            steps: list[dict[str, Any]] = answer.json()["steps"]
            return steps

        branch = await steps_of("Thank Big Spenders, Nudge the Others")
        assert (branch[0]["type"], branch[0]["branch"]) == ("if", "then")
        small = await steps_of(
            "Thank Big Spenders, Nudge the Others",
            {"order_id": "o-1", "total": 20, "status": "pending"},
        )
        assert [(s["id"], s.get("branch")) for s in small] == [
            ("big_order", "else"),
            ("coupon_task", None),
        ]
        items = [{"name": "Mug", "quantity": 12}, {"name": "Pen", "quantity": 1}]
        loop = await steps_of("Careful Packing for Bulk Lines", {"order_id": "o-2", "items": items})
        assert [(s["id"], s.get("iteration")) for s in loop] == [
            ("each_line", None),
            ("bulk_line", 1),
            ("packing_task", 1),
            ("bulk_line", 2),
        ]
        assert loop[2]["payload"]["title"].startswith("Line 1 of order o-2: pack 12 x Mug")
        wait = await steps_of("Ask for a Review Five Days After Shipping")
        assert wait[1]["type"] == "wait"
        assert wait[1]["resume_at"]


def _cli_env(settings: Settings) -> dict[str, str]:
    assert settings.database_url is not None
    return {"BCS_DATABASE_URL": settings.database_url, "BCS_VAR_DIR": str(settings.var_dir)}


class TestCli:
    """Run in a thread of their own: the commands call `asyncio.run` as under `bcs`."""

    async def test_import_then_export_round_trips(
        self, settings: Settings, tenant: TenantHandle, tmp_path: Path
    ) -> None:
        flow = welcome_flow()
        other = {**welcome_flow(), "name": "Second", "status": "paused"}
        source = tmp_path / "flows.json"
        source.write_text(json.dumps([flow, other]))
        runner = CliRunner()
        env = _cli_env(settings)

        imported = await asyncio.to_thread(
            runner.invoke,
            flows_app,
            ["import", str(source), "--tenant", str(tenant.tenant_id)],
            env=env,
        )
        assert imported.exit_code == 0, imported.output
        lines = [json.loads(line) for line in imported.stdout.splitlines()]
        assert [(line["name"], line["result"]) for line in lines] == [
            ("Welcome New Customer", "created"),
            ("Second", "created"),
        ]
        again = await asyncio.to_thread(
            runner.invoke,
            flows_app,
            ["import", str(source), "--tenant", str(tenant.tenant_id)],
            env=env,
        )
        assert [json.loads(line)["result"] for line in again.stdout.splitlines()] == [
            "updated",
            "updated",
        ]

        exported = await asyncio.to_thread(
            runner.invoke, flows_app, ["export", "--tenant", str(tenant.tenant_id)], env=env
        )
        assert exported.exit_code == 0, exported.output
        # One import is one transaction: both flows share a created_at, so compare by name.
        by_name = sorted(json.loads(exported.stdout), key=lambda item: item["name"])
        assert by_name == [other, flow]
        listed = (await tenant.http.get(FLOWS_PATH)).json()["items"]
        assert len(listed) == 2

    async def test_an_invalid_file_imports_nothing(
        self, settings: Settings, tenant: TenantHandle, tmp_path: Path
    ) -> None:
        bad = welcome_flow()
        bad["flow_definition"]["steps"][1]["action_type"] = "launch_rocket"
        source = tmp_path / "flows.json"
        source.write_text(json.dumps({"flows": [{**welcome_flow(), "name": "Good"}, bad]}))
        result = await asyncio.to_thread(
            CliRunner().invoke,
            flows_app,
            ["import", str(source), "--tenant", str(tenant.tenant_id)],
            env=_cli_env(settings),
        )
        assert result.exit_code == 1
        assert "action_1" in result.output
        assert "action_type" in result.output
        assert (await tenant.http.get(FLOWS_PATH)).json()["items"] == []

    async def test_an_unknown_tenant_is_refused(self, settings: Settings, tmp_path: Path) -> None:
        source = tmp_path / "flows.json"
        source.write_text(json.dumps(welcome_flow()))
        result = await asyncio.to_thread(
            CliRunner().invoke,
            flows_app,
            ["import", str(source), "--tenant", "no-such-tenant"],
            env=_cli_env(settings),
        )
        assert result.exit_code == 1
