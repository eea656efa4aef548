from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bettercallsold.automation.templates import (
    MAX_ITERATIONS,
    MAX_STRING,
    RenderContext,
    TemplateError,
    check_template,
    referenced_steps,
    render_value,
)

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
CUSTOMER: dict[str, Any] = {
    "id": "c1",
    "name": "John Doe",
    "email": "john@example.com",
    "phone": None,
    "price": 19.99,
    "quantity": 3,
    "vip": True,
    "tags": ["new", "newsletter"],
    "address": {"city": "Lyon", "lines": ["1 rue A", "Bât. B"]},
    "items": [{"product_id": "p1", "quantity": 30}, {"product_id": "p2", "quantity": 1}],
    "created_at": "2026-11-20T08:30:00Z",
    "note": "{{ now }} {% raw %}",
    "big": "x" * 1000,
}
CONTEXT = RenderContext(
    trigger=CUSTOMER,
    steps={"action_1": {"id": "t-9", "data": {"n": [5]}}, "7": {"id": "s7"}},
    now=NOW,
)


def render(template: Any, context: RenderContext = CONTEXT) -> Any:
    return render_value(template, context)


def fails(template: Any, match: str) -> None:
    with pytest.raises(TemplateError, match=match):
        render(template)


class TestTriggerPaths:
    @pytest.mark.parametrize(
        ("template", "expected"),
        [
            ("{{trigger.email}}", "john@example.com"),
            ("{{ trigger.name }}", "John Doe"),
            ("{{trigger.address.city}}", "Lyon"),
            ("{{trigger.address.lines.1}}", "Bât. B"),
            ("{{trigger.items.0.product_id}}", "p1"),
            ("{{ trigger.items[1].product_id }}", "p2"),
            ("{{ trigger.items.1.quantity }}", 1),
            ("{{ trigger.tags.first }}", "new"),
            ("{{ trigger.tags.size }}", 2),
        ],
    )
    def test_paths(self, template: str, expected: Any) -> None:
        assert render(template) == expected

    def test_mixed_text_is_a_string(self) -> None:
        assert render("Welcome {{trigger.name}}!") == "Welcome John Doe!"
        assert render("{{ trigger.quantity }} items") == "3 items"
        assert render("{{trigger.name}}{{trigger.email}}") == "John Doejohn@example.com"

    def test_text_without_markup_is_untouched(self) -> None:
        for text in ["welcome_email", "", "50% off }} {", "a { b } c", "{ {x} }"]:
            assert render(text) == text


class TestTypedSingleExpression:
    @pytest.mark.parametrize(
        ("template", "expected"),
        [
            ("{{ trigger.price }}", 19.99),
            ("{{trigger.quantity}}", 3),
            ("{{ trigger.vip }}", True),
            ("{{ trigger.phone }}", None),
            ("{{ trigger.tags }}", ["new", "newsletter"]),
            ("{{ trigger.address }}", {"city": "Lyon", "lines": ["1 rue A", "Bât. B"]}),
            ("{{- trigger.quantity -}}", 3),
            ("{{ trigger.quantity | plus: 2 }}", 5),
            ("{{ trigger.price | times: 2 }}", 39.98),
            ("{{ (1..3) }}", [1, 2, 3]),
            ("{{ steps.action_1.data }}", {"n": [5]}),
        ],
    )
    def test_keeps_the_json_type(self, template: str, expected: Any) -> None:
        assert render(template) == expected

    @pytest.mark.parametrize(
        ("template", "expected"),
        [
            (" {{ trigger.quantity }}", " 3"),
            ("{{ trigger.quantity }} ", "3 "),
            ("{{ trigger.quantity }}{{ trigger.quantity }}", "33"),
            ("{{ trigger.tags }}", ["new", "newsletter"]),
            ("tags: {{ trigger.tags | join: ', ' }}", "tags: new, newsletter"),
            ("{{ trigger.vip }}!", "true!"),
            ("[{{ trigger.phone }}]", "[]"),
        ],
    )
    def test_anything_else_is_text(self, template: str, expected: Any) -> None:
        assert render(template) == expected

    def test_python_date_times_become_iso_text(self) -> None:
        moment = datetime(2026, 11, 24, 11, 0, tzinfo=timezone(timedelta(hours=1)))
        context = RenderContext(trigger={"at": moment, "at_list": [moment]}, steps={}, now=NOW)
        assert render("{{ trigger.at }}", context) == "2026-11-24T10:00:00Z"
        assert render("{{ trigger.at_list }}", context) == ["2026-11-24T10:00:00Z"]
        assert render("{{ trigger.at | add_time: 1, 'day' }}", context) == "2026-11-25T10:00:00Z"

    def test_a_non_finite_number_fails(self) -> None:
        context = RenderContext(trigger={"x": float("inf")}, steps={}, now=NOW)
        with pytest.raises(TemplateError, match="not a finite number"):
            render("{{ trigger.x }}", context)


