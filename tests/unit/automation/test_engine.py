"""The engine on flows part 2: groups, branches, loops, waits, the budget; a recording `send`
stands in for the receiver (the engine's one seam), the rest is the real engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bettercallsold.automation.budget import MAX_ITERATIONS, MAX_LIST_ITEMS
from bettercallsold.automation.definition import FlowDefinition, validate_flow
from bettercallsold.automation.engine import Memory, Outcome, PreparedAction, RunOptions, run_flow
from bettercallsold.types import JSON

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Receiver:
    """Answers every action with success and a resource echoing its payload, and records the
    batches it was sent."""

    def __init__(self, fail: frozenset[str] = frozenset()) -> None:
        self.batches: list[list[PreparedAction]] = []
        self.fail = fail

    async def __call__(self, batch: Sequence[PreparedAction]) -> list[JSON]:
        self.batches.append(list(batch))
        answers: list[JSON] = []
        for action in batch:
            if action.step_id.split(":")[0] in self.fail:
                answers.append(
                    {"action_type": action.action_type, "success": False, "error": "refused"}
                )
            else:
                data = {"id": f"id-{action.step_id}", **action.payload}
                answers.append({"action_type": action.action_type, "success": True, "data": data})
        return answers

    @property
    def keys(self) -> list[str]:
        return [action.step_id for batch in self.batches for action in batch]


def flow(*steps: JSON, event: str = "order.created") -> FlowDefinition:
    parsed, problems = validate_flow(event, {"steps": list(steps)})
    assert parsed is not None, problems
    return parsed


def task(step_id: str, title: str = "t") -> JSON:
    return {
        "id": step_id,
        "type": "action",
        "action_type": "create_task",
        "payload_template": {"title": title},
    }


async def run(
    definition: FlowDefinition,
    trigger: JSON,
    receiver: Receiver,
    *,
    memory: Memory | None = None,
    clock: datetime = START,
    **options: Any,
) -> Outcome:
    return await run_flow(
        definition,
        trigger,
        START,
        receiver,
        memory=memory,
        options=RunOptions(clock=clock, **options),
    )


ORDER: JSON = {
    "id": "o-1",
    "total": 150,
    "min_total": 100,
    "email": "ann@example.com",
    "items": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 3}],
}


class TestGroups:
    async def test_nested_groups_decide_and_show_every_leaf(self) -> None:
        when = {
            "all": [
                {"field": "total", "operator": "greater_than", "value": "{{trigger.min_total}}"},
                {
                    "any": [
                        {"field": "email", "operator": "ends_with", "value": "@nope.com"},
                        {"not": {"field": "email", "operator": "not_exists"}},
                    ]
                },
            ]
        }
        definition = flow({"id": "c", "type": "condition", "when": when}, task("a"))
        outcome = await run(definition, ORDER, Receiver())
        assert outcome.status == "completed"
        report = outcome.steps[0]
        assert report["passed"] is True
        leaves = report["when"]["all"]
        assert leaves[0]["actual"] == 150
        assert leaves[0]["expected"] == 100
        assert leaves[1]["any"][0]["passed"] is False
        assert leaves[1]["any"][1]["not"]["passed"] is False  # not_exists did not hold...
        assert leaves[1]["any"][1]["passed"] is True  # ...so its negation did

    async def test_a_failing_group_skips(self) -> None:
        when = {"any": [{"field": "total", "operator": "less_than", "value": 10}]}
        outcome = await run(
            flow({"id": "c", "type": "condition", "when": when}, task("a")), ORDER, Receiver()
        )
        assert outcome.status == "skipped"
        assert outcome.matched is False


class TestIf:
    async def test_runs_one_branch_then_the_rest(self) -> None:
        definition = flow(
            {
                "id": "big",
                "type": "if",
                "when": {"field": "total", "operator": "greater_than", "value": 100},
                "then": [task("vip", "VIP {{trigger.id}}")],
                "else": [task("coupon")],
            },
            task("after"),
        )
        receiver = Receiver()
        outcome = await run(definition, ORDER, receiver)
        assert receiver.keys == ["vip", "after"]
        assert outcome.steps[0]["branch"] == "then"
        small = await run(definition, {**ORDER, "total": 5}, Receiver())
        assert [step["id"] for step in small.steps] == ["big", "coupon", "after"]
        assert small.status == "completed"

    def test_step_ids_are_unique_across_branches(self) -> None:
        _, problems = validate_flow(
            "order.created",
            {
                "steps": [
                    {
                        "id": "x",
                        "type": "if",
                        "when": {"field": "id", "operator": "exists"},
                        "then": [task("a")],
                        "else": [task("a")],
                    }
                ]
            },
        )
        assert [(p.step_id, p.field, p.message) for p in problems] == [
            ("a", "id", "duplicate step id 'a'")
        ]


class TestForEach:
    async def test_one_entry_per_iteration_with_item_and_index(self) -> None:
        definition = flow(
            {
                "id": "each",
                "type": "for_each",
                "items": "trigger.items",
                "steps": [
                    {
                        "id": "big_qty",
                        "type": "if",
                        "when": {"field": "item.quantity", "operator": "greater_than", "value": 2},
                        "then": [task("restock", "{{loop.index}}: {{item.sku}}")],
                    }
                ],
            }
        )
        receiver = Receiver()
        outcome = await run(definition, ORDER, receiver)
        assert receiver.keys == ["restock:2"]
        assert receiver.batches[0][0].payload == {"title": "2: B"}
        iterations = [(s["id"], s.get("iteration")) for s in outcome.steps]
        assert iterations == [("each", None), ("big_qty", 1), ("big_qty", 2), ("restock", 2)]

    async def test_a_list_over_the_limit_fails_before_any_iteration(self) -> None:
        definition = flow(
            {"id": "each", "type": "for_each", "items": "trigger.items", "steps": [task("a")]}
        )
        receiver = Receiver()
        outcome = await run(definition, ORDER, receiver, max_for_each_items=1)
        assert outcome.status == "failed"
        assert "BCS_MAX_FOR_EACH_ITEMS (1)" in (outcome.error or "")
        assert receiver.batches == []

    async def test_items_from_an_earlier_step(self) -> None:
        definition = flow(
            {
                "id": "make",
                "type": "action",
                "action_type": "create_task",
                "payload_template": {"title": "x", "description": "{{trigger.id}}"},
            },
            {"id": "each", "type": "for_each", "items": "steps.make.title", "steps": [task("a")]},
        )
        outcome = await run(definition, ORDER, Receiver())
        assert outcome.status == "failed"
        assert "steps.make.title is not a list" in (outcome.error or "")


class TestWait:
    async def test_a_wait_suspends_and_the_resume_repeats_nothing(self) -> None:
        definition = flow(
            task("before"),
            {"id": "pause", "type": "wait", "duration": "3 days"},
            task("after", "sent at {{now}}"),
        )
        receiver = Receiver()
        first = await run(definition, ORDER, receiver)
        assert first.status == "waiting"
        assert first.resume_at == START + timedelta(days=3)
        assert receiver.keys == ["before"]
        stored = Memory.from_json(first.memory.as_json())  # as the database keeps it
        early = await run(definition, ORDER, receiver, memory=stored, clock=START)
        assert early.status == "waiting"
        assert receiver.keys == ["before"]
        later = START + timedelta(days=3, seconds=1)
        resumed = await run(definition, ORDER, receiver, memory=stored, clock=later)
        assert resumed.status == "completed"
        assert receiver.keys == ["before", "after"]  # "before" was not sent again
        assert receiver.batches[-1][0].payload == {"title": "sent at 2026-12-04T09:00:00Z"}
        assert [result["step_id"] for result in resumed.results] == ["before", "after"]

    async def test_an_until_in_the_past_passes_at_once(self) -> None:
        definition = flow(
            {"id": "w", "type": "wait", "until": "2020-01-01T00:00:00Z"}, task("after")
        )
        outcome = await run(definition, ORDER, Receiver())
        assert outcome.status == "completed"
        assert outcome.steps[0]["waited"] is True

    async def test_a_dry_run_shows_the_wait_and_goes_on(self) -> None:
        definition = flow({"id": "w", "type": "wait", "duration": "2 hours"}, task("after"))
        receiver = Receiver()
        outcome = await run(definition, ORDER, receiver, simulate_waits=True)
        assert outcome.status == "completed"
        assert outcome.steps[0]["resume_at"] == "2026-12-01T11:00:00Z"

    @pytest.mark.parametrize("duration", ["366 days", "3 fortnights", "soon", 3])
    def test_bad_durations_are_refused(self, duration: Any) -> None:
        _, problems = validate_flow(
            "order.created",
            {"steps": [{"id": "w", "type": "wait", "duration": duration}, task("a")]},
        )
        assert [(p.step_id, p.field) for p in problems] == [("w", "duration")]


class TestBudget:
    async def test_loops_summed_over_the_execution_fail_it(self) -> None:
        loop = "{% for i in (1..999) %}x{% endfor %}"
        steps = [task(f"a{index}", loop) for index in range(MAX_ITERATIONS // 999 + 2)]
        receiver = Receiver()
        outcome = await run(flow(*steps), ORDER, receiver)
        assert outcome.status == "failed"
        assert f"more than {MAX_ITERATIONS} loop iterations" in (outcome.error or "")

    async def test_sorting_a_big_list_in_many_strings_fails_it(self) -> None:
        trigger = {"tags": [str(index) for index in range(4_000)]}
        steps = [
            task(f"a{index}", "{{ trigger.tags | sort_natural | size }}") for index in range(30)
        ]
        outcome = await run(flow(*steps, event="customer.created"), trigger, Receiver())
        assert outcome.status == "failed"
        assert f"more than {MAX_LIST_ITEMS} list items" in (outcome.error or "")


class TestBatches:
    async def test_actions_go_in_one_batch_unless_one_reads_another(self) -> None:
        definition = flow(
            task("a"),
            task("b"),
            {"id": "c", "type": "condition", "field": "steps.b.title", "operator": "exists"},
            task("d", "{{steps.a.id}}"),
        )
        receiver = Receiver()
        outcome = await run(definition, ORDER, receiver)
        assert [[a.step_id for a in batch] for batch in receiver.batches] == [["a", "b"], ["d"]]
        assert outcome.status == "completed"

    async def test_failures_keep_the_order_of_the_flow(self) -> None:
        definition = flow(task("a"), task("b", "{{trigger.nope}}"), task("c"))
        outcome = await run(definition, ORDER, Receiver(fail=frozenset({"c"})))
        assert [r["step_id"] for r in outcome.results] == ["a", "b", "c"]
        assert outcome.status == "completed_with_errors"
