"""`guarded_request` against real servers on loopback: pinned to the checked address, TLS for
the name, and one "could not connect" for every way a connection fails.

Private targets are allowed here (the servers listen on 127.0.0.1), as the operator may; the
names are resolved by an injected resolver only, so a second lookup would be seen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import trustme

from bettercallsold.outbound import (
    AddressGuard,
    CouldNotConnect,
    ResponseFailed,
    ResponseTimeout,
    UrlRefused,
    guarded_request,
)
from tests.integration.outbound.servers import (
    HOOKS_NAME,
    CountingResolver,
    Server,
    client_tls,
    free_port,
    server_tls,
    unanswered_port,
)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def client(ca: trustme.CA) -> AsyncIterator[httpx.AsyncClient]:
    """Like the process's shared client, trusting the test CA instead of the public ones."""
    async with httpx.AsyncClient(verify=client_tls(ca), trust_env=False) as http:
        yield http


def loopback(*answers: list[str]) -> AddressGuard:
    resolver = CountingResolver({HOOKS_NAME: list(answers) or [["127.0.0.1"]]})
    return AddressGuard(allow_private=True, resolver=resolver)


def lookups(guard: AddressGuard) -> list[str]:
    assert isinstance(guard.resolver, CountingResolver)
    return guard.resolver.lookups


class TestPinning:
    async def test_https_reaches_the_checked_address_with_the_name_for_tls_and_host(
        self, ca: trustme.CA, client: httpx.AsyncClient
    ) -> None:
        guard = loopback()
        async with Server(tls=server_tls(ca, HOOKS_NAME), body=b'{"ok": true}') as server:
            response = await guarded_request(
                client,
                "POST",
                f"https://{HOOKS_NAME}:{server.port}/in?x=1",
                guard=guard,
                headers={"content-type": "application/json"},
                content=b"{}",
            )

        assert response.status_code == 200
        assert response.body == b'{"ok": true}'
        assert server.server_names == [HOOKS_NAME]
        [seen] = server.requests
        assert (seen.method, seen.target, seen.body) == ("POST", "/in?x=1", b"{}")
        assert seen.headers["host"] == f"{HOOKS_NAME}:{server.port}"
        # No kept-alive connection, keyed by the address, is left for another name to reuse.
        assert seen.headers["connection"] == "close"
        assert lookups(guard) == [HOOKS_NAME]

    async def test_a_certificate_for_another_name_is_refused(
        self, ca: trustme.CA, client: httpx.AsyncClient
    ) -> None:
        """Pinning must not weaken TLS: the address is ours to choose, the identity is not."""
        async with Server(tls=server_tls(ca, "other.example.test")) as server:
            with pytest.raises(CouldNotConnect) as refused:
                await guarded_request(
                    client, "GET", f"https://{HOOKS_NAME}:{server.port}/", guard=loopback()
                )

        assert str(refused.value) == f"could not connect to {HOOKS_NAME}:{server.port}"
        assert "CERTIFICATE_VERIFY_FAILED" in refused.value.cause
        assert server.requests == []

    @pytest.mark.parametrize("scheme", ["http", "https"])
    async def test_a_name_rebound_after_the_check_is_not_followed(
        self, scheme: str, ca: trustme.CA, client: httpx.AsyncClient
    ) -> None:
        """The resolver answers 127.0.0.1 to the check and 127.0.0.2 to any later lookup; a
        server listens on each, same port. The request reaches the checked one: the name is
        looked up once (by the guard; httpx would not even know it, being a `.test` name)."""
        port = free_port()
        guard = loopback(["127.0.0.1"], ["127.0.0.2"])
        checked_tls = server_tls(ca, HOOKS_NAME) if scheme == "https" else None
        rebound_tls = server_tls(ca, HOOKS_NAME) if scheme == "https" else None
        async with (
            Server("127.0.0.1", port, tls=checked_tls) as checked,
            Server("127.0.0.2", port, tls=rebound_tls) as rebound,
        ):
            response = await guarded_request(
                client, "GET", f"{scheme}://{HOOKS_NAME}:{port}/", guard=guard
            )

        assert response.status_code == 200
        assert len(checked.requests) == 1
        assert rebound.requests == []
        assert lookups(guard) == [HOOKS_NAME]

    async def test_each_request_is_checked_again(self, client: httpx.AsyncClient) -> None:
        """The next request follows the new answer (after checking it), never a stale one."""
        port = free_port()
        guard = loopback(["127.0.0.1"], ["127.0.0.2"])
        async with (
            Server("127.0.0.1", port) as checked,
            Server("127.0.0.2", port) as rebound,
        ):
            for _ in range(2):
                await guarded_request(client, "GET", f"http://{HOOKS_NAME}:{port}/", guard=guard)

        assert (len(checked.requests), len(rebound.requests)) == (1, 1)

    async def test_private_answers_are_refused_before_anything_is_sent(
        self, client: httpx.AsyncClient
    ) -> None:
        async with Server() as server:
            guard = AddressGuard(
                allow_private=False, resolver=CountingResolver({HOOKS_NAME: [["127.0.0.1"]]})
            )
            with pytest.raises(UrlRefused, match="loopback"):
                await guarded_request(
                    client, "GET", f"http://{HOOKS_NAME}:{server.port}/", guard=guard
                )
        assert server.requests == []


