"""A stand-in event receiver on 127.0.0.1 for the worker tests: `BCS_PLATFORM_URL` of a
`bcs worker` points at it, so each flow execution's action batch arrives here.

It answers every action with success, once `hold` (an event the test may clear) lets the
batches through; a batch whose body contains `poison` gets a 503, however often it is sent.
"""

from __future__ import annotations

import asyncio
import json
import uuid

from tests.integration.bus.receiver import Receiver, Reply, Request


class StubReceiver:
    def __init__(self) -> None:
        self.hold = asyncio.Event()
        self.hold.set()
        self.poison: bytes | None = None
        self.server = Receiver(self._answer)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def batches(self) -> list[dict[str, object]]:
        return [
            json.loads(request.body)
            for request in self.server.requests
            if request.path == "/api/events/automation"
        ]

    async def __aenter__(self) -> StubReceiver:
        await self.server.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.hold.set()
        await self.server.close()

    async def _answer(self, request: Request) -> Reply:
        if request.path != "/api/events/automation":
            return Reply(404, body=b'{"detail": "not here"}')
        await self.hold.wait()
        if self.poison is not None and self.poison in request.body:
            return Reply(503, {"content-type": "application/json"}, b'{"detail": "poisoned"}')
        batch = json.loads(request.body)
        results = [
            {
                "action_type": event["action_type"],
                "success": True,
                "data": {"id": str(uuid.uuid4())},
            }
            for event in batch["events"]
        ]
        body = json.dumps({"results": results}).encode()
        return Reply(200, {"content-type": "application/json"}, body)
