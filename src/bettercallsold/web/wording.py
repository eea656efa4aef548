"""What the pages say (pure): operators, steps and errors in a merchant's words.

The APIs speak to developers ("Platform API error 404 on PUT /api/orders/…", "String should
have at least 1 character"); the pages lead with a sentence a merchant understands and keep
the API's own text one click away (`Plain.detail`).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

OPERATOR_WORDS: dict[str, str] = {
    "exists": "is not empty",
    "not_exists": "is empty",
    "equals": "is",
    "not_equals": "is not",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "greater_than": "is more than",
    "greater_than_or_equal": "is at least",
    "less_than": "is less than",
    "less_than_or_equal": "is at most",
    "in": "is one of",
    "not_in": "is none of",
}

_RESOURCES = {
    "orders": "Order",
    "customers": "Customer",
    "products": "Product",
    "tasks": "Task",
    "notifications": "Notification",
}
_API_ERROR = re.compile(
    r"Platform API error (?P<status>\d{3}) on (?P<method>[A-Z]+) "
    r"/api/(?P<resource>[a-z_]+)(?:/(?P<id>[^/\s:]+))?"
)
_TEMPLATE_HINTS = ("template", "render", "undefined", "filter", "{{")


@dataclass(frozen=True)
class Plain:
    """A message in a merchant's words, and the technical text it came from (or "")."""

    text: str
    detail: str = ""


def operator_words(operator: str) -> str:
    return OPERATOR_WORDS.get(operator, operator.replace("_", " "))


def humanize(name: str) -> str:
    """`send_email` → `Send email`."""
    return name.replace("_", " ").strip().capitalize()


def plain_error(error: Any) -> Plain:
    """A failure said for a merchant first ("Order 5a6b… was not found"), the raw text kept."""
    raw = error if isinstance(error, str) else json.dumps(error, default=str)
    raw = raw.strip()
    if not raw:
        return Plain("Something went wrong.")
    found = _API_ERROR.search(raw)
    if found:
        thing = _RESOURCES.get(found["resource"], humanize(found["resource"]).rstrip("s"))
        named = f"{thing} {found['id']}" if found["id"] else f"The {thing.lower()}"
        status = int(found["status"])
        if status == 404:
            return Plain(f"{named} was not found.", raw)
        if status == 409:
            return Plain(
                f"{named} could not be changed: it is in a state that does not allow it.", raw
            )
        if status in (400, 422):
            return Plain(
                f"The store refused the change to {named}: some values are not accepted.",
                raw,
            )
        if status in (401, 403):
            return Plain("The store did not allow this action.", raw)
        return Plain("The store could not be reached. It will work again once it answers.", raw)
    lowered = raw.lower()
    if "unknown action type" in lowered:
        return Plain("This step uses an action that does not exist any more.", raw)
    if any(hint in lowered for hint in _TEMPLATE_HINTS):
        return Plain("A placeholder ({{…}}) could not be filled in with this data.", raw)
    if "timed out" in lowered or "timeout" in lowered:
        return Plain("The other side took too long to answer.", raw)
    if "connect" in lowered or "refused" in lowered:
        return Plain("The other side could not be reached.", raw)
    if lowered.startswith(("field required", "missing")) or "is required" in lowered:
        return Plain("A required value is missing.", raw)
    return Plain(_sentence(raw), "")


def validation_message(message: str, trigger_paths: list[str] | None = None) -> str:
    """A 422 message of the APIs without Pydantic's or the validator's jargon."""
    text = str(message).strip()
    text = re.sub(r"^Value error,\s*", "", text)
    text = re.sub(r"^(flow_definition(\.steps)?|body)(\.[\w-]+)*:\s*", "", text)
    if re.match(r"^String should have at least 1 character", text) or text == "Field required":
        return "This cannot be empty."
    too_long = re.match(r"^String should have at most (\d+) characters", text)
    if too_long:
        return f"This is too long (at most {too_long[1]} characters)."
    if re.match(r"^Input should be a valid (number|integer)", text):
        return "This must be a number."
    if "a dotted path such as customer.email" in text:
        example = _closest_field(text, trigger_paths or [])
        text = text.replace(
            "(a dotted path such as customer.email)", f"(a field of the trigger, such as {example})"
        ).replace(
            "a dotted path such as customer.email", f"a field of the trigger, such as {example}"
        )
    return _sentence(text)


