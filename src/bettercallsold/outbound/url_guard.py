"""Which URLs a tenant may make us call (SSRF protection), with the DNS resolver injected.

A tenant must not make our servers call into our own network: loopback, private (RFC 1918,
unique-local), link-local, shared (CGNAT), unspecified, multicast, reserved, documentation
ranges and cloud metadata endpoints are refused, and so is a hostname with any such address
among its A/AAAA records. IPv6 forms that embed an IPv4 address (mapped, NAT64, 6to4, Teredo)
are judged by that IPv4 address.

The check runs when a subscription is saved and again right before every request, because DNS
answers change (rebinding). The name is resolved once, here: the request then connects to the
very address that was checked (`pin`: the URL names the address, the `Host` header keeps the
name and, for `https://`, so do TLS's server name and the certificate check), so no second
lookup can swap it for an internal one between the check and the connect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from bettercallsold.outbound.errors import UnresolvableHost, UrlRefused
from bettercallsold.settings import INPROCESS_BASE_URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Resolver(Protocol):
    async def __call__(self, host: str, port: int) -> Sequence[str]:
        """Every address (A and AAAA) the name resolves to, the preferred one first."""
        ...


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """`getaddrinfo`'s answers in its order (RFC 6724: an address family this machine can
    reach comes first), since the request connects to the first one only."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHost(f"{host} does not resolve: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


@dataclass(frozen=True, slots=True)
class ParsedUrl:
    scheme: str
    host: str
    port: int
    url: str


@dataclass(frozen=True, slots=True)
class Target:
    """A URL that passed the guard, and the address it was checked for.

    `address` None means "connect by name": only for URLs the operator configured, which the
    tenant policy does not cover (the in-process plugin's `http://bcs.internal`).
    """

    url: str
    address: IPAddress | None = None


@dataclass(frozen=True, slots=True)
class Pinned:
    """How to send a request to a `Target` so that it reaches `Target.address` and only it."""

    url: str
    """The URL with its host replaced by the checked address (unchanged when not pinned)."""
    host_header: str | None = None
    """The URL's own `host[:port]`, for the `Host` header, when the URL was rewritten."""
    sni_hostname: str | None = None
    """For `https://` by name: the name TLS announces (SNI) and verifies the certificate for."""


def parse_url(url: str) -> ParsedUrl:
    """Check the URL's shape: http(s), a host, no credentials."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("the URL must start with http:// or https://")
    if not parts.hostname:
        raise UrlRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("the URL may not carry credentials")
    if any(character.isspace() for character in url):
        raise UrlRefused("the URL may not contain spaces")
    # "localhost." and "127.0.0.1." are localhost and 127.0.0.1: judge the name without the dot.
    host = parts.hostname.rstrip(".").lower()
    if host == urlsplit(INPROCESS_BASE_URL).hostname:
        # The shared HTTP client routes this name into the app itself: never a tenant's target.
        raise UrlRefused("this host name is reserved")
    default_port = 443 if parts.scheme == "https" else 80
    return ParsedUrl(parts.scheme, host, port or default_port, url)


_LOCAL_ONLY_SUFFIXES = ("localhost", "local", "internal", "localdomain", "home.arpa")
"""Special-use names (RFC 6761 `localhost`, mDNS `.local`, ICANN's private-use `.internal`
where `metadata.google.internal` lives, `home.arpa`): they only ever name machines on the
local network, so they are refused by name, even before they resolve (a name that does not
resolve yet is otherwise accepted and re-checked before every attempt)."""


def _local_only_name(host: str) -> bool:
    return any(host == suffix or host.endswith("." + suffix) for suffix in _LOCAL_ONLY_SUFFIXES)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def forbidden_reason(address: IPAddress) -> str | None:
    """Why this address may not be called, or None when it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return forbidden_reason(embedded)
    if address in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    for reason, flagged in (
        ("a loopback address", address.is_loopback),
        ("an unspecified address", address.is_unspecified),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a private address", address.is_private),
        ("a reserved address", address.is_reserved),
    ):
        if flagged:
            return reason
    if not address.is_global:
        return "not a public address"
    return None


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def pin(target: Target) -> Pinned:
    """Rewrite `target` to connect to its checked address, keeping its name for HTTP and TLS.

    A URL that names an address already (or an operator URL, not pinned) is sent as it is.
    Raises `httpx.InvalidURL` for a URL httpx cannot encode (an invalid international name).
    """
    url = httpx.URL(target.url)
    if target.address is None or _literal_address(url.host) is not None:
        return Pinned(target.url)
    # httpx's own forms: the name IDNA-encoded, a default port left out, IPv6 in brackets.
    name = url.raw_host.decode("ascii")
    return Pinned(
        str(url.copy_with(host=str(target.address))),
        host_header=url.netloc.decode("ascii"),
        sni_hostname=name if url.scheme == "https" else None,
    )


async def check_url(
    url: str, *, allow_private: bool, resolver: Resolver, resolve_timeout: float = 5.0
) -> Target:
    """Refuse (UrlRefused) or return the URL with the address to connect to.

    UnresolvableHost when DNS has nothing. A name is resolved exactly once, here, even with
    `allow_private` (the operator's `BCS_WEBHOOK_ALLOW_PRIVATE_URLS`), which only skips the
    address rules: the request then connects to that answer, so nothing downstream resolves it
    again. It connects to the resolver's first answer (all of them must pass the rules).
    """
    parsed = parse_url(url)
    literal = _literal_address(parsed.host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    elif not allow_private and _local_only_name(parsed.host):
        raise UrlRefused(f"{parsed.host} is a local network name, which webhooks may not call")
    else:
        addresses = await _resolve(parsed, resolver, resolve_timeout)
    if not allow_private:
        for address in addresses:
            reason = forbidden_reason(address)
            if reason is None:
                continue
            if literal is not None:
                raise UrlRefused(f"{parsed.host} is {reason}, which webhooks may not call")
            raise UrlRefused(
                f"{parsed.host} resolves to {address}, {reason}, which webhooks may not call"
            )
    return Target(parsed.url, addresses[0])


async def _resolve(parsed: ParsedUrl, resolver: Resolver, limit: float) -> list[IPAddress]:
    try:
        async with asyncio.timeout(limit):
            answers = await resolver(parsed.host, parsed.port)
    except TimeoutError as exc:
        raise UnresolvableHost(f"{parsed.host} did not resolve in time") from exc
    try:
        addresses = [ipaddress.ip_address(answer) for answer in answers]
    except ValueError as exc:
        raise UnresolvableHost(f"{parsed.host} resolved to {exc}") from exc
    if not addresses:
        raise UnresolvableHost(f"{parsed.host} does not resolve")
    return addresses


RESOLVER_KEY = "outbound.resolver"
"""`Runtime.extras` key of a `Resolver` replacing the system's (a fake DNS in tests)."""


@dataclass(frozen=True, slots=True)
class AddressGuard:
    """The operator's URL rule and the resolver to apply it: what every tenant-given URL is
    checked against right before it is called."""

    allow_private: bool
    resolver: Resolver = system_resolver
    resolve_timeout: float = 5.0

    async def check(self, url: str) -> Target:
        """`check_url` under this rule."""
        return await check_url(
            url,
            allow_private=self.allow_private,
            resolver=self.resolver,
            resolve_timeout=self.resolve_timeout,
        )
