"""`Idempotency-Key`: replays, concurrent duplicates, another body, crashes, expiry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bettercallsold.receiver import idempotency
from bettercallsold.receiver.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    IdempotencyLeaseLost,
)
from bettercallsold.receiver.fingerprint import action_key, request_fingerprint
from bettercallsold.receiver.idempotency import KeyRequest, Lease, Replay
from bettercallsold.receiver.repository import KeyRef
from bettercallsold.receiver.schemas import ActionBatch
from bettercallsold.receiver.tasks import run_purge
from bettercallsold.runtime import Runtime
from bettercallsold.tenancy.assertions import sign_assertion
from bettercallsold.types import Causation, TenantContext
from tests.integration.conftest import TenantHandle
from tests.integration.receiver.conftest import Execution, MakeExecution, Receiver

BATCH = [
    {"action_type": "create_product", "payload": {"name": "Once", "price": 9.5}, "step_id": "a1"},
    {
        "action_type": "send_sms",
        "payload": {"to": "+15550001111", "message": "hi"},
        "step_id": "a2",
    },
]


async def _count(tenant: TenantHandle, path: str) -> int:
    response = await tenant.http.get(path)
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


class TestHttp:
    async def test_the_same_batch_twice_creates_one_product(
        self, receiver: Receiver, execution: Execution
    ) -> None:
        key = f"{execution.id}:a1"
        first = await receiver.send(execution, BATCH, key)
        second = await receiver.send(execution, BATCH, key)
        assert first.status_code == second.status_code == 200
        assert first.json() == second.json()
        assert await _count(execution.tenant, "/api/products") == 1
        assert await _count(execution.tenant, "/api/notifications") == 1
        assert len(await receiver.log(execution)) == 2

    async def test_twenty_concurrent_duplicates_create_one_product(
        self, receiver: Receiver, execution: Execution
    ) -> None:
        key = f"{execution.id}:a1"
        responses = await asyncio.gather(*(receiver.send(execution, BATCH, key) for _ in range(20)))
        answered = [r for r in responses if r.status_code == 200]
        assert all(r.status_code in (200, 409) for r in responses)
        assert answered
        assert all(r.json() == answered[0].json() for r in answered)
        assert all(result["success"] for result in answered[0].json()["results"])
        assert await _count(execution.tenant, "/api/products") == 1
        assert await _count(execution.tenant, "/api/notifications") == 1
        assert len(await receiver.log(execution)) == 2
        assert len(await receiver.caused_events(execution, "product.created")) == 1

    async def test_the_same_key_with_another_body_is_a_422(
        self, receiver: Receiver, execution: Execution
    ) -> None:
        key = f"{execution.id}:a1"
        assert (await receiver.send(execution, BATCH, key)).status_code == 200
        changed = [{**BATCH[0], "payload": {"name": "Twice", "price": 9.5}}]
        response = await receiver.send(execution, changed, key)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
        assert await _count(execution.tenant, "/api/products") == 1

    async def test_the_same_body_spelled_differently_is_the_same_request(
        self, receiver: Receiver, execution: Execution
    ) -> None:
        key = "spelling"
        spelled = [
            {
                "step_id": "a1",
                "payload": {"price": 9.5, "name": "Once"},
                "action_type": "create_product",
            }
        ]
        first = await receiver.send(execution, BATCH[:1], key)
        second = await receiver.send(execution, spelled, key)
        assert second.status_code == 200
        assert first.json() == second.json()
        assert await _count(execution.tenant, "/api/products") == 1

    async def test_failed_results_are_replayed_too(
        self, receiver: Receiver, execution: Execution
    ) -> None:
        events = [{"action_type": "nope", "payload": {}}]
        first = await receiver.send(execution, events, "k")
        second = await receiver.send(execution, events, "k")
        assert first.json() == second.json()
        assert len(await receiver.log(execution)) == 1

    async def test_a_key_belongs_to_one_tenant(
        self, receiver: Receiver, make_execution: MakeExecution
    ) -> None:
        mine, theirs = await make_execution(), await make_execution()
        await receiver.results(mine, BATCH, key="shared-key")
        results = await receiver.results(theirs, BATCH, key="shared-key")
        assert all(result["success"] for result in results)
        assert await _count(theirs.tenant, "/api/products") == 1
        assert await _count(mine.tenant, "/api/products") == 1

    async def test_without_a_key_each_request_runs(
        self, receiver: Receiver, execution: Execution
    ) -> None:
        await receiver.results(execution, BATCH[:1])
        await receiver.results(execution, BATCH[:1])
        assert await _count(execution.tenant, "/api/products") == 2


def _fingerprint(execution: Execution, events: list[dict[str, Any]]) -> str:
    batch = ActionBatch.model_validate({"flow_execution_id": str(execution.id), "events": events})
    return request_fingerprint(batch.model_dump(mode="json"))


async def _set_key(runtime: Runtime, execution: Execution, key: str, **values: Any) -> None:
    """Rewrite a stored key, as a crash or the passing of time would have left it."""
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(
            text(
                f"UPDATE receiver_idempotency_keys SET {assignments}"
                " WHERE tenant_id = :tenant AND key = :key"
            ),
            {**values, "tenant": execution.tenant.tenant_id, "key": key},
        )


class TestRecovery:
    async def _crashed_during_the_second_action(
        self, runtime: Runtime, execution: Execution, events: list[dict[str, Any]], key: str
    ) -> list[dict[str, Any]]:
        """A holder that recorded the first action and died while the second was under way."""
        request = KeyRequest(
            ref=KeyRef(execution.tenant.tenant_id, key),
            execution_id=execution.id,
            fingerprint=_fingerprint(execution, events),
            lease=timedelta(minutes=5),
            wait_seconds=0,
        )
        lease = await idempotency.acquire(runtime.sessionmaker, request)
        assert isinstance(lease, Lease)
        done = [{"action_type": "create_product", "success": True, "data": {"id": "earlier"}}]
        async with runtime.sessionmaker() as session, session.begin():
            assert await idempotency.save_progress(session, lease, done, in_flight=1)
        await _set_key(runtime, execution, key, leased_until=None)  # the lease ran out
        return done

    async def test_a_retry_keeps_done_actions_and_runs_an_in_flight_one_that_never_ran(
        self, receiver: Receiver, runtime: Runtime, execution: Execution
    ) -> None:
        """The retry keeps the first action's result, performs the second (its call never
        reached the platform) and the third, each once."""
        events = [
            *BATCH,
            {"action_type": "create_task", "payload": {"title": "After"}, "step_id": "a3"},
        ]
        key = "crashed"
        done = await self._crashed_during_the_second_action(runtime, execution, events, key)

        first, second, third = await receiver.results(execution, events, key)

        assert first == done[0]
        assert second["success"] is True
        assert third["success"] is True
        assert await _count(execution.tenant, "/api/products") == 0
        assert await _count(execution.tenant, "/api/notifications") == 1
        assert await _count(execution.tenant, "/api/tasks") == 1
        log = await receiver.log(execution)
        assert [(row["action_type"], row["success"]) for row in log] == [
            ("send_sms", True),
            ("create_task", True),
        ]
        again = await receiver.results(execution, events, key)
        assert again == [first, second, third]

    async def test_an_in_flight_action_that_did_happen_is_not_repeated(
        self, receiver: Receiver, runtime: Runtime, execution: Execution, client: httpx.AsyncClient
    ) -> None:
        """The holder died after the platform committed the second action but before it
        recorded it: the retry gets that write's resource back instead of sending twice."""
        events = list(BATCH)
        key = "crashed-after-the-call"
        await self._crashed_during_the_second_action(runtime, execution, events, key)
        secret = runtime.settings.secret_key
        assert secret is not None
        context = TenantContext(
            execution.tenant.tenant_id,
            Causation(execution.id, depth=execution.depth + 1),
            action_key=action_key(execution.id, key, 1),
        )
        sent = await client.post(
            "/api/notifications/sms",
            json=events[1]["payload"],
            headers={
                "Authorization": "Bearer "
                + sign_assertion(
                    secret.get_secret_value(),
                    context,
                    method="POST",
                    path="/api/notifications/sms",
                )
            },
        )
        assert sent.status_code == 201, sent.text

        _, second = await receiver.results(execution, events, key)

        assert second["success"] is True
        assert second["data"]["id"] == sent.json()["id"]
        assert await _count(execution.tenant, "/api/notifications") == 1

    async def test_a_live_holder_makes_a_duplicate_wait_then_409(
        self, runtime: Runtime, execution: Execution
    ) -> None:
        request = KeyRequest(
            ref=KeyRef(execution.tenant.tenant_id, "busy"),
            execution_id=execution.id,
            fingerprint="f" * 64,
            lease=timedelta(minutes=5),
            wait_seconds=0.2,
        )
        assert isinstance(await idempotency.acquire(runtime.sessionmaker, request), Lease)
        with pytest.raises(IdempotencyKeyInUse):
            await idempotency.acquire(runtime.sessionmaker, request)

    async def test_a_waiting_duplicate_gets_the_answer_once_stored(
        self, runtime: Runtime, execution: Execution
    ) -> None:
        request = KeyRequest(
            ref=KeyRef(execution.tenant.tenant_id, "waits"),
            execution_id=execution.id,
            fingerprint="f" * 64,
            lease=timedelta(minutes=5),
            wait_seconds=5,
        )
        lease = await idempotency.acquire(runtime.sessionmaker, request)
        assert isinstance(lease, Lease)
        waiting = asyncio.create_task(idempotency.acquire(runtime.sessionmaker, request))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        async with runtime.sessionmaker() as session, session.begin():
            await idempotency.complete(session, lease, {"results": []})
        assert await waiting == Replay({"results": []})

    async def test_another_body_is_refused_even_while_held(
        self, runtime: Runtime, execution: Execution
    ) -> None:
        ref = KeyRef(execution.tenant.tenant_id, "held")
        base = KeyRequest(ref, execution.id, "a" * 64, timedelta(minutes=5), wait_seconds=0)
        assert isinstance(await idempotency.acquire(runtime.sessionmaker, base), Lease)
        other = KeyRequest(ref, execution.id, "b" * 64, timedelta(minutes=5), wait_seconds=0)
        with pytest.raises(IdempotencyKeyReused):
            await idempotency.acquire(runtime.sessionmaker, other)

    async def test_a_holder_that_lost_its_lease_stops(
        self, runtime: Runtime, execution: Execution
    ) -> None:
        request = KeyRequest(
            KeyRef(execution.tenant.tenant_id, "lost"),
            execution.id,
            "c" * 64,
            timedelta(minutes=5),
            wait_seconds=0,
        )
        stale = await idempotency.acquire(runtime.sessionmaker, request)
        assert isinstance(stale, Lease)
        await _set_key(runtime, execution, "lost", leased_until=None)
        fresh = await idempotency.acquire(runtime.sessionmaker, request)
        assert isinstance(fresh, Lease)
        assert fresh.token != stale.token
        async with runtime.sessionmaker() as session, session.begin():
            assert not await idempotency.save_progress(session, stale, [], in_flight=0)
            with pytest.raises(IdempotencyLeaseLost):
                await idempotency.complete(session, stale, {"results": []})


