"""`rerun.reused_memory`: the memory a re-run from the failed step starts with, checked by
running the real engine on it (a recording receiver stands in for the event receiver)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bettercallsold.automation.engine import Memory, PreparedAction, RunOptions, run_flow
from bettercallsold.automation.rerun import report_payloads, reused_memory
from bettercallsold.types import JSON
from tests.unit.automation.test_engine import START, Receiver, flow, task

ITEMS = {"items": [{"sku": "A"}, {"sku": "B"}, {"sku": "C"}]}


def looped(*inner: dict[str, object]) -> dict[str, object]:
    return {"id": "each", "type": "for_each", "items": "trigger.items", "steps": list(inner)}


class TestReusedMemory:
    async def test_from_the_results_and_reports_when_the_original_kept_no_memory(self) -> None:
        definition = flow(
            task("first", "hello"),
            looped(task("per_item", "{{item.sku}}")),
            task("last", "after {{steps.first.id}}"),
        )
        original = await run_flow(definition, ITEMS, START, Receiver(fail=frozenset({"last"})))
        assert original.status == "completed_with_errors"

        memory = reused_memory(None, original.results, original.steps, START)

        assert sorted(memory.results) == ["first", "per_item:1", "per_item:2", "per_item:3"]
        assert all(entry["reused"] is True for entry in memory.results.values())
        assert memory.results["per_item:2"]["payload"] == {"title": "B"}
        receiver = Receiver()
        rerun = await run_flow(definition, ITEMS, START, receiver, memory=memory)
        assert rerun.status == "completed"
        assert receiver.keys == ["last"]
        reused = [(s["id"], s.get("iteration")) for s in rerun.steps if s.get("reused")]
        assert reused == [("first", None), ("per_item", 1), ("per_item", 2), ("per_item", 3)]
        # the reused result's output feeds the templates after it
        assert receiver.batches[0][0].payload == {"title": "after id-first"}

    async def test_a_failure_inside_a_loop_after_a_wait_goes_on_from_there(self) -> None:
        definition = flow(
            task("first"),
            {"id": "pause", "type": "wait", "duration": "1 hour"},
            looped(task("per_item", "{{item.sku}}")),
        )
        stopped = await run_flow(definition, ITEMS, START, Receiver())
        assert stopped.status == "waiting"
        later = START + timedelta(hours=2)
        # the resumed run: iteration 2 fails; its memory as the runner stored it at the wait
        resumed = await run_flow(
            definition,
            ITEMS,
            START,
            _failing_at("per_item:2"),
            memory=Memory.from_json(stopped.memory.as_json()),
            options=RunOptions(clock=later),
        )
        assert resumed.status == "completed_with_errors"

        memory = reused_memory(stopped.memory.as_json(), resumed.results, resumed.steps, later)

        assert memory.waits == stopped.memory.waits  # passed: not waited again
        assert memory.pending is None
        assert "per_item:2" not in memory.results
        receiver = Receiver()
        rerun = await run_flow(definition, ITEMS, later, receiver, memory=memory)
        assert rerun.status == "completed"
        assert receiver.keys == ["per_item:2"]

    async def test_a_wait_not_yet_over_is_waited_again(self) -> None:
        state = {"results": {}, "waits": {"pause": "2027-01-01T00:00:00Z"}, "pending": "pause"}
        memory = reused_memory(state, [], [], START)
        assert memory.waits == {}
        assert memory.pending is None

    def test_failed_results_are_not_reused(self) -> None:
        results = [
            {"step_id": "a", "action_type": "create_task", "success": True, "data": {"id": 1}},
            {"step_id": "b", "action_type": "create_task", "success": False, "error": "no"},
        ]
        steps = [
            {"id": "a", "type": "action", "payload": {"title": "A"}, "success": True},
            {"id": "b", "type": "action", "payload": {"title": "B"}, "success": False},
        ]
        memory = reused_memory(None, results, steps, START)
        assert list(memory.results) == ["a"]
        assert memory.results["a"]["payload"] == {"title": "A"}


class TestReportPayloads:
    def test_a_report_without_a_result_is_skipped(self) -> None:
        results: list[dict[str, Any]] = [{"step_id": "c", "success": True}]
        steps: list[dict[str, Any]] = [
            {"id": "b", "type": "action", "payload": {"n": 1}, "error": "not sent: down"},
            {"id": "c", "type": "action", "payload": {"n": 2}, "success": True},
        ]
        assert report_payloads(results, steps) == {"c": {"n": 2}}

    def test_nested_loops_match_by_the_innermost_iteration_in_order(self) -> None:
        results = [{"step_id": "t:1.1"}, {"step_id": "t:1.2"}, {"step_id": "t:2.1"}]
        steps = [
            {"id": "t", "type": "action", "iteration": 1, "payload": "a"},
            {"id": "t", "type": "action", "iteration": 2, "payload": "b"},
            {"id": "t", "type": "action", "iteration": 1, "payload": "c"},
        ]
        assert report_payloads(results, steps) == {"t:1.1": "a", "t:1.2": "b", "t:2.1": "c"}


def _failing_at(key: str) -> Receiver:
    class _Failing(Receiver):
        async def __call__(self, batch: Sequence[PreparedAction]) -> list[JSON]:
            answers = await super().__call__(batch)
            for action, answer in zip(batch, answers, strict=True):
                if action.step_id == key:
                    answer.update(success=False, error="refused")
                    answer.pop("data", None)
            return answers

    return _Failing()