class TestNow:
    def test_now_is_iso_utc(self) -> None:
        assert render("{{now}}") == "2026-11-24T10:00:00Z"
        assert render("due {{ now }}") == "due 2026-11-24T10:00:00Z"

    @pytest.mark.parametrize(
        ("template", "delta"),
        [
            ("{{now + 3 days}}", timedelta(days=3)),
            ("{{ now + 1 day }}", timedelta(days=1)),
            ("{{ now - 2 days }}", timedelta(days=-2)),
            ("{{now+3days}}", timedelta(days=3)),
            ("{{ now + 90 minutes }}", timedelta(minutes=90)),
            ("{{ now + 1 minute }}", timedelta(minutes=1)),
            ("{{ now - 15 minutes }}", timedelta(minutes=-15)),
            ("{{ now + 2 hours }}", timedelta(hours=2)),
            ("{{ now - 1 hour }}", timedelta(hours=-1)),
            ("{{ now + 1 week }}", timedelta(weeks=1)),
            ("{{ now - 2 weeks }}", timedelta(weeks=-2)),
            ("{{ now + 0 days }}", timedelta(0)),
        ],
    )
    def test_now_plus_or_minus_each_unit(self, template: str, delta: timedelta) -> None:
        rendered = render(template)
        assert rendered == (NOW + delta).isoformat().replace("+00:00", "Z")

    def test_shifted_now_takes_filters(self) -> None:
        assert render("{{ now + 3 days | date: '%Y-%m-%d' }}") == "2026-11-27"
        assert render("Due {{ now + 1 week | date: '%d %b' }}") == "Due 01 Dec"

    def test_now_in_tags(self) -> None:
        template = "{% assign due = now + 2 days %}{{ due }}"
        assert render(template) == "2026-11-26T10:00:00Z"

    def test_the_rewrite_leaves_quoted_text_and_raw_blocks_alone(self) -> None:
        assert render('{{ "now + 3 days" }}') == "now + 3 days"
        assert render("{{ 'now - 1 hour' | upcase }}") == "NOW - 1 HOUR"
        assert render("{% raw %}{{ now + 3 days }}{% endraw %}") == "{{ now + 3 days }}"
        assert render("now + 3 days") == "now + 3 days"

    def test_a_naive_or_offset_now_is_utc(self) -> None:
        offset = datetime(2026, 11, 24, 11, 0, tzinfo=timezone(timedelta(hours=1)))
        for now in (offset, datetime(2026, 11, 24, 10, 0)):
            context = RenderContext(trigger={}, steps={}, now=now)
            assert render("{{ now + 3 days }}", context) == "2026-11-27T10:00:00Z"

    def test_the_system_clock_is_never_read(self) -> None:
        assert render("{{ 'now' | date: '%Y-%m-%d %H:%M' }}") == "2026-11-24 10:00"
        assert render("{{ 'today' | date: '%Y' }}") == "2026"
        fails("{{ today }}", "missing value: today")

    @pytest.mark.parametrize(
        "template", ["{{ now + 3 }}", "{{ now + days }}", "{{ now * 2 days }}"]
    )
    def test_malformed_shifts_do_not_parse(self, template: str) -> None:
        fails(template, "invalid template")

    def test_now_has_no_fields(self) -> None:
        fails("{{ now.year }}", "missing value: now.year")


class TestSteps:
    def test_earlier_outputs(self) -> None:
        assert render("{{steps.action_1.id}}") == "t-9"
        assert render("Task {{ steps.action_1.id }}") == "Task t-9"
        assert render("{{ steps.action_1.data.n.0 }}") == 5

    def test_a_numeric_step_id_is_a_key(self) -> None:
        assert render("{{ steps.7.id }}") == "s7"

    def test_a_step_without_output_is_missing(self) -> None:
        fails("{{ steps.action_2.id }}", "missing value: steps.action_2.id")


