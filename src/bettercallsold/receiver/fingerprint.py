"""The fingerprint of a request body (pure): what "the same body" means for idempotency.

The body is hashed in a canonical JSON form (sorted keys, no whitespace) of its parsed value,
so two serialisations of the same batch (key order, spacing, an omitted default) match, and any
change to what would be done (another execution, action, payload or step) does not.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def request_fingerprint(body: Any) -> str:
    """SHA-256 (hex, 64 characters) of the canonical JSON of `body`."""
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()
