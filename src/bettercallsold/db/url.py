"""Which PostgreSQL to use, and the URL spellings each library wants for it."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from bettercallsold.settings import Settings


def resolve_database_url(settings: Settings) -> str:
    """The libpq URL of the database: `BCS_DATABASE_URL` as written, or the embedded server."""
    if settings.database_url:
        return settings.database_url
    from bettercallsold.db.embedded import embedded_server_url

    return embedded_server_url(settings.var_dir, "bcs")


def sqlalchemy_url(libpq_url: str) -> str:
    """`postgresql://...` → `postgresql+psycopg://...` (SQLAlchemy's psycopg 3 dialect)."""
    parts = urlsplit(libpq_url)
    scheme = "postgresql+psycopg"
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def libpq_url(url: str) -> str:
    """Strip a SQLAlchemy driver suffix so psycopg can use the URL directly."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "postgres":
        scheme = "postgresql"
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def with_database(url: str, database: str) -> str:
    """The same server, another database name."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"
