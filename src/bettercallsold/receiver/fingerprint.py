"""Fingerprints (pure): what "the same body" and "the same action" mean for idempotency.

The body is hashed in a canonical JSON form (sorted keys, no whitespace) of its parsed value,
so two serialisations of the same batch (key order, spacing, an omitted default) match, and any
change to what would be done (another execution, action, payload or step) does not.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def request_fingerprint(body: Any) -> str:
    """SHA-256 (hex, 64 characters) of the canonical JSON of `body`."""
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def action_key(execution_id: uuid.UUID, batch_key: str, position: int) -> str:
    """The key of one action of a keyed batch, signed into its platform call (SHA-256 hex, 64
    characters): the same execution, batch key and position is the same action, since a key
    reused with another body is refused before anything runs."""
    return hashlib.sha256(f"{execution_id}\n{batch_key}\n{position}".encode()).hexdigest()
