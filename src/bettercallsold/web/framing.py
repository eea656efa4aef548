"""UI pages that no other site can frame (clickjacking): every HTML answer says so twice,
`Content-Security-Policy: frame-ancestors 'none'` for current browsers and `X-Frame-Options:
DENY` for older ones. An ASGI wrapper, so a page added later cannot forget it."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_HEADERS = [
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
]


class NoFraming:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_framed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    message["headers"] = headers + _HEADERS
            await send(message)

        await self.app(scope, receive, send_framed)
