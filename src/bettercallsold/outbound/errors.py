"""Why an outbound request got no answer; every message is safe to show the tenant.

```
OutboundError            no HTTP answer; str() is shown to the tenant as is
├── UrlRefused           the guard refused the URL: nothing was sent (never worth a retry)
├── UnresolvableHost     the name has no address now (a retry may find one)
├── CouldNotConnect      no connection: refused, filtered, unreachable or no trusted TLS session
├── ResponseTimeout      connected (or queued for a connection), but no whole answer in time
└── ResponseFailed       connected, but the exchange broke (reset, not HTTP, bad encoding)
```

`CouldNotConnect` reads the same whatever happened, on purpose: "refused" against "timed out"
against "unreachable" is exactly what a port scanner wants to learn, and a tenant could scan
through us. The cause is kept in `cause` for the server log only.
"""

from __future__ import annotations


class OutboundError(Exception):
    """The request got no HTTP answer; the message says why, in words fit for the tenant."""


class UrlRefused(OutboundError):
    """The URL may not be called; the message says why (shown to the tenant)."""


class UnresolvableHost(OutboundError):
    """The hostname has no address (now): refused when saving, retried when delivering."""


class CouldNotConnect(OutboundError):
    """No connection to the checked address, for a reason deliberately not told apart."""

    def __init__(self, host: str, port: int, cause: str) -> None:
        super().__init__(f"could not connect to {_netloc(host, port)}")
        self.cause = cause
        """What really happened (refused, timed out, TLS...): for the server log only."""


class ResponseTimeout(OutboundError):
    """No whole answer within the time allowed, after the connection was made."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"timed out after {timeout:g} s")


class ResponseFailed(OutboundError):
    """The connection was made but the exchange broke before a whole HTTP answer."""

    def __init__(self, host: str, port: int, cause: str) -> None:
        super().__init__(f"no valid HTTP response from {_netloc(host, port)}")
        self.cause = cause
        """The transport's own words (reset, protocol error): for the server log only."""


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
