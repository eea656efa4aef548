"""Two versions of a flow side by side (pure): what changed, line by line.

A version is shown as the merchant reads a flow (name, trigger, schedule, then the steps as
indented JSON); `side_by_side` pairs the two texts' lines the way `difflib` matches them.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["same", "changed", "removed", "added"]


@dataclass(frozen=True)
class DiffRow:
    kind: Kind
    left: str | None
    """The older version's line (None: nothing on that side)."""
    right: str | None


def version_lines(version: dict[str, Any]) -> list[str]:
    """A version as text: the flow's own fields first, then its steps."""
    lines = [
        f"Name: {version.get('name') or ''}",
        f"When: {version.get('trigger_event') or ''}",
    ]
    schedule = version.get("schedule")
    if isinstance(schedule, dict) and schedule:
        lines.append(f"Schedule: {schedule.get('cron', '')} ({schedule.get('timezone', 'UTC')})")
    definition = version.get("flow_definition") or {}
    steps = definition.get("steps", []) if isinstance(definition, dict) else definition
    lines.append("Steps:")
    lines.extend(json.dumps(steps, indent=2, ensure_ascii=False).splitlines())
    return lines


def side_by_side(old: list[str], new: list[str]) -> list[DiffRow]:
    """Every line of both texts, paired: equal lines, changed lines face to face, and lines
    only one side has opposite a blank."""
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(DiffRow("same", line, line) for line in old[i1:i2])
            continue
        left, right = old[i1:i2], new[j1:j2]
        for index in range(max(len(left), len(right))):
            before = left[index] if index < len(left) else None
            after = right[index] if index < len(right) else None
            kind: Kind = (
                "changed"
                if before is not None and after is not None
                else "removed"
                if before is not None
                else "added"
            )
            rows.append(DiffRow(kind, before, after))
    return rows


def changed_count(rows: list[DiffRow]) -> int:
    return sum(1 for row in rows if row.kind != "same")
