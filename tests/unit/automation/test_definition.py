from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bettercallsold.automation.conditions import evaluate
from bettercallsold.automation.definition import (
    FLOW_STATUSES,
    MAX_STEPS,
    ActionStep,
    ConditionStep,
    FlowDefinition,
    FlowProblem,
    validate_flow,
)
from bettercallsold.automation.templates import RenderContext, render_value
from bettercallsold.catalogue import ACTIONS, EVENT_SAMPLES, EVENT_TYPES

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
WELCOME: dict[str, Any] = {
    "name": "Welcome New Customer",
    "trigger_event": "customer.created",
    "flow_definition": {
        "steps": [
            {"id": "condition_1", "type": "condition", "field": "email", "operator": "exists"},
            {
                "id": "action_1",
                "type": "action",
                "action_type": "send_email",
                "payload_template": {
                    "to": "{{trigger.email}}",
                    "subject": "Welcome {{trigger.name}}!",
                    "template": "welcome_email",
                },
            },
            {
                "id": "action_2",
                "type": "action",
                "action_type": "create_task",
                "payload_template": {
                    "title": "Follow up with {{trigger.name}}",
                    "due_date": "{{now + 3 days}}",
                },
            },
        ]
    },
}


def condition(step_id: str = "c1", **fields: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "condition", "field": "email", "operator": "exists", **fields}


def action(step_id: str = "a1", action_type: str = "send_email", **payload: Any) -> dict[str, Any]:
    payload = payload or {"to": "{{ trigger.email }}", "subject": "Hi"}
    return {
        "id": step_id,
        "type": "action",
        "action_type": action_type,
        "payload_template": payload,
    }


def problems_of(*steps: Any, event: str = "customer.created") -> list[FlowProblem]:
    parsed, problems = validate_flow(event, {"steps": list(steps)})
    assert (parsed is None) == bool(problems)
    return problems


def only_problem(*steps: Any) -> FlowProblem:
    problems = problems_of(*steps)
    assert len(problems) == 1, problems
    return problems[0]


class TestTheSeedExample:
    def test_validates(self) -> None:
        parsed, problems = validate_flow(WELCOME["trigger_event"], WELCOME["flow_definition"])
        assert problems == []
        assert parsed is not None
        assert [type(step) for step in parsed.steps] == [ConditionStep, ActionStep, ActionStep]

    def test_runs_as_written(self) -> None:
        parsed, _ = validate_flow(WELCOME["trigger_event"], WELCOME["flow_definition"])
        assert parsed is not None
        trigger = EVENT_SAMPLES["customer.created"]
        check, email, task = parsed.steps
        assert isinstance(check, ConditionStep)
        assert isinstance(email, ActionStep)
        assert isinstance(task, ActionStep)
        assert evaluate(check.field, check.operator, check.value, trigger).passed
        context = RenderContext(trigger=trigger, steps={}, now=NOW)
        assert render_value(email.payload_template, context) == {
            "to": "john@example.com",
            "subject": "Welcome John Doe!",
            "template": "welcome_email",
        }
        rendered = render_value(task.payload_template, context)
        assert rendered["title"] == "Follow up with John Doe"
        assert datetime.fromisoformat(rendered["due_date"]) - NOW == timedelta(days=3)
        assert rendered["due_date"] == "2026-11-27T10:00:00Z"

    def test_a_customer_without_email_stops_at_the_condition(self) -> None:
        trigger = {**EVENT_SAMPLES["customer.created"], "email": None}
        assert not evaluate("email", "exists", None, trigger).passed


class TestModels:
    def test_statuses(self) -> None:
        assert FLOW_STATUSES == ("active", "paused", "draft")

    def test_steps_are_told_apart_by_type(self) -> None:
        parsed = FlowDefinition.model_validate(
            {"steps": [condition(value=None), action(), condition("c2", operator="in", value=[1])]}
        )
        assert [step.type for step in parsed.steps] == ["condition", "action", "condition"]
        last = parsed.steps[2]
        assert isinstance(last, ConditionStep)
        assert last.value == [1]

    def test_extra_keys_of_a_step_are_kept(self) -> None:
        parsed, problems = validate_flow(
            "customer.created", {"steps": [{**action(), "position": {"x": 1}}]}
        )
        assert problems == []
        assert parsed is not None
        assert parsed.model_dump()["steps"][0]["position"] == {"x": 1}


