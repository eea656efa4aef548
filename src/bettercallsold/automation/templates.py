"""Payload templates: python-liquid, sandboxed, extended for the contract's syntax.

A merchant's template is untrusted text rendered in our workers: it must never run code or
exhaust a worker. Liquid looks names up as items of the data we pass (dicts, lists, plain
values), never as Python attributes, so `{{ trigger.__class__ }}` is just a missing value.
On top of liquid this module:
- passes time in: `now` is the given instant as ISO 8601 UTC text; liquid's own `now`/`today`
  (the system clock) are out of scope and the `date` filter is ours;
- rewrites, inside `{{ }}`/`{% %}` and outside quotes, `now + 3 days` (units minute(s),
  hour(s), day(s), week(s)) to `now | add_time: 3, "days"` and `items.0.id` to `items[0].id`,
  so the rest is standard liquid (`add_time` works on any date-time);
- has no loader and no `include`/`render` tags; limits loops (1000 iterations per string, all
  loops summed), ranges (1000 items), output and each filter's text (64 KiB per string), local
  variables (64 KiB), block nesting and context depth;
- fails a missing value (`missing value: trigger.phone`) unless `default` catches it (in
  `{% if %}` a missing value is false), and raises nothing but `TemplateError`.
A string that is exactly one `{{ }}` (whitespace inside the braces only) keeps the value's JSON
type; any other renders to a string. Values are output, never rendered again.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from liquid import BoundTemplate, Environment, FalsyStrictUndefined, Undefined
from liquid import RenderContext as LiquidContext
from liquid import exceptions as errors
from liquid.builtin.expressions.primitive import RangeLiteral
from liquid.builtin.output import OutputNode
from liquid.expression import Expression
from liquid.filter import with_context
from liquid.static_analysis import TemplateAnalysis
from liquid.undefined import UNDEFINED
from liquid.utils import ReadOnlyChainMap

from bettercallsold.automation.budget import (
    BudgetExceeded,
    charge_items,
    charge_iterations,
    charge_output,
)
from bettercallsold.automation.conditions import iso_utc, json_safe, parse_instant, parse_number
from bettercallsold.automation.paths import string_leaves

MAX_STRING = 64 * 1024  # characters in a rendered string, or in what a filter takes or makes
MAX_ITERATIONS = 1000  # loop iterations in one string (all loops summed), items in a range
ROOTS = frozenset({"trigger", "steps", "now"})  # where paths start (besides local `assign`s)
LOOP_ROOTS = frozenset({"item", "loop"})  # also inside a `for_each` step

_UNITS = {"minute": "minutes", "hour": "hours", "day": "days", "week": "weeks"}
_MARKUP = re.compile(
    r"(\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\})|(\{\{.*?\}\}|\{%.*?%\})", re.DOTALL
)
_TOKENS = re.compile(
    r"(?P<string>\"[^\"]*\"|'[^']*')"
    r"|(?<![\w.\-\]])now\s*(?P<sign>[+-])\s*(?P<amount>\d{1,9})\s*"
    r"(?P<unit>minute|hour|day|week)s?(?![\w-])"
    r"|(?P<path>(?<![\w.\-\]])[A-Za-z_][\w\-]*(?:\.[\w\-]+|\[[^\[\]]*\])+)"
)
_END_RAW = re.compile(r"\{%-?\s*endraw\s*-?%\}")
_INDEX = re.compile(r"\.(\d+)(?=[.\[]|$)")
_TOO_LONG = f"text over {MAX_STRING} characters"
_bad = functools.partial(errors.FilterArgumentError, token=None)
_PREFIXES: tuple[tuple[type[errors.LiquidError], str], ...] = (
    (errors.UndefinedError, ""),  # its message is already "missing value: <path>"
    (errors.ResourceLimitError, "template limit exceeded: "),
    (errors.LiquidSyntaxError, "invalid template: "),
)


class TemplateError(Exception):
    """The only exception of rendering: a template that does not parse, reads a missing value
    or exceeds a limit; the message names the path or the problem."""


@dataclass(frozen=True)
class RenderContext:
    """What a template can see: the trigger payload, earlier actions' results and the time."""

    trigger: Mapping[str, Any]
    steps: Mapping[str, Mapping[str, Any]]
    now: datetime
    """An aware instant (a naive one is taken as UTC): the execution's clock reading."""
    item: Any = None
    """Inside a `for_each` step: the element of this iteration."""
    loop: Mapping[str, Any] | None = None
    """Inside a `for_each` step: `{"index": n}`, from 1."""

    def scope(self) -> dict[str, Any]:
        scope = {"trigger": self.trigger, "steps": self.steps, "now": iso_utc(self.now)}
        if self.loop is not None:
            scope["item"] = self.item
            scope["loop"] = self.loop
        return scope