class TestFilters:
    @pytest.mark.parametrize(
        ("template", "expected"),
        [
            ('{{ trigger.phone | default: "none" }}', "none"),
            ('{{ trigger.fax | default: "none" }}', "none"),
            ('{{ trigger.address.zip | default: "00000" }}', "00000"),
            ('{{ steps.action_9.id | default: "no task" }}', "no task"),
            ("{{ trigger.fax | default: 0 }}", 0),
            ('{{ trigger.name | default: "none" }}', "John Doe"),
            ("{{ trigger.name | upcase }}", "JOHN DOE"),
            ("{{ trigger.name | downcase }}", "john doe"),
            ("{{ 'hello world' | capitalize }}", "Hello world"),
            ("{{ '  padded ' | strip }}", "padded"),
            ("{{ trigger.name | truncate: 6 }}", "Joh..."),
            ("{{ trigger.price | round }}", 20),
            ("{{ trigger.price | round: 1 }}", 20.0),
            ("{{ trigger.quantity | minus: 1 }}", 2),
            ("{{ trigger.price | money }}", "19.99"),
            ("{{ 1234.5 | money: '$' }}", "$1,234.50"),
            ("{{ trigger.created_at | date: '%d/%m/%Y %H:%M' }}", "20/11/2026 08:30"),
            ("{{ trigger.created_at | date }}", "2026-11-20T08:30:00Z"),
            ('{{ trigger.created_at | add_time: 2, "hours" }}', "2026-11-20T10:30:00Z"),
            ('{{ trigger.created_at | add_time: -1, "week" }}', "2026-11-13T08:30:00Z"),
            ("{{ trigger.tags | json }}", '["new", "newsletter"]'),
            ("{{ trigger.address.city | json }}", '"Lyon"'),
            ("{{ trigger.items | map: 'product_id' | join: ',' }}", "p1,p2"),
        ],
    )
    def test_filters(self, template: str, expected: Any) -> None:
        assert render(template) == expected

    @pytest.mark.parametrize(
        ("template", "match"),
        [
            ("{{ trigger.name | shout }}", "unknown filter 'shout'"),
            ("{{ trigger.name | money }}", "money: expected a number"),
            ("{{ trigger.name | date: '%Y' }}", "date: expected a date-time"),
            ('{{ now | add_time: 1, "fortnight" }}', "add_time: expected a number and a unit"),
            ('{{ now | add_time: "x", "days" }}', "add_time: expected a number and a unit"),
            ('{{ now | add_time: 5000000, "days" }}', "add_time"),
            ('{{ now | add_time: 900000, "weeks" }}', "template failed: OverflowError"),
            ("{{ trigger.quantity | divided_by: 0 }}", "divide by 0"),
            ("{{ trigger.fax | upcase }}", "missing value: trigger.fax"),
        ],
    )
    def test_filter_failures(self, template: str, match: str) -> None:
        fails(template, match)


class TestMissingValues:
    @pytest.mark.parametrize(
        ("template", "path"),
        [
            ("{{ trigger.fax }}", "trigger.fax"),
            ("Call {{ trigger.fax }}", "trigger.fax"),
            ("{{ trigger.address.zip }}", "trigger.address.zip"),
            ("{{ trigger.items.5.product_id }}", "trigger.items.5"),
            ("{{ trigger.name.first }}", "trigger.name.first"),
            ("{{ customer.name }}", "customer"),
            ("{{ steps.action_1.missing }}", "steps.action_1.missing"),
        ],
    )
    def test_fail_naming_the_path(self, template: str, path: str) -> None:
        with pytest.raises(TemplateError) as caught:
            render(template)
        assert str(caught.value).startswith(f"missing value: {path}")

    def test_a_missing_value_in_a_dict_fails_the_whole_render(self) -> None:
        with pytest.raises(TemplateError, match=r"missing value: trigger\.fax"):
            render({"to": "{{ trigger.email }}", "fax": ["{{ trigger.fax }}"]})

    def test_a_missing_value_is_false_in_if_and_nil_in_comparisons(self) -> None:
        assert render("{% if trigger.fax %}fax{% else %}none{% endif %}") == "none"
        assert render("{% if trigger.fax == nil %}nil{% endif %}") == "nil"
        assert render("{% unless trigger.fax %}no fax{% endunless %}") == "no fax"