def _closest_field(message: str, paths: list[str]) -> str:
    """The trigger's field nearest to the one quoted in the message (`'email..address'` →
    `email`), else its first top-level field: a hint must name a field that can match."""
    typed = re.match(r"^'([^']*)'", message)
    if typed and paths:
        close = difflib.get_close_matches(typed[1], paths, n=1, cutoff=0.4)
        if close:
            return close[0]
    top = next((path for path in paths if "." not in path), None)
    return top or (paths[0] if paths else "email")


def _sentence(text: str) -> str:
    """Capitalised, unless it starts with a name the merchant typed (`send_email`, `action_2`),
    which is shown as written."""
    first = text.split(" ", 1)[0]
    if not text or re.search(r"[_.\d{]", first):
        return text
    return text[:1].upper() + text[1:]


def step_label(step: dict[str, Any]) -> str:
    """How a step is named on the pages: what it does, not its internal id."""
    kind = str(step.get("type", ""))
    if kind == "action":
        return humanize(str(step.get("action_type") or "action"))
    if kind == "condition":
        return "Check: " + test_words(step.get("when") or step)
    if kind == "if":
        return "If " + test_words(step.get("when") or {})
    if kind == "for_each":
        return f"For each of {step.get('items') or 'a list'}"
    if kind == "wait":
        if step.get("duration"):
            return f"Wait {step['duration']}"
        return f"Wait until {step.get('until') or '…'}"
    return humanize(kind or "step")


def test_words(test: Any) -> str:
    if not isinstance(test, dict):
        return "…"
    if "all" in test or "any" in test:
        key = "all" if "all" in test else "any"
        parts = [test_words(item) for item in test.get(key) or []]
        return f" {'and' if key == 'all' else 'or'} ".join(parts) or "…"
    if "not" in test:
        return f"not ({test_words(test['not'])})"
    field = str(test.get("field") or "…")
    operator = str(test.get("operator") or "")
    words = f"{field} {operator_words(operator)}"
    if (
        "value" in test
        and test.get("value") is not None
        and operator not in ("exists", "not_exists")
    ):
        words += f" {_show(test.get('value'))}"
    return words


def verdict_words(verdict: Any) -> str:
    """Why a test held or not: "total is more than 100: it was 42"."""
    if not isinstance(verdict, dict):
        return ""
    if "all" in verdict or "any" in verdict or "not" in verdict:
        return ""
    field = str(verdict.get("field") or "")
    if not field:
        return ""
    operator = str(verdict.get("operator") or "")
    expected = verdict.get("expected")
    wanted = f"{field} {operator_words(operator)}"
    if operator not in ("exists", "not_exists") and expected is not None:
        wanted += f" {_show(expected)}"
    actual = verdict.get("actual")
    seen = "it was empty" if actual in (None, "", [], {}) else f"it was {_show(actual)}"
    return f"Expected {wanted}; {seen}."


def leaf_verdicts(verdict: Any) -> list[dict[str, Any]]:
    """Every leaf of a verdict tree, in order."""
    if not isinstance(verdict, dict):
        return []
    for key in ("all", "any"):
        if isinstance(verdict.get(key), list):
            return [leaf for item in verdict[key] for leaf in leaf_verdicts(item)]
    if isinstance(verdict.get("not"), dict):
        return leaf_verdicts(verdict["not"])
    return [verdict] if verdict.get("field") else []


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return json.dumps(value, default=str)
