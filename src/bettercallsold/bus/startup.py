"""What the bus needs in place when a process starts."""

from __future__ import annotations

from bettercallsold.runtime import Runtime


async def on_startup(runtime: Runtime) -> None:
    """Nothing yet: the operator's automation subscription is added by the event bus."""
    del runtime
