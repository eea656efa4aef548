"""Tenants and their API tokens (the only identity the platform knows)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from bettercallsold.db.base import Base
from bettercallsold.db.columns import CreatedAt, TenantForeignKey, UUIDPrimaryKey


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[UUIDPrimaryKey]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[CreatedAt]


class ApiToken(Base):
    """A tenant's bearer token, stored as its SHA-256 only (tokens carry 256 bits of entropy,
    so a fast hash is safe, as GitHub and Stripe do for their tokens)."""

    __tablename__ = "api_tokens"

    id: Mapped[UUIDPrimaryKey]
    tenant_id: Mapped[TenantForeignKey]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100), default="default")
    created_at: Mapped[CreatedAt]


class AssertionUse(Base):
    """A service assertion already used, by its id, kept until it expires: a second use of
    the same assertion is refused (`tenancy/auth.py`). The purge deletes by `expires_at`."""

    __tablename__ = "assertion_uses"

    jti: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


__all__ = ["ApiToken", "AssertionUse", "Tenant", "uuid"]
