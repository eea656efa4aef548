"""`tenancy/tokens.py`: API tokens are random, prefixed, and stored only as their SHA-256.

(The module moved from `platform/` to `tenancy/`; this test belongs in `tests/unit/tenancy/`.)
"""

from __future__ import annotations

import re

from bettercallsold.tenancy.tokens import TOKEN_PREFIX, hash_token, new_token


class TestNewToken:
    def test_carries_the_public_prefix_and_256_random_bits(self) -> None:
        token = new_token()
        assert token.startswith(TOKEN_PREFIX)
        assert TOKEN_PREFIX == "bcs_"
        # 32 random bytes in unpadded URL-safe base64: 43 characters.
        assert re.fullmatch(r"bcs_[A-Za-z0-9_-]{43}", token)

    def test_is_never_repeated(self) -> None:
        assert len({new_token() for _ in range(1000)}) == 1000


class TestHashToken:
    def test_is_the_hex_sha256_of_the_token(self) -> None:
        # A published SHA-256 test vector (FIPS 180-2, "abc").
        assert hash_token("abc") == (
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )

    def test_is_stable_and_distinguishes_tokens(self) -> None:
        token = new_token()
        assert hash_token(token) == hash_token(token)
        assert hash_token(token) != hash_token(token + "x")
        assert token not in hash_token(token)