class TestFlowLevelProblems:
    @pytest.mark.parametrize("event", ["customer.deleted", "", "CUSTOMER.CREATED", 3, None])
    def test_unknown_trigger_event(self, event: Any) -> None:
        problems = problems_of(action(), event=event)
        assert [(p.step_id, p.field) for p in problems] == [(None, "trigger_event")]
        assert "unknown event type" in problems[0].message

    @pytest.mark.parametrize("event", EVENT_TYPES)
    def test_every_known_event(self, event: str) -> None:
        assert problems_of(action(), event=event) == []

    @pytest.mark.parametrize(
        "definition", [None, [], "steps", {}, {"steps": []}, {"steps": {}}, {"steps": "x"}]
    )
    def test_steps_must_be_a_non_empty_list(self, definition: Any) -> None:
        parsed, problems = validate_flow("customer.created", definition)
        assert parsed is None
        assert [(p.step_id, p.field) for p in problems] == [(None, "steps")]

    def test_at_most_max_steps(self) -> None:
        steps = [action(f"a{index}") for index in range(MAX_STEPS + 1)]
        assert problems_of(*steps) == [
            FlowProblem(
                None, "steps", f"a flow has at most {MAX_STEPS} steps, this one has {MAX_STEPS + 1}"
            )
        ]
        assert problems_of(*steps[:MAX_STEPS]) == []

    def test_a_flow_needs_an_action(self) -> None:
        assert only_problem(condition()) == FlowProblem(
            None, "steps", "a flow needs at least one action step"
        )

    def test_every_problem_is_reported_at_once(self) -> None:
        parsed, problems = validate_flow(
            "nope", {"steps": [condition(operator="bigger"), action(action_type="fly")]}
        )
        assert parsed is None
        assert [(p.step_id, p.field) for p in problems] == [
            (None, "trigger_event"),
            ("c1", "operator"),
            ("a1", "action_type"),
        ]


class TestStepIds:
    @pytest.mark.parametrize("step", ["text", 3, None, ["a"]])
    def test_a_step_must_be_an_object(self, step: Any) -> None:
        problems = problems_of(step, action())
        assert problems == [FlowProblem(None, "steps.0", "a step must be an object")]

    @pytest.mark.parametrize("step_id", [None, "", 7, ["a"]])
    def test_a_step_needs_an_id_and_is_named_by_position(self, step_id: Any) -> None:
        step = action()
        step["id"] = step_id
        problem = only_problem(condition(), step)
        assert (problem.step_id, problem.field) == (None, "steps.1.id")

    def test_a_step_without_an_id_has_its_other_problems_located_too(self) -> None:
        step = condition(operator="bigger")
        del step["id"]
        problems = problems_of(step, action())
        assert [(p.step_id, p.field) for p in problems] == [
            (None, "steps.0.id"),
            (None, "steps.0.operator"),
        ]

    @pytest.mark.parametrize("step_id", ["has space", "é", "a.b", "a/b", "x" * 101])
    def test_bad_ids(self, step_id: str) -> None:
        problem = only_problem(action(step_id))
        assert (problem.step_id, problem.field) == (step_id, "id")

    @pytest.mark.parametrize("step_id", ["a", "action_1", "A-9", "x" * 100, "7"])
    def test_good_ids(self, step_id: str) -> None:
        assert problems_of(action(step_id)) == []

    def test_duplicate_ids(self) -> None:
        problem = only_problem(condition("s1"), action("s1"))
        assert problem == FlowProblem("s1", "id", "duplicate step id 's1'")

    @pytest.mark.parametrize("step_type", ["loop", None, "Action", 1])
    def test_unknown_step_type(self, step_type: Any) -> None:
        problem = only_problem({"id": "x", "type": step_type}, action())
        assert (problem.step_id, problem.field) == ("x", "type")
        assert "unknown step type" in problem.message


class TestConditionSteps:
    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"field": ""}, "field"),
            ({"field": "  "}, "field"),
            ({"field": None}, "field"),
            ({"field": 3}, "field"),
            ({"field": "a..b"}, "field"),
            ({"field": "trigger."}, "field"),
            ({"operator": "bigger"}, "operator"),
            ({"operator": None}, "operator"),
            ({"operator": "EQUALS", "value": 1}, "operator"),
            ({"operator": "equals"}, "value"),
            ({"operator": "greater_than"}, "value"),
            ({"operator": "in", "value": "paid"}, "value"),
            ({"operator": "not_in", "value": {"a": 1}}, "value"),
            ({"operator": "greater_than", "value": [1]}, "value"),
            ({"operator": "less_than", "value": True}, "value"),
            ({"operator": "less_than_or_equal", "value": None}, "value"),
            ({"operator": "contains", "value": None}, "value"),
            ({"operator": "starts_with", "value": ["a"]}, "value"),
        ],
    )
    def test_problems(self, fields: dict[str, Any], field: str) -> None:
        problem = only_problem(condition(**fields), action())
        assert (problem.step_id, problem.field) == ("c1", field)

    @pytest.mark.parametrize(
        "fields",
        [
            {"operator": "exists"},
            {"operator": "not_exists", "value": "ignored"},
            {"field": "trigger.customer.address.city", "operator": "equals", "value": "Lyon"},
            {"field": "items.0.quantity", "operator": "greater_than", "value": 10},
            {"operator": "greater_than_or_equal", "value": "2026-11-24"},
            {"operator": "equals", "value": None},
            {"operator": "not_equals", "value": None},
            {"operator": "equals", "value": {"a": [1]}},
            {"operator": "contains", "value": "@"},
            {"operator": "not_contains", "value": 3},
            {"operator": "ends_with", "value": ".com"},
            {"operator": "in", "value": ["a", 1]},
            {"operator": "not_in", "value": []},
        ],
    )
    def test_fine(self, fields: dict[str, Any]) -> None:
        assert problems_of(condition(**fields), action()) == []


