"""A real HTTP/1.1 webhook receiver on 127.0.0.1 for the bus tests (asyncio + h11, keep-alive).

Each request is recorded on arrival; the handler decides the answer (and may wait); each answer
is recorded once written. The bench uses it too (`bench/bench_deliveries.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import h11


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


Handler = Callable[[Request], Awaitable[Reply]]


async def ok(request: Request) -> Reply:
    del request
    return Reply(200, body=b"ok")


def free_port() -> int:
    """A port nothing listens on (yet): for a receiver that is down, then comes up."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Receiver:
    def __init__(self, handler: Handler = ok, port: int = 0) -> None:
        self.handler = handler
        self.port = port
        self.requests: list[Request] = []
        self.answers: list[tuple[Request, int]] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._answered = asyncio.Condition()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> Receiver:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def delivered_ids(self) -> Counter[str]:
        """How many 2xx answers each webhook-id got."""
        return Counter(request.webhook_id for request, status in self.answers if status < 300)

    async def wait_answers(self, count: int, seconds: float = 20.0) -> None:
        async with asyncio.timeout(seconds), self._answered:
            await self._answered.wait_for(lambda: len(self.answers) >= count)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
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
                    await self._answer(connection, writer, head, bytes(body))
                    if connection.our_state is h11.MUST_CLOSE:
                        break
                    connection.start_next_cycle()
                else:  # ConnectionClosed, PAUSED
                    break
        except (ConnectionError, h11.ProtocolError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(
        self,
        connection: h11.Connection,
        writer: asyncio.StreamWriter,
        head: h11.Request,
        body: bytes,
    ) -> None:
        request = Request(
            method=head.method.decode(),
            path=head.target.decode(),
            headers={name.decode().lower(): value.decode() for name, value in head.headers},
            body=body,
            at=time.monotonic(),
        )
        self.requests.append(request)
        reply = await self.handler(request)
        headers = [("content-length", str(len(reply.body))), *reply.headers.items()]
        writer.write(connection.send(h11.Response(status_code=reply.status, headers=headers)))
        if reply.body:
            writer.write(connection.send(h11.Data(data=reply.body)))
        writer.write(connection.send(h11.EndOfMessage()))
        await writer.drain()
        async with self._answered:
            self.answers.append((request, reply.status))
            self._answered.notify_all()
