"""`bcs migrate`: create the database if needed, apply Alembic migrations and the job schema.

Serialised by a PostgreSQL advisory lock, so `bcs serve` and several `bcs worker` processes
starting at once on a fresh database migrate it exactly once.

A process that starts while PostgreSQL is down (restarting after a crash, say) waits for it
here, with backoff and one log line per try, instead of exiting: a running process rides out an
outage, and one started a second before it must too (`wait_for_database`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from psycopg import sql
from sqlalchemy import create_engine, text
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from bettercallsold.db.url import database_name, libpq_url, sqlalchemy_url, with_database

logger = logging.getLogger(__name__)
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


def wait_for_database(url: str, seconds: float) -> None:
    """Return once the server answers (or its database is missing: `ensure_database` creates
    it); raise the last connection error after `seconds`."""

    def try_connect() -> None:
        try:
            with psycopg.connect(libpq_url(url), connect_timeout=5):
                return
        except psycopg.OperationalError as exc:
            if "does not exist" in str(exc):
                return
            raise

    def log_try(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.warning(
            "PostgreSQL is not answering (try %d): %s; waiting for it",
            state.attempt_number,
            str(error).strip().splitlines()[0] if error else "no answer",
        )

    retrying = Retrying(
        retry=retry_if_exception_type(psycopg.OperationalError),
        wait=wait_exponential(multiplier=0.5, max=5),
        stop=stop_after_delay(seconds),
        before_sleep=log_try,
        reraise=True,
    )
    retrying(try_connect)


def migrate(url: str, *, wait_seconds: float = 0) -> None:
    if wait_seconds > 0:
        wait_for_database(url, wait_seconds)
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