class TestActionSteps:
    def test_unknown_action_type(self) -> None:
        problem = only_problem(action(action_type="launch_rocket"))
        assert (problem.step_id, problem.field) == ("a1", "action_type")
        assert "unknown action type 'launch_rocket'" in problem.message

    def test_aliases_are_known(self) -> None:
        step = action(action_type="send_notification", channel="slack", message="hi")
        assert problems_of(step) == []

    @pytest.mark.parametrize("payload", [None, [], "x", 3])
    def test_payload_template_must_be_an_object(self, payload: Any) -> None:
        step = action()
        step["payload_template"] = payload
        problem = only_problem(step)
        assert (problem.step_id, problem.field) == ("a1", "payload_template")

    def test_missing_payload_template(self) -> None:
        step = action()
        del step["payload_template"]
        assert only_problem(step).field == "payload_template"

    def test_required_fields(self) -> None:
        problems = problems_of(action(action_type="create_product", description="d"))
        assert [(p.step_id, p.field) for p in problems] == [
            ("a1", "payload_template.name"),
            ("a1", "payload_template.price"),
        ]
        assert problems[0].message == "create_product requires name"

    def test_unknown_fields(self) -> None:
        problem = only_problem(action(to="a@b.c", subject="s", colour="red"))
        assert problem.field == "payload_template.colour"
        assert problem.message.startswith("not a field of send_email")

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"name": "Mug", "price": -1}, "payload_template.price"),
            ({"name": "Mug", "price": "abc"}, "payload_template.price"),
            ({"name": "", "price": 1}, "payload_template.name"),
            ({"name": "Mug", "price": 1, "inventory": 1.5}, "payload_template.inventory"),
            ({"name": "Mug", "price": 1, "tags": "kitchen"}, "payload_template.tags"),
        ],
    )
    def test_literal_values_are_checked_against_the_schema(
        self, payload: dict[str, Any], field: str
    ) -> None:
        problem = only_problem(action(action_type="create_product", **payload))
        assert (problem.step_id, problem.field) == ("a1", field)

    @pytest.mark.parametrize("due_date", [5, "1795665870", "2026-12-01", True])
    def test_a_literal_due_date_must_be_iso_8601(self, due_date: object) -> None:
        """Not seconds since 1970: the platform refuses it, so the flow is refused at save."""
        problem = only_problem(action(action_type="create_task", title="T", due_date=due_date))
        assert (problem.step_id, problem.field) == ("a1", "payload_template.due_date")

    def test_a_templated_due_date_is_checked_when_rendered(self) -> None:
        assert (
            problems_of(action(action_type="create_task", title="T", due_date="{{now + 3 days}}"))
            == []
        )

    def test_nested_literal_values_are_checked(self) -> None:
        step = action(
            action_type="create_order",
            customer_id="{{ trigger.customer_id }}",
            items=[{"product_id": "p", "quantity": 0}, {"product_id": "q"}, {"x": 1}],
        )
        assert [p.field for p in problems_of(step)] == [
            "payload_template.items.0.quantity",
            "payload_template.items.1.quantity",
            "payload_template.items.2.product_id",
            "payload_template.items.2.quantity",
            "payload_template.items.2.x",
        ]

    @pytest.mark.parametrize(
        "payload",
        [
            {"name": "{{ trigger.name }}", "price": "{{ trigger.price }}"},
            {"name": "Copy of {{ trigger.name }}", "price": "{{ trigger.price | times: 2 }}"},
            {"name": "Mug", "price": 1, "inventory": "{{ trigger.inventory }}"},
            {"name": "Mug", "price": 0, "tags": "{{ trigger.tags }}"},
            {"name": "Mug", "price": 0, "tags": ["a", "{{ trigger.name }}"]},
            {"name": "{% if trigger.vip %}VIP{% endif %}", "price": 9.5},
        ],
    )
    def test_templates_are_accepted_for_any_type(self, payload: dict[str, Any]) -> None:
        assert problems_of(action(action_type="create_product", **payload)) == []

    def test_a_templated_list_item_is_accepted(self) -> None:
        step = action(
            action_type="create_order",
            customer_id="c",
            items=["{{ trigger.items.0 }}", {"product_id": "p", "quantity": "{{ trigger.n }}"}],
        )
        assert problems_of(step) == []

    def test_literal_date_time(self) -> None:
        ok = action(action_type="create_task", title="t", due_date="2026-12-01T10:00:00Z")
        bad = action(action_type="create_task", title="t", due_date="next week")
        assert problems_of(ok) == []
        assert only_problem(bad).field == "payload_template.due_date"

    def test_every_catalogue_example_validates(self) -> None:
        steps = [action("action_1", "create_task", title="t")]
        steps += [action(f"s_{name}", name, **spec.example) for name, spec in ACTIONS.items()]
        assert problems_of(*steps) == []