class TestUniformConnectErrors:
    async def test_closed_and_filtered_ports_read_the_same(self, client: httpx.AsyncClient) -> None:
        """Refused at once or never answered: the tenant sees the same words (the causes,
        kept for the log, do differ)."""
        url = f"http://{HOOKS_NAME}:{{port}}/"
        with unanswered_port() as port:
            started = time.monotonic()
            with pytest.raises(CouldNotConnect) as filtered:
                await guarded_request(
                    client, "GET", url.format(port=port), guard=loopback(), time_limit=0.5
                )
            assert time.monotonic() - started >= 0.4  # it really waited: filtered, not closed
        with pytest.raises(CouldNotConnect) as closed:
            await guarded_request(
                client, "GET", url.format(port=port), guard=loopback(), time_limit=0.5
            )

        assert (
            str(filtered.value) == str(closed.value) == f"could not connect to {HOOKS_NAME}:{port}"
        )
        assert filtered.value.cause != closed.value.cause

    async def test_a_port_that_speaks_no_tls_reads_the_same(
        self, client: httpx.AsyncClient
    ) -> None:
        async with Server() as plain:  # HTTP, no TLS: the handshake fails after the connect
            with pytest.raises(CouldNotConnect) as failed:
                await guarded_request(
                    client, "GET", f"https://{HOOKS_NAME}:{plain.port}/", guard=loopback()
                )
        assert str(failed.value) == f"could not connect to {HOOKS_NAME}:{plain.port}"

    async def test_a_silent_server_after_the_connect_is_a_timeout(
        self, client: httpx.AsyncClient
    ) -> None:
        """Once connected, the port is known to be open anyway: the words may say more."""
        accepted = asyncio.Event()

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.set()
            await reader.read()  # until the client gives up
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            with pytest.raises(ResponseTimeout, match=r"^timed out after 0\.3 s$"):
                await guarded_request(
                    client, "GET", f"http://{HOOKS_NAME}:{port}/", guard=loopback(), time_limit=0.3
                )
        finally:
            server.close()
            await server.wait_closed()
        assert accepted.is_set()

    async def test_a_server_that_is_not_http_fails_without_its_words(
        self, client: httpx.AsyncClient
    ) -> None:
        async def banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"SSH-2.0-OpenSSH_9.6 secret-banner\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(banner, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            with pytest.raises(ResponseFailed) as failed:
                await guarded_request(
                    client, "GET", f"http://{HOOKS_NAME}:{port}/", guard=loopback()
                )
        finally:
            server.close()
            await server.wait_closed()
        assert str(failed.value) == f"no valid HTTP response from {HOOKS_NAME}:{port}"


class TestAnswer:
    async def test_the_body_is_cut_at_the_limit_and_redirects_are_not_followed(
        self, client: httpx.AsyncClient
    ) -> None:
        async with Server(status=302, body=b"x" * 5000) as server:
            response = await guarded_request(
                client,
                "GET",
                f"http://{HOOKS_NAME}:{server.port}/",
                guard=loopback(),
                max_body=1000,
            )
        assert response.status_code == 302
        assert (len(response.body), response.truncated) == (1000, True)
        [seen] = server.requests
        assert seen.headers["accept-encoding"] == "identity"