def render_value(template: Any, context: RenderContext) -> Any:
    """Render every string inside `template` (dicts and lists, recursively; keys as they are).

    Non-string leaves pass through. Raises `TemplateError` on the first failing string.
    """
    return _render(template, context.scope())


def check_template(
    template: Any, earlier_steps: Collection[str], roots: frozenset[str] = ROOTS
) -> list[str]:
    """Static problems of every string in `template`, for a flow's save; never raises.

    Each string must parse, use known filters, start its paths at one of `roots` (`trigger`,
    `now`, `steps`; `item` and `loop` inside a loop) or a name it assigns, and name with
    `steps.<id>` only one of `earlier_steps`.
    """
    problems: list[str] = []
    for where, text in string_leaves(template):
        for problem in _check_string(text, earlier_steps, roots):
            problems.append(f"{where}: {problem}" if where else problem)
    return problems


def referenced_steps(template: Any) -> set[str]:
    """The step ids a template reads with `steps.<id>` (strings that do not parse count none)."""
    found: set[str] = set()
    for _, text in string_leaves(template):
        if _has_markup(text):
            found.update(_steps_read_by(text))
    return found


@functools.lru_cache(maxsize=512)
def _steps_read_by(text: str) -> frozenset[str]:
    """Cached like the parse: every execution of a flow asks the same strings."""
    try:
        steps = _analyze(text).globals.get("steps", [])
    except TemplateError:
        return frozenset()
    return frozenset(str(var.segments[1]) for var in steps if len(var.segments) > 1)


def _render(value: Any, scope: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return _render_string(value, scope) if _has_markup(value) else value
    if isinstance(value, Mapping):
        return {key: _render(item, scope) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_render(item, scope) for item in value]
    return value


def _render_string(text: str, scope: Mapping[str, Any]) -> Any:
    template = _parse(text)
    with _failures("template failed"):
        if len(template.nodes) == 1 and isinstance(template.nodes[0], OutputNode):
            # Exactly one `{{ }}` and nothing around it: the value keeps its JSON type.
            context = template.context_class(template, globals=template.make_globals(scope))
            value = _typed(template.nodes[0].expression.evaluate(context))
            if isinstance(value, str):
                charge_output(len(value))
            return value
        rendered = template.render(scope)
        charge_output(len(rendered))
        return rendered


@contextmanager
def _failures(prefix: str) -> Iterator[None]:
    """Anything going wrong in liquid is a `TemplateError`: merchant text runs inside a
    third-party parser and renderer, and an unforeseen failure there (an overflow, a recursion
    limit) must fail the action with a message, not the worker.
    """
    try:
        yield
    except (TemplateError, BudgetExceeded):
        raise
    except errors.LiquidError as exc:
        kind = next((text for cls, text in _PREFIXES if isinstance(exc, cls)), "template error: ")
        raise TemplateError(f"{kind}{exc.message}") from exc
    except Exception as exc:
        raise TemplateError(f"{prefix}: {type(exc).__name__}: {exc}") from exc


def _typed(value: Any) -> Any:
    """A JSON value for a single-expression template's result."""
    if isinstance(value, Undefined):
        raise TemplateError(f"missing value: {value.name}")
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise TemplateError(f"template limit exceeded: {_TOO_LONG}")
    if isinstance(value, float | Decimal) and not math.isfinite(value):
        raise TemplateError(f"not a finite number: {value}")
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, Mapping):
        return {str(key): _typed(item) for key, item in value.items()}
    if isinstance(value, list | tuple | range):
        return [_typed(item) for item in value]
    return json_safe(value)


def _has_markup(text: str) -> bool:
    return "{{" in text or "{%" in text


def _rewrite(text: str) -> str:
    """`now + 3 days` and `items.0.id` as liquid, in markup only (see the module docstring)."""

    def token(match: re.Match[str]) -> str:
        if match.group("string") is not None:
            return match.group(0)
        if match.group("path") is not None:
            return _INDEX.sub(r"[\1]", match.group("path"))
        sign = "-" if match.group("sign") == "-" else ""
        return f'now | add_time: {sign}{match.group("amount")}, "{_UNITS[match.group("unit")]}"'

    def markup(match: re.Match[str]) -> str:
        return match.group(1) or _TOKENS.sub(token, match.group(2))

    return _MARKUP.sub(markup, text)


