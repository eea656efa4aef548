"""`scripts/check_table_ownership.py`: a part that names another part's table fails `make lint`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load_checker() -> ModuleType:
    path = REPO / "scripts" / "check_table_ownership.py"
    spec = importlib.util.spec_from_file_location("check_table_ownership", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


checker = _load_checker()

_MODELS = {
    "shop/models.py": 'class Order:\n    __tablename__ = "orders"\n',
    "robot/models.py": 'class Run:\n    __tablename__ = "robot_runs"\n',
    "tenancy/models.py": 'class Tenant:\n    __tablename__ = "tenants"\n',
}


def _tree(tmp_path: Path, modules: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, source in {**_MODELS, **modules}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root


def _named(violations: list[object]) -> set[tuple[str, str]]:
    return {(v.part, v.table) for v in violations}  # type: ignore[attr-defined]


class TestCheck:
    @pytest.mark.parametrize(
        "source",
        [
            'SQL = "SELECT count(*) FROM orders WHERE id = :id"\n',
            'SQL = "UPDATE orders SET x = 1"\n',
            'SQL = "INSERT INTO \\"orders\\" (id) VALUES (1)"\n',
            'SQL = f"SELECT {x} FROM t JOIN orders ON true"\n',
            'from sqlalchemy import text\nQ = text("select 1 from orders")\n',
            'from sqlalchemy import table\n_t = table("orders")\n',
            'from sqlalchemy import ForeignKey\nfk = ForeignKey("orders.id")\n',
        ],
    )
    def test_fails_on_a_planted_violation(self, tmp_path: Path, source: str) -> None:
        root = _tree(tmp_path, {"robot/repository.py": source})

        assert _named(checker.check(root)) == {("robot", "orders")}
        assert checker.main(["check", str(root)]) == 1

    def test_a_root_module_owns_no_table(self, tmp_path: Path) -> None:
        root = _tree(tmp_path, {"metrics.py": 'Q = "SELECT status FROM robot_runs"\n'})

        assert _named(checker.check(root)) == {("(root)", "robot_runs")}

    @pytest.mark.parametrize(
        "source",
        [
            '"""Reads FROM orders, as the docstring says."""\n',
            'def f():\n    """Counts rows FROM orders."""\n',
            'MESSAGE = "work taken from orders and tasks"\n',  # prose: lower-case keywords
            "# SELECT * FROM orders\n",
            'Q = "SELECT * FROM robot_runs JOIN tenants ON true"\n',  # its own, and shared
            'from sqlalchemy import ForeignKey\nfk = ForeignKey("tenants.id")\n',
            'Q = "SELECT * FROM procrastinate_jobs"\n',  # owned by no part
        ],
    )
    def test_passes_what_is_not_a_violation(self, tmp_path: Path, source: str) -> None:
        root = _tree(tmp_path, {"robot/repository.py": source})

        assert checker.check(root) == []
        assert checker.main(["check", str(root)]) == 0

    def test_the_shared_infrastructure_may_name_any_table(self, tmp_path: Path) -> None:
        root = _tree(tmp_path, {"db/migrations/v1.py": 'Q = "CREATE TABLE orders (id int)"\n'})

        assert checker.check(root) == []

    def test_the_real_tree_passes(self) -> None:
        root = REPO / "src" / "bettercallsold"
        owners = checker.table_owners(root)

        assert owners["automation_executions"] == "automation"
        assert owners["customers"] == "platform"
        assert [str(v) for v in checker.check(root)] == []
