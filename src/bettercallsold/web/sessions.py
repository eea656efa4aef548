"""Server-side sessions of the UI: the only SQL of the web package, on its own table.

The cookie carries 256 random bits; the table keeps their SHA-256, the tenant and the
session's CSRF token. A session ends on logout, after `IDLE_TIMEOUT` without a request, or
`MAX_LIFETIME` after login, whichever comes first.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from bettercallsold.runtime import Runtime
from bettercallsold.web.models import WebSession

IDLE_TIMEOUT = timedelta(hours=12)
MAX_LIFETIME = timedelta(days=7)
_TOUCH_EVERY = timedelta(minutes=5)
"""Sliding expiry is written at most this often, so a page view is not a write."""


@dataclass(frozen=True)
class ActiveSession:
    tenant_id: uuid.UUID
    csrf_token: str


@dataclass(frozen=True)
class IssuedSession:
    cookie_value: str
    csrf_token: str


def _hash(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode()).hexdigest()


def _expiry(created_at: datetime, now: datetime) -> datetime:
    return min(created_at + MAX_LIFETIME, now + IDLE_TIMEOUT)


async def open_session(runtime: Runtime, tenant_id: uuid.UUID, now: datetime) -> IssuedSession:
    """A new session for the tenant; expired sessions of every tenant are purged on the way."""
    cookie_value = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(delete(WebSession).where(WebSession.expires_at < now))
        session.add(
            WebSession(
                id_hash=_hash(cookie_value),
                tenant_id=tenant_id,
                csrf_token=csrf_token,
                created_at=now,
                last_seen_at=now,
                expires_at=_expiry(now, now),
            )
        )
    return IssuedSession(cookie_value=cookie_value, csrf_token=csrf_token)


async def find_session(runtime: Runtime, cookie_value: str, now: datetime) -> ActiveSession | None:
    """The live session the cookie names, its expiry slid forward; None when unknown/expired."""
    if not cookie_value:
        return None
    async with runtime.sessionmaker() as session, session.begin():
        found = await session.scalar(
            select(WebSession).where(
                WebSession.id_hash == _hash(cookie_value), WebSession.expires_at > now
            )
        )
        if found is None:
            return None
        if now - found.last_seen_at >= _TOUCH_EVERY:
            found.last_seen_at = now
            found.expires_at = _expiry(found.created_at, now)
        return ActiveSession(tenant_id=found.tenant_id, csrf_token=found.csrf_token)


async def close_session(runtime: Runtime, cookie_value: str) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(delete(WebSession).where(WebSession.id_hash == _hash(cookie_value)))