def _parse(text: str) -> BoundTemplate:
    with _failures("invalid template"):
        _check_closed(text)
        return _parse_cached(_rewrite(text))


def _check_closed(text: str) -> None:
    """Refuse markup opened and never closed, in one pass (`str.find` from each opening).

    Both the markup rewrite (a lazy `.*?`) and Liquid's lexer retry from every opening that
    has no closing: 10,000 characters of `{{` took seconds. A template Liquid would accept
    closes every opening, so this refuses nothing it would take."""
    at = 0
    while True:
        opening = min(
            (found for found in (text.find("{{", at), text.find("{%", at)) if found >= 0),
            default=-1,
        )
        if opening < 0:
            return
        closer = "}}" if text.startswith("{{", opening) else "%}"
        closing = text.find(closer, opening + 2)
        if closing < 0:
            raise errors.LiquidSyntaxError(
                f"'{text[opening : opening + 2]}' at character {opening + 1} is never closed "
                f"with '{closer}'",
                token=None,
            )
        at = closing + 2
        if closer == "%}" and text[opening + 2 : closing].strip(" \t\n\r-") == "raw":
            end = _END_RAW.search(text, at)  # what a raw block holds is text, closed or not
            if end is None:
                raise errors.LiquidSyntaxError("'{% raw %}' is never closed", token=None)
            at = end.end()


@functools.lru_cache(maxsize=512)
def _parse_cached(source: str) -> BoundTemplate:
    # Parsed templates are immutable (each render gets a fresh context), so they are shared.
    template = _ENV.from_string(source)
    for expression in _expressions(template.nodes, template.context_class(template)):
        if type(expression) is RangeLiteral:
            # Bound every range where it is made: for-loop `reversed` and `offset`, and
            # filters such as `join`, would otherwise walk (1..100000000) before any limit.
            expression.__class__ = _BoundedRange
    return template


def _expressions(nodes: Any, static: LiquidContext) -> Iterator[Expression]:
    """Every expression in a parse tree, nested ones included."""
    pending: list[Any] = [*nodes]
    while pending:
        item = pending.pop()
        if isinstance(item, Expression):
            yield item
            pending.extend(item.children())
        else:
            pending.extend(item.expressions())
            pending.extend(item.children(static, include_partials=False))


def _analyze(text: str) -> TemplateAnalysis:
    template = _parse(text)
    with _failures("invalid template"):
        return template.analyze(include_partials=False)


def _check_string(text: str, earlier_steps: Collection[str], roots: frozenset[str]) -> list[str]:
    if not _has_markup(text):
        return []
    try:
        analysis = _analyze(text)
    except TemplateError as exc:
        return [str(exc)]
    problems = [f"unknown filter '{name}'" for name in analysis.filters if name not in _ENV.filters]
    for root, variables in analysis.globals.items():
        if root not in roots:
            where = "trigger., steps., now, item. or loop." if root in LOOP_ROOTS - ROOTS else ""
            problems.append(
                f"unknown name '{root}': paths start at trigger., steps. or now"
                if not where
                else f"unknown name '{root}': {root} is only known inside a for_each step"
            )
            continue
        for variable in variables:
            problems.extend(_check_root(variable.segments, str(variable), earlier_steps))
    return problems


def _check_root(segments: list[Any], shown: str, earlier_steps: Collection[str]) -> list[str]:
    if segments[0] == "now" and len(segments) > 1:
        return [f"{shown}: now has no fields (format it with now | date: ...)"]
    if segments[0] != "steps":
        return []
    if len(segments) < 2 or not isinstance(segments[1], str | int):
        return [f"{shown}: name an earlier step literally, as steps.<step id>.<field>"]
    if str(segments[1]) not in earlier_steps:
        return [f"{shown}: '{segments[1]}' is not an earlier action step"]
    return []


def _instant(value: Any, context: LiquidContext, filter_name: str) -> datetime:
    if value in ("now", "today"):
        value = context.resolve("now")
    moment = parse_instant(value)
    if moment is None:
        raise _bad(f"{filter_name}: expected a date-time, got {value!r}")
    return moment


@with_context
def _add_time(value: Any, amount: Any, unit: Any = "days", *, context: LiquidContext) -> str:
    """`{{ trigger.created_at | add_time: -2, "hours" }}`; `now + 2 hours` becomes this."""
    number = parse_number(amount)
    name = _UNITS.get(str(unit).removesuffix("s"))
    if number is None or name is None or abs(number) > 1_000_000:
        raise _bad(f"add_time: expected a number and a unit, got {amount!r}, {unit!r}")
    return iso_utc(_instant(value, context, "add_time") + timedelta(**{name: float(number)}))


