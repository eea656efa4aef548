"""Logging in and out, sessions and CSRF (`web/login.py`, `web/auth.py`)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from bettercallsold.runtime import Runtime
from bettercallsold.tenancy.assertions import sign_assertion
from bettercallsold.types import TenantContext
from tests.integration.conftest import TenantHandle
from tests.integration.web.conftest import LogIn, csrf_in


class TestLogin:
    async def test_the_form_carries_a_csrf_token_and_its_cookie(
        self, browser: httpx.AsyncClient
    ) -> None:
        page = await browser.get("/login")
        assert page.status_code == 200
        assert csrf_in(page.text) == browser.cookies.get("bcs_login_csrf")

    async def test_a_bad_token_is_refused_without_a_session(
        self, browser: httpx.AsyncClient
    ) -> None:
        form = await browser.get("/login")
        answer = await browser.post(
            "/login", data={"api_token": "bcs_wrong", "csrf_token": csrf_in(form.text)}
        )
        assert answer.status_code == 401
        assert "not valid" in answer.text
        assert "bcs_session" not in answer.headers.get("set-cookie", "")
        assert (await browser.get("/flows")).status_code == 303

    async def test_a_service_assertion_is_not_a_login(
        self, browser: httpx.AsyncClient, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        secret = runtime.settings.secret_key
        assert secret is not None
        assertion = sign_assertion(
            secret.get_secret_value(), TenantContext(tenant.tenant_id), method="POST", path="/login"
        )
        form = await browser.get("/login")
        answer = await browser.post(
            "/login", data={"api_token": assertion, "csrf_token": csrf_in(form.text)}
        )
        assert answer.status_code == 401

    async def test_the_login_form_needs_its_csrf_token(
        self, browser: httpx.AsyncClient, tenant: TenantHandle
    ) -> None:
        await browser.get("/login")
        answer = await browser.post(
            "/login", data={"api_token": tenant.token, "csrf_token": "forged"}
        )
        assert answer.status_code == 403
        assert "bcs_session" not in answer.headers.get("set-cookie", "")

    async def test_a_good_token_opens_a_session_in_a_safe_cookie(
        self, browser: httpx.AsyncClient, tenant: TenantHandle
    ) -> None:
        form = await browser.get("/login")
        answer = await browser.post(
            "/login",
            data={"api_token": tenant.token, "csrf_token": csrf_in(form.text), "next": "/flows"},
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/flows"
        cookie = next(
            value
            for name, value in answer.headers.multi_items()
            if name == "set-cookie" and value.startswith("bcs_session=")
        )
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
        assert tenant.token not in cookie
        page = await browser.get("/flows")
        assert page.status_code == 200
        assert tenant.token not in page.text

    async def test_next_never_leaves_the_site(
        self, browser: httpx.AsyncClient, tenant: TenantHandle
    ) -> None:
        form = await browser.get("/login")
        answer = await browser.post(
            "/login",
            data={
                "api_token": tenant.token,
                "csrf_token": csrf_in(form.text),
                "next": "//evil.example/",
            },
        )
        assert answer.headers["location"] == "/"

    async def test_a_logged_in_browser_skips_the_form(
        self, logged_in: tuple[httpx.AsyncClient, str]
    ) -> None:
        http, _ = logged_in
        answer = await http.get("/login?next=/executions")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/executions"

    async def test_logging_in_again_ends_the_previous_session(
        self, browser: httpx.AsyncClient, tenant: TenantHandle, log_in: LogIn, web_app: FastAPI
    ) -> None:
        await log_in(browser, tenant.token)
        first = browser.cookies["bcs_session"]
        browser.cookies.clear()
        form = await browser.get("/login")
        browser.cookies.set("bcs_session", first)
        again = await browser.post(
            "/login", data={"api_token": tenant.token, "csrf_token": csrf_in(form.text)}
        )
        assert again.status_code == 303
        assert await _status_with_cookie(web_app, first) == 303, "the first session is over"


async def _status_with_cookie(web_app: FastAPI, session_cookie: str) -> int:
    """GET /flows with only this session cookie, from a client with no cookie jar of its own."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web_app), base_url="http://testserver"
    ) as other:
        answer = await other.get("/flows", headers={"Cookie": f"bcs_session={session_cookie}"})
        return answer.status_code


class TestSessionRequired:
    async def test_a_page_sends_a_stranger_to_the_login_form(
        self, browser: httpx.AsyncClient
    ) -> None:
        for path in ("/", "/flows", "/flows/new", "/executions", "/deliveries", "/activity"):
            answer = await browser.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next=")

    async def test_htmx_is_told_where_to_log_in(self, browser: httpx.AsyncClient) -> None:
        answer = await browser.get("/executions", headers={"HX-Request": "true"})
        assert answer.status_code == 401
        assert answer.headers["HX-Redirect"].startswith("/login")

    async def test_a_forged_cookie_is_no_session(self, browser: httpx.AsyncClient) -> None:
        browser.cookies.set("bcs_session", "made-up")
        assert (await browser.get("/flows")).status_code == 303


class TestCsrf:
    async def test_a_post_without_the_token_is_forbidden(
        self, logged_in: tuple[httpx.AsyncClient, str]
    ) -> None:
        http, _ = logged_in
        for path in ("/logout", "/flows"):
            answer = await http.post(path, data={"name": "x"})
            assert answer.status_code == 403, path
        assert (await http.get("/flows")).status_code == 200, "the session survives"

    async def test_a_wrong_token_is_forbidden(
        self, logged_in: tuple[httpx.AsyncClient, str]
    ) -> None:
        http, _ = logged_in
        answer = await http.post("/logout", headers={"X-CSRF-Token": "wrong"})
        assert answer.status_code == 403

    async def test_the_token_of_another_session_is_forbidden(
        self,
        logged_in: tuple[httpx.AsyncClient, str],
        web_app: FastAPI,
        tenant: TenantHandle,
        log_in: LogIn,
    ) -> None:
        http, token = logged_in
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web_app), base_url="http://testserver"
        ) as other:
            other_token = await log_in(other, tenant.token)
        assert other_token != token
        answer = await http.post("/logout", headers={"X-CSRF-Token": other_token})
        assert answer.status_code == 403


class TestLogout:
    async def test_logout_ends_the_session(
        self, logged_in: tuple[httpx.AsyncClient, str], web_app: FastAPI
    ) -> None:
        http, csrf = logged_in
        stolen = http.cookies["bcs_session"]
        assert await _status_with_cookie(web_app, stolen) == 200
        answer = await http.post("/logout", data={"csrf_token": csrf})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login"
        assert (await http.get("/flows")).status_code == 303
        assert await _status_with_cookie(web_app, stolen) == 303, "the old cookie is dead"


async def test_pages_cannot_be_framed_by_another_site(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert page.headers["x-frame-options"] == "DENY"
    api = await client.get("/healthz")
    assert "x-frame-options" not in api.headers  # JSON answers are not pages