class TestNestedValues:
    def test_renders_every_string_leaf_but_not_keys(self) -> None:
        template = {
            "{{ trigger.name }}": "{{ trigger.name }}",
            "items": [{"product_id": "{{ trigger.items.0.product_id }}", "quantity": 2}],
            "tags": ["vip", "{{ trigger.tags.0 }}"],
            "price": "{{ trigger.price }}",
            "flag": False,
            "none": None,
            "nested": {"deep": ["{{ now + 1 hour }}"]},
        }
        assert render(template) == {
            "{{ trigger.name }}": "John Doe",
            "items": [{"product_id": "p1", "quantity": 2}],
            "tags": ["vip", "new"],
            "price": 19.99,
            "flag": False,
            "none": None,
            "nested": {"deep": ["2026-11-24T11:00:00Z"]},
        }

    @pytest.mark.parametrize("value", [1, 2.5, True, None])
    def test_non_strings_pass_through(self, value: Any) -> None:
        assert render(value) is value

    def test_a_tuple_becomes_a_list(self) -> None:
        assert render(("a", "{{ trigger.id }}")) == ["a", "c1"]


class TestTags:
    def test_control_flow(self) -> None:
        template = (
            "{% if trigger.vip %}VIP {% endif %}"
            "{% for item in trigger.items %}{{ item.product_id }}x{{ item.quantity }} {% endfor %}"
            "{% case trigger.address.city %}{% when 'Lyon' %}FR{% else %}?{% endcase %}"
            "{% capture greeting %}Hi {{ trigger.name }}{% endcapture %} {{ greeting }}"
        )
        assert render(template) == "VIP p1x30 p2x1 FR Hi John Doe"

    def test_loops_within_the_limit(self) -> None:
        rendered = render(f"{{% for i in (1..{MAX_ITERATIONS}) %}}.{{% endfor %}}")
        assert rendered == "." * MAX_ITERATIONS
        nested = "{% for i in (1..10) %}{% for j in (1..99) %}.{% endfor %}{% endfor %}"
        assert render(nested) == "." * 990  # 10 + 10 x 99 iterations

    def test_all_loops_of_a_string_share_the_limit(self) -> None:
        one = "{% for i in (1..600) %}{% endfor %}"
        assert render(one) == ""
        fails(one + one, "template limit exceeded: loop iteration limit reached")
        assert render([one, one]) == ["", ""]


