"""API token minting and hashing (pure)."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "bcs_"  # noqa: S105 (a public prefix, not a secret)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
