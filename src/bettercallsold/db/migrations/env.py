"""Alembic environment: always run by `bettercallsold.db.migrate` with a connection given."""

from __future__ import annotations

from alembic import context

from bettercallsold.db.registry import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
