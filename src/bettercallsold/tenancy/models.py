"""Tenants and their API tokens (the only identity the platform knows)."""

from __future__ import annotations

import uuid

from sqlalchemy import String
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


__all__ = ["ApiToken", "Tenant", "uuid"]
