"""One HTTP request to a URL a tenant gave us: guarded, pinned, bounded, with safe errors.

Webhook deliveries and the `send_http_request` action both call `guarded_request`, which

- checks the URL against the address rules right before the call and resolves the name once;
- connects to the address it checked, never to a second DNS answer (`url_guard.pin`): the URL
  names the address, `Host` keeps the name, and for `https://` TLS announces (SNI) and verifies
  the certificate for the name;
- never follows a redirect, bounds the whole exchange (DNS included) by `time_limit` seconds,
  and reads at most `max_body` bytes of the answer;
- turns every failure into an `OutboundError` whose message the tenant may see. Whatever stops
  the connection (refused, filtered, unreachable, TLS) reads "could not connect", so a tenant
  cannot use us as a port scanner; the cause goes to the server log, with host, address and
  port only (a URL's query may hold the tenant's token).

A pinned `https://` request asks for `Connection: close`. httpcore pools connections by the
URL's host, here the address: a kept-alive connection, verified for one name, would otherwise
be reused for another name pinned to the same address, skipping that name's certificate check.

After the connection is made, a timeout still reads "timed out after N s" and a broken exchange
"no valid HTTP response": those only ever say the port is open, which any HTTP answer says too.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bettercallsold.outbound.errors import (
    CouldNotConnect,
    OutboundError,
    ResponseFailed,
    ResponseTimeout,
    UnresolvableHost,
    UrlRefused,
)
from bettercallsold.outbound.url_guard import AddressGuard, Target, pin

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
"""Seconds for the whole exchange: the contract's timeout for `send_http_request`."""
MAX_RESPONSE_BYTES = 1024 * 1024
"""The contract's cap on a `send_http_request` answer (1 MiB)."""


@dataclass(frozen=True, slots=True)
class OutboundResponse:
    """The answer: its status and headers, and its body cut at `max_body` bytes."""

    status_code: int
    headers: httpx.Headers
    body: bytes
    truncated: bool
    """True when the answer was longer than `max_body` (the rest was not read)."""


async def guarded_request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    guard: AddressGuard,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    time_limit: float = DEFAULT_TIMEOUT,
    max_body: int = MAX_RESPONSE_BYTES,
) -> OutboundResponse:
    """Send one request to a tenant-given `url` once `guard` allows it; any status is returned.

    Raises an `OutboundError` when no HTTP answer came (`UrlRefused`: nothing was sent).
    `client` is the process's shared client; its own redirect setting is overridden.
    """
    return await _bounded(
        client, method, url, lambda: guard.check(url), headers, content, time_limit, max_body
    )


async def operator_request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    time_limit: float = DEFAULT_TIMEOUT,
    max_body: int = MAX_RESPONSE_BYTES,
) -> OutboundResponse:
    """`guarded_request` without the guard, for a URL the operator configured (the in-process
    plugin's `http://bcs.internal`): no tenant chose it, so the tenant rules do not apply."""

    async def as_configured() -> Target:
        return Target(url)

    return await _bounded(
        client, method, url, as_configured, headers, content, time_limit, max_body
    )


class _Phase(enum.Enum):
    CHECKING = "checking the URL"
    WAITING = "waiting for a connection"
    CONNECTING = "connecting"
    CONNECTED = "connected"


