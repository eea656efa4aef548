"""The contract as data: the action catalogue and the platform event catalogue.

Pure (no web, no database): the event receiver routes by it, the automation plugin validates
flows against it, and the UI builds its palette and forms from it.
"""

from bettercallsold.catalogue.actions import (
    ACTIONS,
    RESULT_EVENTS,
    ActionSpec,
    action_spec,
    validate_payload,
)
from bettercallsold.catalogue.events import EVENT_SAMPLES, EVENT_TYPES

__all__ = [
    "ACTIONS",
    "EVENT_SAMPLES",
    "EVENT_TYPES",
    "RESULT_EVENTS",
    "ActionSpec",
    "action_spec",
    "validate_payload",
]
