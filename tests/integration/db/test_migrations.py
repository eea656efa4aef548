"""`bcs migrate` from empty, on brand-new databases of the test server (not the shared one).

Checks that the migrations create every table the models declare (with the seed's automation
tables column for column) and procrastinate's schema, that migrating again changes nothing, that
several processes migrating one fresh database at once all succeed, and that the models and the
migrations agree (Alembic's autogenerate finds nothing to add).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from bettercallsold.db.migrate import alembic_config, ensure_database, migrate
from bettercallsold.db.registry import metadata
from bettercallsold.db.url import libpq_url, sqlalchemy_url, with_database

SEED_COLUMNS = {
    "automation_flows": {
        "id": "uuid",
        "name": "character varying",
        "trigger_event": "character varying",
        "flow_definition": "jsonb",
        "status": "character varying",
        "created_at": "timestamp with time zone",
        "updated_at": "timestamp with time zone",
    },
    "automation_executions": {
        "id": "uuid",
        "flow_id": "uuid",
        "status": "character varying",
        "trigger_data": "jsonb",
        "execution_results": "jsonb",
        "started_at": "timestamp with time zone",
        "completed_at": "timestamp with time zone",
        "error": "text",
    },
    "automation_event_log": {
        "id": "uuid",
        "flow_execution_id": "uuid",
        "action_type": "character varying",
        "payload": "jsonb",
        "result": "jsonb",
        "success": "boolean",
        "created_at": "timestamp with time zone",
    },
}


@pytest.fixture
def fresh_url(database_url: str) -> Iterator[str]:
    """The URL of a database that does not exist yet, on the test server; dropped afterwards."""
    name = f"bcs_migration_{uuid.uuid4().hex[:12]}"
    yield with_database(database_url, name)
    admin_url = libpq_url(with_database(database_url, "postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(url)) as connection:
        return connection.execute(query).fetchall()


def _tables(url: str) -> set[str]:
    return {
        name
        for (name,) in _rows(
            url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    }


def _columns(url: str, table: str) -> dict[str, str]:
    rows = _rows(
        url,
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = 'public' AND table_name = '{table}'",
    )
    return dict(rows)


def _schema_snapshot(url: str) -> tuple[list[tuple[Any, ...]], ...]:
    """Everything a migration could change: columns, indexes, constraints, functions, version."""
    return (
        _rows(
            url,
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
        ),
        _rows(
            url, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
        ),
        _rows(
            url,
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace ORDER BY 1",
        ),
        _rows(
            url,
            "SELECT proname, pg_get_function_identity_arguments(oid) FROM pg_proc "
            "WHERE pronamespace = 'public'::regnamespace ORDER BY 1, 2",
        ),
        _rows(url, "SELECT version_num FROM alembic_version"),
    )


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


class TestMigrateFromEmpty:
    def test_creates_the_database_and_every_table(self, fresh_url: str) -> None:
        migrate(fresh_url)
        tables = _tables(fresh_url)
        assert set(metadata.tables) <= tables
        assert {"alembic_version", "procrastinate_jobs"} <= tables
        assert _rows(fresh_url, "SELECT version_num FROM alembic_version") == [(_head(),)]

    def test_keeps_the_seeds_automation_tables(self, fresh_url: str) -> None:
        migrate(fresh_url)
        for table, expected in SEED_COLUMNS.items():
            columns = _columns(fresh_url, table)
            assert {name: columns.get(name) for name in expected} == expected, table

    def test_installs_the_job_engines_schema(self, fresh_url: str) -> None:
        migrate(fresh_url)
        functions = {name for (name,) in _rows(fresh_url, "SELECT proname FROM pg_proc")}
        # `jobs/deferral.py` calls this one inside the caller's transaction.
        assert "procrastinate_defer_jobs_v1" in functions
        assert "procrastinate_fetch_job_v2" in functions or any(
            name.startswith("procrastinate_fetch_job") for name in functions
        )


class TestMigrateAgain:
    def test_is_a_no_op(self, fresh_url: str) -> None:
        migrate(fresh_url)
        with psycopg.connect(libpq_url(fresh_url)) as connection:
            connection.execute("INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), 'kept')")
        before = _schema_snapshot(fresh_url)

        migrate(fresh_url)

        assert _schema_snapshot(fresh_url) == before
        assert _rows(fresh_url, "SELECT name FROM tenants") == [("kept",)]

    def test_processes_migrating_one_empty_database_at_once_all_succeed(
        self, fresh_url: str
    ) -> None:
        assert ensure_database(fresh_url)
        _migrate_at_once(fresh_url, processes=4)
        assert _rows(fresh_url, "SELECT version_num FROM alembic_version") == [(_head(),)]
        assert set(metadata.tables) <= _tables(fresh_url)

    def test_processes_creating_the_database_at_once_all_succeed(self, fresh_url: str) -> None:
        _migrate_at_once(fresh_url, processes=4)
        assert _rows(fresh_url, "SELECT version_num FROM alembic_version") == [(_head(),)]


def _migrate_at_once(url: str, processes: int) -> None:
    """`bcs serve` and several `bcs worker`s starting together on one database."""
    with ThreadPoolExecutor(max_workers=processes) as pool:
        for future in [pool.submit(migrate, url) for _ in range(processes)]:
            future.result()


def _ours(name: str | None, type_: str, parent_names: Any) -> bool:
    del parent_names
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


class TestModelsMatchMigrations:
    def test_autogenerate_finds_no_difference(self, fresh_url: str) -> None:
        migrate(fresh_url)
        engine = create_engine(sqlalchemy_url(fresh_url))
        try:
            with engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"compare_type": True, "include_name": _ours}
                )
                differences = compare_metadata(context, metadata)
        finally:
            engine.dispose()
        # Each entry is an operation a new migration would need, e.g. ('add_table', Table(...)).
        assert differences == [], "\n".join(str(difference) for difference in differences)