class TestTemplatesInActions:
    @pytest.mark.parametrize(
        ("template", "message"),
        [
            ("{{ trigger.email", "invalid template"),
            ("{{ customer.email }}", "unknown name 'customer'"),
            ("{{ trigger.email | shout }}", "unknown filter 'shout'"),
            ("{% include 'x' %}", "unexpected tag 'include'"),
        ],
    )
    def test_problems_name_the_field(self, template: str, message: str) -> None:
        problem = only_problem(action(to=template, subject="s"))
        assert (problem.step_id, problem.field) == ("a1", "payload_template.to")
        assert message in problem.message

    def test_nested_template_problems_name_the_full_path(self) -> None:
        step = action(
            action_type="create_order",
            customer_id="c",
            items=[{"product_id": "{{ nope }}", "quantity": 1}],
        )
        assert only_problem(step).field == "payload_template.items.0.product_id"

    def test_steps_may_refer_to_earlier_actions_only(self) -> None:
        first = action("first", "create_task", title="t")
        later = action("later", "assign_task", id="{{ steps.first.id }}", assignee="sam")
        assert problems_of(first, later) == []
        backwards = problems_of(later, first)
        assert [(p.step_id, p.field) for p in backwards] == [("later", "payload_template.id")]
        assert "'first' is not an earlier action step" in backwards[0].message

    def test_a_step_cannot_refer_to_itself_or_to_a_condition(self) -> None:
        itself = action("a1", "assign_task", id="{{ steps.a1.id }}", assignee="sam")
        assert only_problem(itself).field == "payload_template.id"
        to_condition = action("a1", "assign_task", id="{{ steps.c1.id }}", assignee="sam")
        assert only_problem(condition("c1"), to_condition).field == "payload_template.id"

    def test_the_flow_is_not_mutated(self) -> None:
        definition = copy.deepcopy(WELCOME["flow_definition"])
        validate_flow("customer.created", definition)
        assert definition == WELCOME["flow_definition"]


class TestLimits:
    """What one tenant may save: refused by size, before any template is parsed."""

    def test_a_template_over_10000_characters_is_refused_unparsed(self) -> None:
        import time

        hostile = "{{" * 10_000  # quadratic for a naive markup scan: refused by length first
        started = time.monotonic()
        problem = only_problem(action(subject=hostile, to="a@b.c"))
        assert time.monotonic() - started < 1.0
        assert (problem.step_id, problem.field) == ("a1", "payload_template.subject")
        assert "10000 characters" in problem.message

    def test_a_template_of_10000_characters_is_checked_as_usual(self) -> None:
        assert problems_of(action(subject="x" * 10_000, to="a@b.c")) == []

    def test_a_value_list_over_1000_items_is_refused(self) -> None:
        items = [str(n) for n in range(1_001)]
        step = condition(field="status", operator="in", value=items)
        problem = only_problem(step, action())
        assert (problem.step_id, problem.field) == ("c1", "value")
        assert "1000 items" in problem.message
        ok = condition(field="status", operator="in", value=items[:1_000])
        assert problems_of(ok, action()) == []

    def test_a_definition_over_256_kb_is_refused(self) -> None:
        body = "x" * 9_000
        steps = [action(f"a{n}", subject=body, to="a@b.c") for n in range(30)]
        parsed, problems = validate_flow("customer.created", {"steps": steps})
        assert parsed is None
        [problem] = problems
        assert (problem.step_id, problem.field) == (None, "flow_definition")
        assert str(256 * 1024) in problem.message
