"""Real servers on loopback for the outbound tests: HTTP(S) with a made-up name's certificate,
a port that never answers, a resolver that counts and can change its answer (rebinding).

`.test` names (RFC 2606) never resolve in real DNS: a request that reaches one of these
servers by such a name can only have gone to the address the injected resolver gave.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import h11
import trustme

from bettercallsold.outbound import UnresolvableHost

HOOKS_NAME = "hooks.example.test"


@dataclass(frozen=True)
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class Server:
    """An HTTP/1.1 server on `host:port` (port 0: any), over TLS when `tls` is given.

    It records every request and every TLS server name (SNI) a client announced, and answers
    `status` with `body`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        status: int = 200,
        body: bytes = b"ok",
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.status = status
        self.body = body
        self.requests: list[Seen] = []
        self.server_names: list[str | None] = []
        self._server: asyncio.Server | None = None
        if tls is not None:
            tls.sni_callback = self._on_server_name

    def _on_server_name(
        self, connection: ssl.SSLObject, name: str | None, context: ssl.SSLContext
    ) -> None:
        del connection, context
        self.server_names.append(name)

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = h11.Connection(h11.SERVER)
        head: h11.Request | None = None
        body = bytearray()
        try:
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    connection.receive_data(await reader.read(65536))
                elif isinstance(event, h11.Request):
                    head, body = event, bytearray()
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    assert head is not None
                    self.requests.append(
                        Seen(
                            head.method.decode(),
                            head.target.decode(),
                            {k.decode(): v.decode() for k, v in head.headers},
                            bytes(body),
                        )
                    )
                    reply = h11.Response(
                        status_code=self.status,
                        headers=[("content-length", str(len(self.body)))],
                    )
                    writer.write(connection.send(reply) or b"")
                    writer.write(connection.send(h11.Data(data=self.body)) or b"")
                    writer.write(connection.send(h11.EndOfMessage()) or b"")
                    await writer.drain()
                    if connection.our_state is h11.MUST_CLOSE:
                        break
                    connection.start_next_cycle()
                else:
                    break
        except (ConnectionError, ssl.SSLError, h11.ProtocolError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()


def server_tls(ca: trustme.CA, name: str) -> ssl.SSLContext:
    """A server context presenting a certificate for `name`, signed by the test CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    return context


def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts the test CA (and verifies host names, as by default)."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def unanswered_port() -> Iterator[int]:
    """A port whose connects hang, as behind a firewall that drops packets: a listener whose
    accept queue is kept full, so Linux drops further SYNs instead of answering them."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@dataclass
class CountingResolver:
    """Answers from `answers[name]`, the first answer on the first lookup and the last answer
    on every later one (a name rebound between check and connect); counts every lookup."""

    answers: dict[str, list[list[str]]]
    lookups: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        del port
        if host not in self.answers:
            raise UnresolvableHost(f"{host} does not resolve")
        seen_before = host in self.lookups
        self.lookups.append(host)
        choices = self.answers[host]
        return choices[-1] if seen_before else choices[0]
