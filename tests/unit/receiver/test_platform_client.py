"""`platform_client` with httpx's MockTransport standing in for the platform."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable

import httpx
import pytest

from bettercallsold.catalogue import action_spec
from bettercallsold.catalogue.actions import ActionSpec
from bettercallsold.receiver.platform_client import PlatformTarget, perform, request_path

Handler = Callable[[httpx.Request], httpx.Response]


def _spec(action_type: str) -> ActionSpec:
    spec = action_spec(action_type)
    assert spec is not None
    return spec


def _target(handler: Handler) -> PlatformTarget:
    return PlatformTarget(
        http=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        base_url="https://platform.example",
        credential_for=lambda method, path: f"svc.{method}.{path}",
        timeout_seconds=5,
    )


class TestRequestPath:
    def test_the_id_comes_from_the_payload(self) -> None:
        assert request_path(_spec("assign_task"), {"id": "t1"}) == "/api/tasks/t1/assign"

    def test_a_path_without_id_is_kept(self) -> None:
        assert request_path(_spec("create_product"), {"id": "ignored"}) == "/api/products"

    @pytest.mark.parametrize(
        ("raw", "encoded"),
        [("../customers", "%2E%2E%2Fcustomers"), ("a?b=1#c", "a%3Fb%3D1%23c"), ("..", "%2E%2E")],
    )
    def test_an_id_is_encoded_so_it_stays_one_segment(self, raw: str, encoded: str) -> None:
        assert request_path(_spec("delete_product"), {"id": raw}) == f"/api/products/{encoded}"


class TestPerform:
    async def test_a_2xx_is_a_success_with_the_answer(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json={"id": "t1", "assignee": "sam"})

        result = await perform(
            _target(handler), "assign_task", _spec("assign_task"), {"id": "t1", "assignee": "sam"}
        )
        assert result == {
            "action_type": "assign_task",
            "success": True,
            "data": {"id": "t1", "assignee": "sam"},
        }
        [request] = seen
        assert (request.method, str(request.url)) == (
            "POST",
            "https://platform.example/api/tasks/t1/assign",
        )
        assert request.headers["Authorization"] == "Bearer svc.POST./api/tasks/t1/assign"
        assert json.loads(request.content) == {"assignee": "sam"}

    async def test_a_204_is_a_success_naming_what_went(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            assert request.content == b""
            return httpx.Response(204)

        result = await perform(
            _target(handler), "delete_product", _spec("delete_product"), {"id": "p1"}
        )
        assert result["data"] == {"id": "p1", "deleted": True}

    async def test_a_non_2xx_is_a_failure_with_status_and_detail(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            del request
            return httpx.Response(409, json={"detail": "cannot move delivered to paid"})

        result = await perform(
            _target(handler),
            "update_order_status",
            _spec("update_order_status"),
            {"id": "o1", "status": "paid"},
        )
        assert result["success"] is False
        assert result["error"] == (
            "Platform API error 409 on PUT /api/orders/o1/status: cannot move delivered to paid"
        )

    async def test_a_non_json_error_gives_the_status(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            del request
            return httpx.Response(502, text="<html>bad gateway</html>")

        result = await perform(_target(handler), "send_sms", _spec("send_sms"), {"to": "1"})
        assert result["error"].endswith(": HTTP 502")

    @pytest.mark.parametrize(
        ("error", "expected"),
        [
            (httpx.ConnectError("refused"), "unreachable on POST /api/notifications/sms"),
            (httpx.ReadTimeout("slow"), "timed out after 5s on POST /api/notifications/sms"),
        ],
    )
    async def test_network_failures_are_failed_results(
        self, error: httpx.HTTPError, expected: str
    ) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            del request
            raise error

        result = await perform(_target(handler), "send_sms", _spec("send_sms"), {"to": "1"})
        assert result["success"] is False
        assert expected in result["error"]

    async def test_a_platform_crash_in_process_is_a_500_result(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            del request
            raise RuntimeError("platform bug")

        with caplog.at_level(logging.ERROR):
            result = await perform(_target(handler), "send_sms", _spec("send_sms"), {"to": "1"})
        assert result["error"].startswith("Platform API error 500")
        assert "platform call failed" in caplog.text


class TestRetries:
    """A keyed action (`attempts` > 1) is sent again on a transient failure, within its timeout."""

    @staticmethod
    def _flaky(failures: list[httpx.Response | Exception]) -> tuple[Handler, list[int]]:
        calls: list[int] = []

        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(1)
            if failures:
                failure = failures.pop(0)
                if isinstance(failure, Exception):
                    raise failure
                return failure
            return httpx.Response(201, json={"id": "n1"})

        return handler, calls

    async def test_a_5xx_or_a_dropped_connection_is_tried_again(self) -> None:
        handler, calls = self._flaky([httpx.Response(503), httpx.ReadError("dropped")])
        target = dataclasses.replace(_target(handler), attempts=3, retry_pause_seconds=0)
        body = {"to": "a@b.c", "subject": "Hi"}
        result = await perform(target, "send_email", _spec("send_email"), body)
        assert result["success"] is True
        assert len(calls) == 3

    async def test_the_last_failure_is_the_result(self) -> None:
        handler, calls = self._flaky([httpx.Response(500)] * 5)
        target = dataclasses.replace(_target(handler), attempts=2, retry_pause_seconds=0)
        result = await perform(target, "send_email", _spec("send_email"), {"to": "a@b.c"})
        assert result["success"] is False
        assert "500" in result["error"]
        assert len(calls) == 2

    async def test_an_unkeyed_action_is_sent_once(self) -> None:
        handler, calls = self._flaky([httpx.Response(503)])
        result = await perform(_target(handler), "send_email", _spec("send_email"), {"to": "x"})
        assert result["success"] is False
        assert len(calls) == 1

    async def test_a_refusal_is_not_tried_again(self) -> None:
        handler, calls = self._flaky([httpx.Response(422, json={"detail": "no"})])
        target = dataclasses.replace(_target(handler), attempts=3, retry_pause_seconds=0)
        result = await perform(target, "send_email", _spec("send_email"), {"to": "x"})
        assert result["success"] is False
        assert len(calls) == 1

    async def test_every_try_carries_a_fresh_credential_for_its_call(self) -> None:
        """The platform spends an assertion on first use: a retry with the same one would be
        refused (401) however transient the first failure was."""
        seen: list[str] = []
        signed: list[tuple[str, str]] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request.headers["Authorization"])
            return httpx.Response(503) if len(seen) < 3 else httpx.Response(201, json={})

        def credential_for(method: str, path: str) -> str:
            signed.append((method, path))
            return f"svc.{len(signed)}"

        target = dataclasses.replace(
            _target(handler), credential_for=credential_for, attempts=3, retry_pause_seconds=0
        )
        result = await perform(target, "delete_product", _spec("delete_product"), {"id": "a/b"})

        assert result["success"] is True
        assert seen == ["Bearer svc.1", "Bearer svc.2", "Bearer svc.3"]
        assert signed == [("DELETE", "/api/products/a/b")] * 3  # decoded, as the server routes
