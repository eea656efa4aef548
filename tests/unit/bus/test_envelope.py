from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

from bettercallsold.bus.envelope import encode_body, event_envelope, isoformat_z
from bettercallsold.bus.models import PlatformEvent

TENANT = uuid.UUID("00000000-0000-0000-0000-000000000001")
EXECUTION = uuid.UUID("00000000-0000-0000-0000-0000000000ee")


def make_event(**overrides: object) -> PlatformEvent:
    fields: dict[str, object] = {
        "id": "evt_1",
        "tenant_id": TENANT,
        "event_type": "customer.created",
        "payload": {"customer_id": "c1", "email": "john@example.com", "name": "John Doe"},
        "causation_execution_id": None,
        "causation_depth": 0,
        "occurred_at": datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
    }
    fields.update(overrides)
    return PlatformEvent(**fields)


class TestEventEnvelope:
    def test_has_the_contract_shape(self) -> None:
        assert event_envelope(make_event()) == {
            "event_id": "evt_1",
            "event_type": "customer.created",
            "occurred_at": "2026-11-24T10:00:00Z",
            "tenant_id": str(TENANT),
            "payload": {"customer_id": "c1", "email": "john@example.com", "name": "John Doe"},
            "causation": {"flow_execution_id": None, "depth": 0},
        }

    def test_carries_the_causation_chain(self) -> None:
        envelope = event_envelope(make_event(causation_execution_id=EXECUTION, causation_depth=2))
        assert envelope["causation"] == {"flow_execution_id": str(EXECUTION), "depth": 2}


class TestIsoformatZ:
    def test_converts_to_utc(self) -> None:
        moment = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
        assert isoformat_z(moment) == "2026-01-01T10:00:00Z"


class TestEncodeBody:
    def test_is_compact_json_keeping_unicode(self) -> None:
        body = encode_body({"name": "Zoë", "n": [1, 2]})
        assert body == '{"name":"Zoë","n":[1,2]}'
        assert json.loads(body) == {"name": "Zoë", "n": [1, 2]}
