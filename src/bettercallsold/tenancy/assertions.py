"""Service assertions: how the event receiver (and the UI) call the APIs *as* a tenant.

The receiver never holds a tenant's API token (they are stored hashed). Instead it signs a
short-lived assertion with the deployment's secret key, which the API verifies. The automation
plugin holds only its own credential for the receiver, so it can never reach the platform APIs
of a tenant directly. The signature is itsdangerous's HMAC, not ours.

An assertion is bound to its one use, so a leaked one (a log, a proxy, a crash dump) is worth
little: it names its audience (the tenant-facing APIs), the HTTP method and path it was signed
for, a unique id (`jti`) that the verifier spends on first use (`tenancy/auth.py`), and an
expiry 60 s after signing. A caller signs a fresh assertion for every HTTP call, retries
included (`assertion_signer`).

Everything here is pure: no clock (pass `now`), no database.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import TypeAdapter, ValidationError

from bettercallsold.types import JSON, Causation, TenantContext, utcnow

ASSERTION_PREFIX = "svc."
PLATFORM_API = "bcs:platform-api"
"""The audience of the assertions `tenancy/auth.py` accepts: the APIs that take a tenant's
credential (platform resources, the plugin's flows, the bus's subscriptions)."""
LIFETIME = timedelta(seconds=60)
CLOCK_SKEW = timedelta(seconds=5)
"""How far ahead of the verifier's clock a signer's may run (a remote platform): an expiry
beyond `now + LIFETIME + CLOCK_SKEW` is refused, so a spent id is never purged while its
assertion could still be used (`tenancy/repository.py` keeps spent ids past their expiry)."""
_SALT = "bcs-service-assertion-v2"  # v1 (300 s, unbound) tokens no longer verify
_causation = TypeAdapter(Causation)

Signer = Callable[[str, str], str]
"""`(method, path) -> bearer credential`: a fresh assertion for each HTTP call."""


class AssertionRefused(Exception):
    """Why a service assertion does not authenticate this request (safe to show: it names
    no secret and no claim value)."""


@dataclass(frozen=True, slots=True)
class Assertion:
    """A verified assertion's claims."""

    context: TenantContext
    audience: str
    method: str
    path: str
    jti: uuid.UUID
    expires_at: datetime


def sign_assertion(
    secret_key: str,
    context: TenantContext,
    *,
    method: str,
    path: str,
    audience: str = PLATFORM_API,
    now: datetime | None = None,
) -> str:
    """An assertion for one `method` + `path` call (the path without query, percent-decoded,
    as the server routes it), usable once within `LIFETIME` of `now`."""
    expires_at = (now or utcnow()) + LIFETIME
    payload = _claims(context, audience, method, path, uuid.uuid4(), expires_at)
    return ASSERTION_PREFIX + _serializer(secret_key).dumps(payload)


def assertion_signer(secret_key: str, context: TenantContext) -> Signer:
    """Signs `context` anew for each call: a retried call must not reuse a spent assertion."""

    def sign(method: str, path: str) -> str:
        return sign_assertion(secret_key, context, method=method, path=path)

    return sign


def _claims(
    context: TenantContext,
    audience: str,
    method: str,
    path: str,
    jti: uuid.UUID,
    expires_at: datetime,
) -> JSON:
    """The one place an assertion's payload is built. The causation travels whole as
    `Causation.as_json()` and is read back by pydantic into `Causation`, so a field added
    there (with its `as_json` key) is carried without a change here."""
    return {
        "aud": audience,
        "htm": method.upper(),
        "htp": path,
        "jti": str(jti),
        "exp": math.ceil(expires_at.timestamp()),
        "t": str(context.tenant_id),
        "c": context.causation.as_json(),
        "k": context.action_key,
    }


def read_assertion(secret_key: str, token: str) -> Assertion:
    """The claims of a genuine assertion, not yet checked against a request or the clock.

    Raises `AssertionRefused` when it is forged, malformed or not an assertion.
    """
    if not token.startswith(ASSERTION_PREFIX):
        raise AssertionRefused("not a service assertion")
    try:
        payload: Any = _serializer(secret_key).loads(token[len(ASSERTION_PREFIX) :])
        key = payload.get("k")
        return Assertion(
            context=TenantContext(
                tenant_id=uuid.UUID(payload["t"]),
                causation=_causation.validate_python(payload["c"]),
                action_key=str(key) if key is not None else None,
            ),
            audience=str(payload["aud"]),
            method=str(payload["htm"]),
            path=str(payload["htp"]),
            jti=uuid.UUID(payload["jti"]),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        )
    except (BadSignature, ValidationError, KeyError, ValueError, TypeError, AttributeError):
        raise AssertionRefused("invalid service assertion") from None


def verify_assertion(
    secret_key: str,
    token: str,
    *,
    method: str,
    path: str,
    now: datetime,
    audience: str = PLATFORM_API,
) -> Assertion:
    """The assertion, when it is genuine, for this audience, method and path, and unexpired.

    Raises `AssertionRefused` naming what is wrong. Single use is the caller's part: it must
    spend `jti` (until `expires_at`) before granting anything.
    """
    found = read_assertion(secret_key, token)
    if found.audience != audience:
        raise AssertionRefused("service assertion for another audience")
    if found.method != method.upper() or found.path != path:
        raise AssertionRefused("service assertion for another request")
    if found.expires_at <= now:
        raise AssertionRefused("service assertion expired")
    if found.expires_at > now + LIFETIME + CLOCK_SKEW:
        raise AssertionRefused("service assertion lives too long")
    return found


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_SALT)
