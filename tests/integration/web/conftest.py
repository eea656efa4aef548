"""Web fixtures: the app with the UI's router, a browser-like client, logging in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from bettercallsold.web.routes import router as web_router
from tests.integration.conftest import TenantHandle

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
_CSRF_HEADER = re.compile(r'"X-CSRF-Token": "([^"]+)"')


@pytest.fixture(scope="session")
def web_app(app: FastAPI) -> FastAPI:
    """The session's app, with the UI's router if `app.py` does not include it (yet)."""
    if not any(getattr(route, "path", None) == "/login" for route in app.routes):
        app.include_router(web_router)
    return app


@pytest.fixture
async def browser(web_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps cookies and does not follow redirects, like a careful browser."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web_app), base_url="http://testserver"
    ) as http:
        yield http


def csrf_in(html: str) -> str:
    """The CSRF token a page carries (its forms' field, or the `hx-headers` on `<body>`)."""
    found = _CSRF_FIELD.search(html) or _CSRF_HEADER.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


LogIn = Callable[[httpx.AsyncClient, str], Awaitable[str]]


async def _log_in(http: httpx.AsyncClient, token: str) -> str:
    """Log in through the form; returns the session's CSRF token."""
    form = await http.get("/login")
    answer = await http.post(
        "/login", data={"api_token": token, "csrf_token": csrf_in(form.text), "next": "/flows"}
    )
    assert answer.status_code == 303, answer.text
    page = await http.get("/flows")
    assert page.status_code == 200, page.text
    return csrf_in(page.text)


@pytest.fixture
def log_in() -> LogIn:
    return _log_in


@pytest.fixture
async def logged_in(
    browser: httpx.AsyncClient, tenant: TenantHandle
) -> tuple[httpx.AsyncClient, str]:
    """A browser logged in as a fresh tenant, and its CSRF token."""
    return browser, await _log_in(browser, tenant.token)
