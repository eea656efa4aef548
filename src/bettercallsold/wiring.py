"""Which parts run in this process, and the ports that connect them (`ports.py`).

A part is in process unless its URL is set: `BCS_PLATFORM_URL` puts the platform (and so the
event receiver's calls, and where the plugin sends its batches) elsewhere; `BCS_PLUGIN_URL`
(or a platform elsewhere, which is where the plugin's webhook then lives) puts the plugin's
intake elsewhere. Parts in process call each other through these adapters, inside the caller's
transaction; the others are reached by the contract's HTTP, as before.
"""

from __future__ import annotations

from bettercallsold.automation.intake import InProcessIntake
from bettercallsold.bus.startup import PLUGIN_SUBSCRIPTION_KEY
from bettercallsold.platform.operations import InProcessPlatform
from bettercallsold.ports import Ports
from bettercallsold.receiver.inprocess import InProcessReceiver
from bettercallsold.settings import Settings


def in_process_ports(settings: Settings) -> Ports:
    if settings.platform_url is not None:
        return Ports()
    platform = InProcessPlatform()
    intake = None
    if settings.plugin_url is None:
        intake = InProcessIntake(PLUGIN_SUBSCRIPTION_KEY, settings.max_causation_depth)
    return Ports(
        intake=intake,
        receiver=InProcessReceiver(platform, settings.max_actions_per_event),
        platform=platform,
    )