class TestInjection:
    @pytest.mark.parametrize(
        "template",
        [
            "{{ ''.__class__ }}",
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "{{ trigger.__class__.__mro__ }}",
            "{{ trigger.__class__ }}",
            "{{ trigger.name.__class__.__init__.__globals__ }}",
            "{{ trigger.items.__len__ }}",
            "{{ trigger['__class__'] }}",
            "{{ now.__class__ }}",
            "{{ self }}",
            "{{ __import__('os').system('id') }}",
            "{% include 'x' %}",
            "{% render 'x' %}",
            "{% include trigger.name %}",
            "{% render 'x' with trigger as t %}",
            "{% extends 'base' %}",
            "{% macro m %}{% endmacro %}",
            "{% python %}import os{% endpython %}",
        ],
    )
    def test_attribute_access_partials_and_unknown_tags_fail(self, template: str) -> None:
        fails(template, r"^(missing value|invalid template|template error)")

    def test_attribute_names_are_only_keys(self) -> None:
        context = RenderContext(trigger={"__class__": "just a key"}, steps={}, now=NOW)
        assert render("{{ trigger.__class__ }}", context) == "just a key"

    def test_a_value_containing_markup_is_output_literally(self) -> None:
        assert render("{{ trigger.note }}") == "{{ now }} {% raw %}"
        assert render("Note: {{ trigger.note }}") == "Note: {{ now }} {% raw %}"
        assert render("{{ trigger.note | upcase }}") == "{{ NOW }} {% RAW %}"
        steps = {"a": {"title": "{{ trigger.secret }}"}}
        context = RenderContext(trigger={"secret": "s3cret"}, steps=steps, now=NOW)
        assert render("{{ steps.a.title }}", context) == "{{ trigger.secret }}"

    @pytest.mark.parametrize(
        "template",
        [
            "{% for i in (1..100000000) %}x{% endfor %}",
            "{% for i in (1..100000000) reversed %}x{% endfor %}",
            "{% for i in (1..100000000000000) offset: 99999999999999 %}x{% endfor %}",
            "{% for i in (1..1001) %}x{% endfor %}",
            "{% for i in (1..1000) %}{% for j in (1..1000) %}x{% endfor %}{% endfor %}",
            "{% for i in (1..100) %}{% for j in (1..100) %}{% for k in (1..100) %}x"
            "{% endfor %}{% endfor %}{% endfor %}",
            "{% tablerow i in (1..100000000) %}x{% endtablerow %}",
            "{{ (1..100000000) | join }}",
            "{{ (1..100000000) | size }}",
            "{{ (1..100000000) | reverse | first }}",
            "{% assign r = (1..99999999999) %}{{ r | last }}",
            "{% if (1..100000000) contains 5 %}x{% endif %}",
            "{{ (1.." + "9" * 5000 + ") }}",
        ],
    )
    def test_loop_and_range_bombs_stop_quickly(self, template: str) -> None:
        started = time.perf_counter()
        fails(template, "template limit exceeded|integer string conversion limit")
        assert time.perf_counter() - started < 1

    @pytest.mark.parametrize(
        "template",
        [
            "{% for i in (1..1000) %}" + "x" * 100 + "{% endfor %}",
            "{% for i in (1..1000) %}{{ trigger.big }}{% endfor %}",
            "{% capture c %}{% for i in (1..1000) %}{{ trigger.big }}{% endfor %}{% endcapture %}",
            "{% assign x = trigger.big %}{% for i in (1..20) %}{% assign x = x | append: x %}"
            "{% endfor %}",
            "{% assign x = trigger.big %}" + "{% assign x = x | append: x %}" * 10,
            "{{ trigger.big | replace: '', trigger.big }}",
            "{{ trigger.big | replace: 'x', trigger.big }}",
            "{% capture s %}{% for i in (1..100) %}{{ trigger.big }}{% endfor %}{% endcapture %}"
            "{{ (1..1000) | join: s }}",
            "{{ trigger.big | split: '' | join: trigger.big }}",
            "{% capture s %}{% for i in (1..70) %}{{ trigger.big }}{% endfor %}{% endcapture %}",
        ],
    )
    def test_output_bombs_stop_at_the_size_limit(self, template: str) -> None:
        started = time.perf_counter()
        fails(template, "template limit exceeded")
        assert time.perf_counter() - started < 1

    def test_the_size_limit_is_per_string(self) -> None:
        near = "{% for i in (1..64) %}{{ trigger.big }}{% endfor %}"
        assert len(render(near)) == 64_000
        assert render([near, near]) == [render(near)] * 2

    def test_a_huge_typed_value_is_refused(self) -> None:
        context = RenderContext(trigger={"blob": "y" * (MAX_STRING + 1)}, steps={}, now=NOW)
        with pytest.raises(TemplateError, match="template limit exceeded"):
            render("{{ trigger.blob }}", context)
        with pytest.raises(TemplateError, match="template limit exceeded"):
            render("{{ trigger.blob | upcase }}", context)

    def test_deep_nesting_is_refused(self) -> None:
        template = "{% if true %}" * 40 + "x" + "{% endif %}" * 40
        fails(template, "invalid template|template limit exceeded")

    def test_unbalanced_and_odd_markup_fails_cleanly(self) -> None:
        for template in [
            "{{",
            "{{ trigger.name",
            "{% if %}",
            "{% for %}",
            "{% endif %}",
            "{{ | }}",
        ]:
            fails(template, "invalid template")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
PIECES = st.sampled_from(
    [
        "{{",
        "}}",
        "{%",
        "%}",
        "{{ trigger.",
        "{{ now + 3 days }}",
        "{{ now - ",
        " | ",
        "default:",
        "'",
        '"',
        "(1..",
        ")",
        "for i in ",
        "endfor",
        "if ",
        "endif",
        "raw",
        "endraw",
        "steps.",
        "trigger",
        ".0",
        "[0]",
        "append:",
        "join",
        "replace:",
        "__class__",
        "include",
        " ",
        "-",
    ]
)
TEXT = st.lists(st.text(max_size=6) | PIECES, max_size=12).map("".join)


