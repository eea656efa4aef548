"""What the bus needs in place when a process starts (`bcs serve` and `bcs worker` alike)."""

from __future__ import annotations

from bettercallsold.bus import repository
from bettercallsold.runtime import Runtime

PLUGIN_SUBSCRIPTION_KEY = "automation-plugin"


async def on_startup(runtime: Runtime) -> None:
    """Subscribe the automation plugin to every tenant's events of the types its flows use
    (its interests, `bus/interests.py`, which the plugin declares first: `app.py`).

    The plugin's subscription is the operator's (tenant NULL): its URL is
    `settings.plugin_webhook_url()` (in-process by default) and its secret `BCS_WEBHOOK_SECRET`;
    a start with other settings updates it, and concurrent starts create it once.
    """
    settings = runtime.settings
    assert settings.webhook_secret is not None, "create_app fills in the generated secrets"
    async with runtime.sessionmaker() as session, session.begin():
        await repository.upsert_system_subscription(
            session,
            PLUGIN_SUBSCRIPTION_KEY,
            url=settings.plugin_webhook_url(),
            secret=settings.webhook_secret.get_secret_value(),
            event_types=["*"],
            by_interest=True,
        )
