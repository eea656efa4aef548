"""A lean HTTP/1.1 load generator: keep-alive connections on asyncio streams.

The bench's client shares the machine's two cores with the system it measures. httpx spends
3-4 ms of CPU per POST here, as much as `bcs serve` spends on the request, so it capped the
offered load near 100/s and took CPU from the system under test. This client writes a
prepared request and reads the status line, the headers and the body by its length (or its
chunks): a fraction of that. It does what the bench needs and nothing else (no redirects, no
TLS, no compression).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit


class HttpConnection:
    def __init__(self, host: str, port: int, headers: bytes) -> None:
        self._host, self._port, self._headers = host, port, headers
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        """POST `body` (JSON) to `path`; the status code. Reconnects once if the server closed
        the kept-alive connection."""
        for attempt in (1, 2):
            try:
                return await self._exchange(path, body)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, path: str, body: bytes) -> int:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        ).encode()
        self._writer.write(head + self._headers + b"\r\n" + body)
        status_line = await self._reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        length, chunked, closing = 0, False, False
        while True:
            line = await self._reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                closing = b"close" in value.lower()
        if chunked:
            while size := int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await self._reader.readexactly(size + 2)
            await self._reader.readuntil(b"\r\n")
        elif length:
            await self._reader.readexactly(length)
        if closing:
            await self.close()
        return status

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


class HttpPool:
    """At most `size` connections, each used by one request at a time."""

    def __init__(self, base_url: str, token: str, size: int) -> None:
        parts = urlsplit(base_url)
        headers = f"Authorization: Bearer {token}\r\n".encode()
        self._idle: asyncio.Queue[HttpConnection] = asyncio.Queue()
        self._all = [
            HttpConnection(parts.hostname or "127.0.0.1", parts.port or 80, headers)
            for _ in range(size)
        ]
        for connection in self._all:
            self._idle.put_nowait(connection)

    async def post(self, path: str, body: bytes) -> int:
        connection = await self._idle.get()
        try:
            return await connection.post(path, body)
        finally:
            self._idle.put_nowait(connection)

    async def close(self) -> None:
        for connection in self._all:
            await connection.close()


@contextlib.asynccontextmanager
async def http_pool(base_url: str, token: str, size: int = 64) -> AsyncIterator[HttpPool]:
    pool = HttpPool(base_url, token, size)
    try:
        yield pool
    finally:
        await pool.close()
