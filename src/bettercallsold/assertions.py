"""Service assertions: how the event receiver calls the platform *as* an execution's tenant.

The receiver never holds a tenant's API token (they are stored hashed). Instead it signs a
short-lived assertion `{tenant, execution, depth, action key}` with the deployment's secret
key, which the platform verifies. The automation plugin holds only its own credential for the
receiver, so it can never reach the platform APIs of a tenant directly. The signature is
itsdangerous's timed HMAC, not ours.
"""

from __future__ import annotations

import uuid

from itsdangerous import BadSignature, URLSafeTimedSerializer

from bettercallsold.types import Causation, TenantContext

ASSERTION_PREFIX = "svc."
_SALT = "bcs-platform-service-assertion"
MAX_AGE_SECONDS = 300


def sign_assertion(secret_key: str, context: TenantContext) -> str:
    serializer = URLSafeTimedSerializer(secret_key, salt=_SALT)
    payload = {
        "t": str(context.tenant_id),
        "e": str(context.causation.flow_execution_id)
        if context.causation.flow_execution_id
        else None,
        "d": context.causation.depth,
    }
    if context.action_key is not None:
        payload["k"] = context.action_key
    return ASSERTION_PREFIX + serializer.dumps(payload)


def verify_assertion(secret_key: str, token: str) -> TenantContext | None:
    """The context an assertion grants, or None when it is forged, expired or malformed."""
    if not token.startswith(ASSERTION_PREFIX):
        return None
    serializer = URLSafeTimedSerializer(secret_key, salt=_SALT)
    try:
        payload = serializer.loads(token[len(ASSERTION_PREFIX) :], max_age=MAX_AGE_SECONDS)
        execution = payload.get("e")
        return TenantContext(
            tenant_id=uuid.UUID(payload["t"]),
            causation=Causation(
                flow_execution_id=uuid.UUID(execution) if execution else None,
                depth=int(payload["d"]),
            ),
            action_key=str(payload["k"]) if payload.get("k") is not None else None,
        )
    except (BadSignature, KeyError, ValueError, TypeError, AttributeError):
        return None
