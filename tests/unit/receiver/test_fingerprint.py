from __future__ import annotations

import uuid

from bettercallsold.receiver.fingerprint import action_key, canonical_json, request_fingerprint


class TestRequestFingerprint:
    def test_key_order_and_spacing_do_not_matter(self) -> None:
        a = {
            "flow_execution_id": "e",
            "events": [{"action_type": "x", "payload": {"a": 1, "b": 2}}],
        }
        b = {
            "events": [{"payload": {"b": 2, "a": 1}, "action_type": "x"}],
            "flow_execution_id": "e",
        }
        assert request_fingerprint(a) == request_fingerprint(b)

    def test_any_change_to_what_would_be_done_matters(self) -> None:
        base = {"flow_execution_id": "e", "events": [{"action_type": "x", "payload": {"a": 1}}]}
        changed = [
            {"flow_execution_id": "f", "events": base["events"]},
            {"flow_execution_id": "e", "events": [{"action_type": "y", "payload": {"a": 1}}]},
            {"flow_execution_id": "e", "events": [{"action_type": "x", "payload": {"a": 2}}]},
            {"flow_execution_id": "e", "events": [*base["events"], *base["events"]]},
            {"flow_execution_id": "e", "events": []},
        ]
        fingerprints = {request_fingerprint(body) for body in changed}
        assert request_fingerprint(base) not in fingerprints
        assert len(fingerprints) == len(changed)

    def test_the_order_of_events_matters(self) -> None:
        one, two = {"action_type": "a"}, {"action_type": "b"}
        assert request_fingerprint({"events": [one, two]}) != request_fingerprint(
            {"events": [two, one]}
        )

    def test_it_is_a_sha256_hex_digest(self) -> None:
        fingerprint = request_fingerprint({})
        assert len(fingerprint) == 64
        assert int(fingerprint, 16) >= 0


class TestCanonicalJson:
    def test_sorted_compact_and_ascii_escaped(self) -> None:
        # ASCII escapes keep a lone surrogate hashable (UTF-8 cannot encode one).
        assert canonical_json({"b": "é", "a": [1, 2.5]}) == '{"a":[1,2.5],"b":"\\u00e9"}'
        assert request_fingerprint({"a": "\ud800"})


class TestActionKey:
    def test_one_key_per_execution_batch_key_and_position(self) -> None:
        execution, other = uuid.UUID(int=1), uuid.UUID(int=2)
        keys = {
            action_key(execution, "k", 0),
            action_key(execution, "k", 1),
            action_key(execution, "k2", 0),
            action_key(other, "k", 0),
        }
        assert len(keys) == 4
        assert action_key(execution, "k", 1) == action_key(execution, "k", 1)
        assert all(len(key) == 64 for key in keys)  # fits the outbox's column