@with_context
def _date(value: Any, fmt: Any = "%Y-%m-%dT%H:%M:%SZ", *, context: LiquidContext) -> str:
    """strftime formatting of a date-time (or of "now"), in UTC: the clock is never read."""
    return _instant(value, context, "date").strftime(str(fmt))


def _json(value: Any) -> str:
    return json.dumps(_typed(value), ensure_ascii=False)


def _money(value: Any, symbol: Any = "") -> str:
    number = parse_number(value)
    if number is None:
        raise _bad(f"money: expected a number, got {value!r}")
    return f"{symbol}{number.quantize(Decimal('0.01')):,}"


def _guard(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that refuses oversized text in or out, and sizes `join`/`replace` up front."""

    @functools.wraps(function)
    def guarded(value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, list | tuple | range | Mapping) and not isinstance(value, Undefined):
            charge_items(len(value))  # sorting, mapping, joining: work grows with the list
        too_long = any(isinstance(arg, str) and len(arg) > MAX_STRING for arg in (value, *args))
        if too_long or _estimated_size(name, value, args) > MAX_STRING:
            raise errors.OutputStreamLimitError(f"{name}: {_TOO_LONG}", token=None)
        result = function(value, *args, **kwargs)
        if isinstance(result, str) and len(result) > MAX_STRING:
            raise errors.OutputStreamLimitError(f"{name}: {_TOO_LONG}", token=None)
        return result

    return guarded


def _estimated_size(name: str, value: Any, args: tuple[Any, ...]) -> int:
    """The size of what `join` and `replace` would make: they can multiply their input."""
    if name == "join":
        items = value if isinstance(value, list | tuple | range) else []
        return len(str(args[0]) if args else " ") * len(items)
    if name != "replace":
        return 0
    text, old, new = str(value), str(args[0]) if args else "", str(args[1]) if len(args) > 1 else ""
    count = len(text) + 1 if not old else text.count(old)
    return len(text) + count * (len(new) - len(old))


class _Missing(FalsyStrictUndefined):
    """Strict: output or filtering fails naming the path; `default` and `{% if %}` are fine."""

    force_liquid_default = True


class _Context(LiquidContext):
    __slots__ = ("iterations",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Liquid's built-in scope answers `now` and `today` from the system clock.
        self.scope = ReadOnlyChainMap(self.locals, self.globals, self.counters)
        self.iterations = 0

    @contextmanager
    def loop(self, namespace: Any, forloop: Any) -> Iterator[LiquidContext]:
        # Liquid bounds nested loops (their product); sequential loops are summed here.
        self.iterations += forloop.length
        charge_iterations(forloop.length)
        if self.iterations > MAX_ITERATIONS:
            raise errors.LoopIterationLimitError("loop iteration limit reached", token=None)
        with super().loop(namespace, forloop) as context:
            yield context

    def get(self, path: list[object], *, token: Any, default: object = UNDEFINED) -> object:
        value = super().get(path, token=token, default=default)
        if default is UNDEFINED and isinstance(value, Undefined):
            name = ".".join(str(segment) for segment in path)
            return self.env.undefined(name, token=token, hint=f"missing value: {name}")
        return value

    def get_item(self, obj: Any, key: Any) -> Any:
        # `steps.7.id` is parsed as an index; on an object it means the key "7".
        if isinstance(key, int) and isinstance(obj, Mapping) and key not in obj:
            key = str(key)
        return super().get_item(obj, key)


class _BoundedRange(RangeLiteral):
    __slots__ = ()

    def _make_range(self, start: Any, stop: Any) -> range:
        made = super()._make_range(start, stop)
        if made.stop - made.start > MAX_ITERATIONS:
            raise errors.LoopIterationLimitError(
                f"range of more than {MAX_ITERATIONS} items", token=self.token
            )
        return made


class _Template(BoundTemplate):
    context_class = _Context


class _Environment(Environment):
    loop_iteration_limit = MAX_ITERATIONS
    output_stream_limit = MAX_STRING
    local_namespace_limit = MAX_STRING
    context_depth_limit = 10
    block_nesting_limit = 20
    template_class = _Template

    def setup_tags_and_filters(self, *, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=extra)
        for tag in ("include", "render"):  # no partials: templates see only their own text
            del self.tags[tag]
        self.filters.update(add_time=_add_time, date=_date, json=_json, money=_money)
        for name, function in list(self.filters.items()):
            self.filters[name] = _guard(name, function)


_ENV = _Environment(undefined=_Missing, strict_filters=True)
