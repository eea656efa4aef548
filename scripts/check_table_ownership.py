"""Each part owns its tables: fail when a module of one part names another part's table in SQL.

A part is a top folder of `src/bettercallsold/` (platform, bus, automation, receiver, tenancy,
web, ...). It owns the tables its `models.py` files declare (`__tablename__ = "..."`, any depth).
A module of the root (`app.py`, `cli.py`, ...) belongs to no part and owns no table. Another part
gets what it needs through the owner's port (`ports.py`), never with SQL on the owner's table:
import-linter keeps the imports apart, this keeps the SQL apart.

A table is "named in SQL" by a module when one of its string constants (docstrings excluded)

- has the name right after FROM, JOIN, INTO, UPDATE, TABLE or REFERENCES (SQL keywords are
  written upper-case here, so prose such as "work from tasks" does not count);
- is the first argument of `table(...)` / `Table(...)`, or `ForeignKey("name.column")`;
- is SQL given to `text(...)` (there the keywords count in any case).

Run by `make lint`: `python scripts/check_table_ownership.py [src/bettercallsold]`; prints one
line per violation and exits 1 when there is any.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SHARED_PARTS: dict[str, str] = {
    "db": "the model registry and the migrations build the schema: they name every table",
}
"""Folders allowed to name any table, each with its reason. Keep this short."""

SHARED_TABLES: dict[str, str] = {
    "tenants": "every part's rows belong to a tenant: each part's tenant foreign key names it",
}
"""Tables any part may name, each with its reason. Keep this short."""

_SQL_KEYWORDS = r"(?:FROM|JOIN|INTO|UPDATE|TABLE|REFERENCES)"
_AFTER_KEYWORD = re.compile(
    _SQL_KEYWORDS + r"\s+(?:ONLY\s+|IF\s+(?:NOT\s+)?EXISTS\s+)?\"?([A-Za-z_][A-Za-z0-9_]*)\"?"
)
_AFTER_KEYWORD_ANY_CASE = re.compile(_AFTER_KEYWORD.pattern, re.IGNORECASE)
_TABLE_CALLS = {"table", "Table"}
_FOREIGN_KEY_CALLS = {"ForeignKey"}
_TEXT_CALLS = {"text"}


@dataclass(frozen=True, slots=True)
class Violation:
    path: Path
    line: int
    part: str
    table: str
    owner: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: the {self.part!r} part names {self.table!r}, a table of"
            f" {self.owner!r}: ask the owner through its port (ports.py)"
        )


def part_of(root: Path, path: Path) -> str | None:
    """The part a module belongs to: its top folder under `root`; None for a root module."""
    relative = path.relative_to(root)
    return relative.parts[0] if len(relative.parts) > 1 else None


def table_owners(root: Path) -> dict[str, str]:
    """Every declared table, with the part whose `models.py` declares it."""
    owners: dict[str, str] = {}
    for path in sorted(root.rglob("models.py")):
        part = part_of(root, path)
        if part is None:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Assign)
                and _assigns(node, "__tablename__")
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                owners[node.value.value] = part
    return owners


def _assigns(node: ast.Assign, name: str) -> bool:
    return any(isinstance(target, ast.Name) and target.id == name for target in node.targets)


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring nodes (a module's, class's or function's first string), and of
    the attribute docstrings (a string statement right after an assignment)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for statement in body:
            if (
                isinstance(statement, ast.Expr)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
            ):
                found.add(id(statement.value))
    return found


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _strings(node: ast.AST) -> Iterator[ast.Constant]:
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            yield child


def named_tables(source: str, filename: str = "<module>") -> Iterator[tuple[int, str]]:
    """(line, table name) for each table a module's code names in SQL (see the module doc)."""
    tree = ast.parse(source, filename)
    skipped = _docstrings(tree)
    in_text: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = _call_name(node)
        first = node.args[0]
        literal = first.value if isinstance(first, ast.Constant) else None
        if name in _TABLE_CALLS and isinstance(literal, str):
            yield first.lineno, literal
        elif name in _FOREIGN_KEY_CALLS and isinstance(literal, str) and "." in literal:
            yield first.lineno, literal.split(".")[0]
        elif name in _TEXT_CALLS:
            for string in _strings(first):
                in_text.add(id(string))
                for match in _AFTER_KEYWORD_ANY_CASE.finditer(string.value):
                    yield string.lineno, match.group(1)
    for string in _strings(tree):
        if id(string) in skipped or id(string) in in_text:
            continue
        for match in _AFTER_KEYWORD.finditer(string.value):
            yield string.lineno, match.group(1)


def check(root: Path) -> list[Violation]:
    owners = table_owners(root)
    violations: list[Violation] = []
    for path in sorted(root.rglob("*.py")):
        part = part_of(root, path)
        if part in SHARED_PARTS:
            continue
        for line, table in named_tables(path.read_text(), str(path)):
            owner = owners.get(table)
            if owner is None or owner == part or table in SHARED_TABLES:
                continue  # not ours (procrastinate's, a CTE, an alias), own, or shared
            violations.append(Violation(path, line, part or "(root)", table, owner))
    return violations


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "src/bettercallsold")
    violations = check(root)
    for violation in violations:
        print(violation)
    if violations:
        print(f"{len(violations)} table-ownership violation(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
