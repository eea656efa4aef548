"""Storage: PostgreSQL everywhere (embedded by default), SQLAlchemy 2 async, Alembic."""
