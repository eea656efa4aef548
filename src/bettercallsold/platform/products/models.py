from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Index, Integer, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from bettercallsold.db.base import Base
from bettercallsold.db.columns import CreatedAt, TenantForeignKey, UpdatedAt, UUIDPrimaryKey


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_tenant_created", "tenant_id", "created_at", "id"),
        Index(
            "uq_products_tenant_sku",
            "tenant_id",
            "sku",
            unique=True,
            postgresql_where=text("sku IS NOT NULL"),
        ),
    )

    id: Mapped[UUIDPrimaryKey]
    tenant_id: Mapped[TenantForeignKey]
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    sku: Mapped[str | None] = mapped_column(String(100))
    inventory: Mapped[int | None] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
