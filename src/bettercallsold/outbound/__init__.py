"""Calls to URLs a tenant chose: the address guard and the one way to send such a request.

Webhook deliveries (the bus) and the `send_http_request` action (the receiver) both use it, so
it belongs to neither: it imports settings only, and any part may import it.
"""

from bettercallsold.outbound.errors import (
    CouldNotConnect,
    OutboundError,
    ResponseFailed,
    ResponseTimeout,
    UnresolvableHost,
    UrlRefused,
)
from bettercallsold.outbound.request import (
    DEFAULT_TIMEOUT,
    MAX_RESPONSE_BYTES,
    OutboundResponse,
    guarded_request,
    operator_request,
)
from bettercallsold.outbound.url_guard import (
    RESOLVER_KEY,
    AddressGuard,
    Resolver,
    Target,
    check_url,
    system_resolver,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_RESPONSE_BYTES",
    "RESOLVER_KEY",
    "AddressGuard",
    "CouldNotConnect",
    "OutboundError",
    "OutboundResponse",
    "Resolver",
    "ResponseFailed",
    "ResponseTimeout",
    "Target",
    "UnresolvableHost",
    "UrlRefused",
    "check_url",
    "guarded_request",
    "operator_request",
    "system_resolver",
]