class _Progress:
    """How far the request got, from httpcore's `trace` events: a failure before the request
    was sent is a failure to connect, whichever error or timeout reported it."""

    def __init__(self, url: str) -> None:
        self.phase = _Phase.CHECKING
        self.traced = False
        self.host, self.port = _host_and_port(url)
        self.address = ""

    async def trace(self, event: str, info: Mapping[str, Any]) -> None:
        del info
        self.traced = True
        if event.endswith(".connect_tcp.started") and self.phase is _Phase.WAITING:
            self.phase = _Phase.CONNECTING
        elif event.endswith(".send_request_headers.started"):
            self.phase = _Phase.CONNECTED  # a new connection, or a kept-alive one

    def timed_out(self, timeout: float) -> OutboundError:
        if self.phase is _Phase.CHECKING:
            return UnresolvableHost(f"{self.host} did not resolve in time")
        if self.phase is _Phase.CONNECTING:
            return self._could_not_connect(f"no connection within {timeout:g} s")
        self._log("timed out", f"after {timeout:g} s, {self.phase.value}")
        return ResponseTimeout(timeout)

    def failed(self, exc: httpx.HTTPError, timeout: float) -> OutboundError:
        cause = f"{type(exc).__name__}: {exc}".rstrip(": ")
        if isinstance(exc, httpx.PoolTimeout):
            # Our own pool was full: says nothing about the target.
            return self.timed_out(timeout)
        connected = self.phase is _Phase.CONNECTED
        if not self.traced:
            # A transport without httpcore (the in-process ASGI app, a test's MockTransport)
            # reports no phases: judge by the error alone.
            connected = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
        if not connected and isinstance(exc, httpx.TransportError):
            return self._could_not_connect(cause)
        if isinstance(exc, httpx.TimeoutException):
            self._log("timed out", cause)
            return ResponseTimeout(timeout)
        self._log("no valid HTTP response", cause)
        return ResponseFailed(self.host, self.port, cause)

    def _could_not_connect(self, cause: str) -> CouldNotConnect:
        self._log("could not connect", cause)
        return CouldNotConnect(self.host, self.port, cause)

    def _log(self, what: str, cause: str) -> None:
        logger.info(
            "outbound request to %s (%s) port %d: %s: %s",
            self.host,
            self.address or "by name",
            self.port,
            what,
            cause,
        )


async def _bounded(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    check: Callable[[], Awaitable[Target]],
    headers: Mapping[str, str] | None,
    content: bytes | None,
    time_limit: float,
    max_body: int,
) -> OutboundResponse:
    progress = _Progress(url)
    try:
        # httpx's timeout bounds each phase; this one the whole exchange, DNS included (a
        # server trickling bytes, or the in-process ASGI transport, has no other bound).
        async with asyncio.timeout(time_limit):
            target = await check()
            progress.address = "" if target.address is None else str(target.address)
            progress.phase = _Phase.WAITING
            return await _exchange(
                client, method, target, headers, content, time_limit, max_body, progress
            )
    except TimeoutError as exc:
        raise progress.timed_out(time_limit) from exc


async def _exchange(
    client: httpx.AsyncClient,
    method: str,
    target: Target,
    headers: Mapping[str, str] | None,
    content: bytes | None,
    time_limit: float,
    max_body: int,
    progress: _Progress,
) -> OutboundResponse:
    try:
        pinned = pin(target)
    except httpx.InvalidURL as exc:
        raise UrlRefused(f"not a valid URL ({exc})") from exc
    sent = httpx.Headers(headers)
    # A compressed answer would be inflated chunk by chunk past `max_body` before the cap.
    sent.setdefault("accept-encoding", "identity")
    if pinned.host_header is not None:
        sent["host"] = pinned.host_header
    extensions: dict[str, Any] = {"trace": progress.trace}
    if pinned.sni_hostname is not None:
        extensions["sni_hostname"] = pinned.sni_hostname
    if target.address is not None and pinned.url.startswith("https:"):
        sent["connection"] = "close"  # see the module docstring: no reuse across names
    try:
        async with client.stream(
            method,
            pinned.url,
            headers=sent,
            content=content,
            timeout=time_limit,
            follow_redirects=False,
            extensions=extensions,
        ) as response:
            body, truncated = await _read_capped(response, max_body)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise UrlRefused(f"not a valid URL ({exc})") from exc
    except httpx.HTTPError as exc:
        raise progress.failed(exc, time_limit) from exc
    return OutboundResponse(response.status_code, response.headers, body, truncated)


async def _read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    received = bytearray()
    async for chunk in response.aiter_bytes():
        received += chunk
        if len(received) > limit:
            # The rest is not ours to store; leaving the block drops the connection.
            return bytes(received[:limit]), True
    return bytes(received), False


def _host_and_port(url: str) -> tuple[str, int]:
    """For messages only: the guard refuses the URLs httpx cannot parse before any is shown."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "", 0
    return parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)
