"""A fault-injecting HTTP/1.1 reverse proxy on 127.0.0.1 (asyncio + h11 in, httpx out).

Put in front of `bcs serve`, it plays an unreliable network and load balancer. For a fraction
`rate` of the requests to the chosen paths it injects one of four faults, drawn evenly:

- `error_before`: answers 503 without forwarding (the effect did not happen);
- `drop_before`: closes the connection without forwarding or answering;
- `error_after`: forwards, lets the platform do the work, then answers 500 instead of its
  answer (the effect happened, the caller saw an error: the idempotency path);
- `drop_after`: forwards, then closes the connection without answering.

When the upstream is down (the API process killed) it answers 502, as a load balancer would.
Every request and fault is counted, so a test can report what it went through.

A fault is intermittent, not a black hole: the same request sent again (the same `webhook-id`
or `Idempotency-Key`) is faulted at most `max_faults_per_request` times, so the callers'
exponential backoff (seconds to hours in production) stays within the test's budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter

import h11
import httpx

FAULTS = ("error_before", "drop_before", "error_after", "drop_after")
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "host", "content-length", "upgrade"}
)
_NOT_FORWARDED_BACK = _HOP_BY_HOP | {"content-encoding"}


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        *,
        rate: float,
        paths: tuple[str, ...],
        seed: int = 0,
        max_faults_per_request: int = 2,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.rate = rate
        self.paths = paths
        self.enabled = True
        self.port = 0
        self.requests: Counter[str] = Counter()
        """Requests by path."""
        self.faults: Counter[str] = Counter()
        """Injected faults by kind, and `upstream_down` (502 while the API was away)."""
        self.max_faults_per_request = max_faults_per_request
        self._faulted: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._client: httpx.AsyncClient | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def injected(self) -> int:
        return sum(count for kind, count in self.faults.items() if kind in FAULTS)

    async def __aenter__(self) -> FaultProxy:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(120.0, connect=5.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
        )
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            await self._server.wait_closed()
        if self._client is not None:
            await self._client.aclose()

    def _draw_fault(self, path: str, identity: str | None) -> str | None:
        if not self.enabled or not path.startswith(self.paths):
            return None
        if self._random.random() >= self.rate:
            return None
        if identity is not None:
            if self._faulted[identity] >= self.max_faults_per_request:
                return None
            self._faulted[identity] += 1
        return self._random.choice(FAULTS)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        connection = h11.Connection(h11.SERVER)
        head: h11.Request | None = None
        body = bytearray()
        try:
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    connection.receive_data(data)
                elif isinstance(event, h11.Request):
                    head, body = event, bytearray()
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    assert head is not None
                    if not await self._answer(connection, writer, head, bytes(body)):
                        return
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
    ) -> bool:
        """Forward one request (or not) and answer it (or not); False when the connection was
        dropped."""
        path = head.target.decode()
        self.requests[path.split("?", 1)[0]] += 1
        identity = next(
            (
                value.decode()
                for name, value in head.headers
                if name.lower() in (b"webhook-id", b"idempotency-key")
            ),
            None,
        )
        fault = self._draw_fault(path, identity)
        if fault == "error_before":
            self.faults[fault] += 1
            await _reply(connection, writer, 503, [], b'{"detail": "injected fault (before)"}')
            return True
        if fault == "drop_before":
            self.faults[fault] += 1
            writer.transport.abort()
            return False
        assert self._client is not None
        headers = [
            (name.decode(), value.decode())
            for name, value in head.headers
            if name.decode().lower() not in _HOP_BY_HOP
        ]
        try:
            response = await self._client.request(
                head.method.decode(), self.upstream + path, headers=headers, content=body
            )
        except httpx.HTTPError:
            self.faults["upstream_down"] += 1
            await _reply(connection, writer, 502, [], b'{"detail": "upstream unavailable"}')
            return True
        if fault == "error_after":
            self.faults[fault] += 1
            await _reply(connection, writer, 500, [], b'{"detail": "injected fault (after)"}')
            return True
        if fault == "drop_after":
            self.faults[fault] += 1
            writer.transport.abort()
            return False
        answer_headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in _NOT_FORWARDED_BACK
        ]
        await _reply(connection, writer, response.status_code, answer_headers, response.content)
        return True


async def _reply(
    connection: h11.Connection,
    writer: asyncio.StreamWriter,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    headers = [*headers, ("content-length", str(len(body)))]
    if status >= 400 and not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("content-type", "application/json"))
    writer.write(connection.send(h11.Response(status_code=status, headers=headers)))
    if body:
        writer.write(connection.send(h11.Data(data=body)))
    writer.write(connection.send(h11.EndOfMessage()))
    await writer.drain()
