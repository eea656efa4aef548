"""`bcs migrate`: create the database if needed, apply Alembic migrations and the job schema.

Serialised by a PostgreSQL advisory lock, so `bcs serve` and several `bcs worker` processes
starting at once on a fresh database migrate it exactly once.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from psycopg import sql
from sqlalchemy import create_engine, text

from bettercallsold.db.url import database_name, libpq_url, sqlalchemy_url, with_database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x6263735F6D6967  # "bcs_mig"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def ensure_database(url: str) -> bool:
    """Create the URL's database when it is missing; True when created."""
    name = database_name(url)
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=10):
            return False
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    with psycopg.connect(
        libpq_url(with_database(url, "postgres")), autocommit=True, connect_timeout=10
    ) as admin:
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            # Another process created it between our check and our CREATE.
            return False
    return True


def procrastinate_schema_sql() -> str:
    from procrastinate.schema import SchemaManager

    return SchemaManager.get_schema()


def migrate(url: str) -> None:
    ensure_database(url)
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            has_jobs = connection.scalar(text("SELECT to_regclass('procrastinate_jobs')"))
            if has_jobs is None:
                # Through the raw cursor without parameters: the schema contains literal '%'.
                cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                cursor.execute(procrastinate_schema_sql())
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
