"""Cookies behind a TLS-terminating proxy (`BCS_TRUSTED_PROXIES`, uvicorn's
`ProxyHeadersMiddleware` in `app.py`): `X-Forwarded-Proto: https` from a listed proxy makes the
session and login-CSRF cookies `Secure`; the same header from anyone else changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from bettercallsold.app import create_app
from bettercallsold.settings import Settings
from tests.integration.conftest import TenantHandle
from tests.integration.web.conftest import csrf_in

PROXY = "10.20.0.7"
OUTSIDER = "203.0.113.9"
FORWARDED_TLS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4"}


@pytest.fixture(scope="module")
async def proxied_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app as deployed behind proxies in 10.20.0.0/16."""
    application = create_app(
        settings.model_copy(update={"trusted_proxies": ["10.20.0.0/16"]}), run_worker=False
    )
    async with application.router.lifespan_context(application):
        yield application


def _cookie(answer: httpx.Response, name: str) -> str:
    found = [
        value
        for header, value in answer.headers.multi_items()
        if header == "set-cookie" and value.startswith(f"{name}=")
    ]
    assert len(found) == 1, answer.headers
    return found[0]


def _is_secure(cookie: str) -> bool:
    return "secure" in [part.strip().lower() for part in cookie.split(";")]


async def _log_in_from(
    app: FastAPI, address: str, token: str
) -> tuple[httpx.Response, httpx.Response]:
    """The login form and the login answer, both sent from `address` with proxy headers; the
    CSRF cookie is echoed by hand (a jar would not send a `Secure` cookie over http)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://bcs.example") as http:
        form = await http.get("/login", headers=FORWARDED_TLS)
        csrf = csrf_in(form.text)
        http.cookies.clear()
        answer = await http.post(
            "/login",
            data={"api_token": token, "csrf_token": csrf},
            headers={**FORWARDED_TLS, "Cookie": f"bcs_login_csrf={csrf}"},
        )
    assert answer.status_code == 303, answer.text
    return form, answer


class TestSecureCookies:
    async def test_a_trusted_proxys_https_makes_the_cookies_secure(
        self, proxied_app: FastAPI, tenant: TenantHandle
    ) -> None:
        form, answer = await _log_in_from(proxied_app, PROXY, tenant.token)
        assert _is_secure(_cookie(form, "bcs_login_csrf"))
        assert _is_secure(_cookie(answer, "bcs_session"))

    async def test_the_same_header_from_an_untrusted_client_is_ignored(
        self, proxied_app: FastAPI, tenant: TenantHandle
    ) -> None:
        form, answer = await _log_in_from(proxied_app, OUTSIDER, tenant.token)
        assert not _is_secure(_cookie(form, "bcs_login_csrf"))
        assert not _is_secure(_cookie(answer, "bcs_session"))

    async def test_by_default_no_proxy_is_trusted_not_even_loopback(
        self, app: FastAPI, tenant: TenantHandle
    ) -> None:
        assert app.state.settings.trusted_proxies == []
        form, answer = await _log_in_from(app, "127.0.0.1", tenant.token)
        assert not _is_secure(_cookie(form, "bcs_login_csrf"))
        assert not _is_secure(_cookie(answer, "bcs_session"))