class TestExpiry:
    async def test_purge_deletes_expired_keys_only(
        self, receiver: Receiver, runtime: Runtime, execution: Execution
    ) -> None:
        await receiver.results(execution, BATCH[:1], key="old")
        await receiver.results(execution, BATCH[:1], key="recent")
        await _set_key(runtime, execution, "old", expires_at=_days_ago(1))
        async with runtime.sessionmaker() as session, session.begin():
            purged = await idempotency.purge_expired_keys(session)
        assert purged >= 1
        async with runtime.sessionmaker() as session:
            keys = await session.scalars(
                text("SELECT key FROM receiver_idempotency_keys WHERE tenant_id = :tenant"),
                {"tenant": execution.tenant.tenant_id},
            )
            assert list(keys) == ["recent"]

    async def test_the_periodic_task_purges(
        self, receiver: Receiver, runtime: Runtime, execution: Execution
    ) -> None:
        await receiver.results(execution, BATCH[:1], key="stale")
        await _set_key(runtime, execution, "stale", expires_at=_days_ago(8))
        assert await run_purge(runtime) >= 1
        assert await run_purge(runtime) == 0

    async def test_keys_are_kept_seven_days(
        self, receiver: Receiver, runtime: Runtime, execution: Execution
    ) -> None:
        await receiver.results(execution, BATCH[:1], key="kept")
        async with runtime.sessionmaker() as session:
            kept_for = await session.scalar(
                text(
                    "SELECT expires_at - created_at FROM receiver_idempotency_keys"
                    " WHERE tenant_id = :tenant AND key = 'kept'"
                ),
                {"tenant": execution.tenant.tenant_id},
            )
        assert kept_for >= timedelta(days=7)

    async def test_an_expired_key_not_yet_purged_starts_afresh(
        self, receiver: Receiver, runtime: Runtime, execution: Execution
    ) -> None:
        """The receiver runs the batch again (no stale answer), but the platform still knows
        the execution's action by its key: the product is not created twice."""
        [first] = await receiver.results(execution, BATCH[:1], key="reused")
        await _set_key(runtime, execution, "reused", expires_at=_days_ago(1))
        [again] = await receiver.results(execution, BATCH[:1], key="reused")
        assert again["success"] is True
        assert again["data"]["id"] == first["data"]["id"]
        assert len(await receiver.log(execution)) == 2
        assert await _count(execution.tenant, "/api/products") == 1


def _days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)
