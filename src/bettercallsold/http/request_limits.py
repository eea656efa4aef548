"""What one request may cost: a body of at most 1 MiB, JSON nested at most 64 deep.

An ASGI middleware in front of every route, signed or not, so that nothing reads or parses a
body before its size is known: a `Content-Length` over the limit is a 413 before a byte is
read, and a body sent without one (chunked) is read only up to the limit. A JSON body is then
checked for its nesting depth by a linear scan of its brackets, before any parser or validator
recurses into it (Python's would reach its recursion limit, a 500, around 1,000 levels).
The body, read once, is handed on to the app unchanged.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 64

_STRUCTURE = re.compile(rb'[\[\]{}"\\]')


class RequestLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await _refuse(send, 413, f"the request body is over {MAX_BODY_BYTES} bytes")
            return
        body, more = await _read_body(receive)
        if body is None:
            await _refuse(send, 413, f"the request body is over {MAX_BODY_BYTES} bytes")
            return
        if b"json" in headers.get(b"content-type", b"") and json_depth(body) > MAX_JSON_DEPTH:
            await _refuse(send, 422, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            return
        whole = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _then(whole, more), send)


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body (None when it passes the limit), and where the app reads after it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), _then(message, receive)  # the client went away
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None, receive
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), receive


def _then(first: Message, receive: Receive) -> Receive:
    """A `receive` that gives `first`, then whatever `receive` gives (http.disconnect, when
    the client goes away)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await receive()

    return replay


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in `body` (strings skipped), in one pass over
    its structural characters. Invalid JSON gets some number: its parser refuses it anyway."""
    deepest = depth = 0
    in_string = False
    escaped_at = -1
    for match in _STRUCTURE.finditer(body):
        token, at = match.group(), match.start()
        if in_string:
            if at == escaped_at:
                continue  # the character after a backslash: \" or \\
            if token == b"\\":
                escaped_at = at + 1
            elif token == b'"':
                in_string = False
            continue
        if token == b'"':
            in_string = True
        elif token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


async def _refuse(send: Send, status: int, message: str) -> None:
    if status == 422:
        detail: Any = [{"loc": ["body"], "msg": message, "type": "json_too_deep"}]
    else:
        detail = message
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