class TestNeverRaisesAnythingElse:
    @settings(
        max_examples=300,
        deadline=timedelta(seconds=2),
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(template=TEXT | st.text(), trigger=st.dictionaries(st.text(max_size=8), JSON))
    def test_render_value(self, template: str, trigger: dict[str, Any]) -> None:
        context = RenderContext(trigger=trigger, steps={"a": {"id": 1}}, now=NOW)
        try:
            result = render_value({"k": [template]}, context)
        except TemplateError:
            return
        json.dumps(result, allow_nan=True)

    @settings(max_examples=300, deadline=timedelta(seconds=2))
    @given(template=TEXT | st.text())
    def test_check_template_and_referenced_steps(self, template: str) -> None:
        assert all(isinstance(problem, str) for problem in check_template(template, ["a"]))
        assert all(isinstance(step_id, str) for step_id in referenced_steps(template))


class TestCheckTemplate:
    @pytest.mark.parametrize(
        "template",
        [
            "plain text",
            "{{ trigger.email }}",
            "Welcome {{trigger.name}}!",
            "{{ now + 3 days }}",
            "{{ now | date: '%Y' }}",
            "{{ steps.action_1.id }}",
            "{{ trigger.items.0.product_id }}",
            "{{ trigger.phone | default: 'none' }}",
            "{% assign n = trigger.name %}{{ n | upcase }}",
            "{% for item in trigger.items %}{{ item.product_id }}{{ forloop.index }}{% endfor %}",
            "{% capture c %}x{% endcapture %}{{ c }}",
            {"to": "{{ trigger.email }}", "list": ["{{ now }}", 3, None]},
            42,
            None,
        ],
    )
    def test_fine(self, template: Any) -> None:
        assert check_template(template, ["action_1"]) == []

    @pytest.mark.parametrize(
        ("template", "problem"),
        [
            ("{{ trigger.name", "invalid template"),
            ("{% include 'x' %}", "invalid template: unexpected tag 'include'"),
            ("{% render 'x' %}", "invalid template: unexpected tag 'render'"),
            ("{{ customer.name }}", "unknown name 'customer'"),
            ("{{ today }}", "unknown name 'today'"),
            ("{{ trigger.name | shout }}", "unknown filter 'shout'"),
            ("{{ steps.action_2.id }}", "steps.action_2.id: 'action_2' is not an earlier action"),
            ("{{ steps }}", "steps: name an earlier step literally"),
            ("{{ steps[trigger.id].id }}", "name an earlier step literally"),
            ("{{ now.year }}", "now.year: now has no fields"),
            ("{{ now + 3 }}", "invalid template"),
        ],
    )
    def test_problems(self, template: str, problem: str) -> None:
        problems = check_template(template, ["action_1"])
        assert len(problems) == 1
        assert problem in problems[0]

    def test_problems_in_nested_values_name_their_path(self) -> None:
        template = {"to": "{{ foo }}", "items": [{"id": "{{ steps.x.id }}"}], "ok": "{{ now }}"}
        assert check_template(template, []) == [
            "to: unknown name 'foo': paths start at trigger., steps. or now",
            "items.0.id: steps.x.id: 'x' is not an earlier action step",
        ]

    def test_every_problem_of_a_string_is_listed(self) -> None:
        assert len(check_template("{{ a }} {{ b | nope }} {{ steps.z.id }}", [])) == 4


class TestReferencedSteps:
    def test_collects_step_ids_from_every_string(self) -> None:
        template = {
            "id": "{{ steps.action_1.id }}",
            "note": ["{{ steps.action_2.data.x | default: 'n' }} and {{ steps.7.id }}"],
            "title": "{{ trigger.name }}",
        }
        assert referenced_steps(template) == {"action_1", "action_2", "7"}

    def test_nothing_referenced(self) -> None:
        assert referenced_steps({"a": "{{ trigger.x }}", "b": "text", "c": 1}) == set()

    def test_unparsable_strings_refer_to_nothing(self) -> None:
        assert referenced_steps(["{{ steps.a.id", "{{ steps.b.id }}"]) == {"b"}


class TestLinearTimeChecks:
    """Markup opened and never closed is refused in one pass: the rewrite's lazy regex and
    Liquid's lexer both retried from every opening (10,000 characters of `{{` took 4 s)."""

    @pytest.mark.parametrize("hostile", ["{{" * 5_000, "{%" * 5_000, "{{ x" * 2_500])
    def test_unclosed_markup_is_refused_at_once(self, hostile: str) -> None:
        import time

        started = time.monotonic()
        [problem] = check_template(hostile, [])
        assert time.monotonic() - started < 1.0
        assert "never closed" in problem

    def test_a_raw_block_may_hold_an_unclosed_opening(self) -> None:
        assert check_template("{% raw %}{{{% endraw %} {{ trigger.name }}", []) == []
        [problem] = check_template("{% raw %}{{", [])
        assert "raw" in problem
