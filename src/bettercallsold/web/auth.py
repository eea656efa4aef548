"""Who is using the UI: the session cookie, CSRF checks and the login token check.

Every page and fragment depends on `SessionDep`: no session sends a browser to the login page
(htmx requests get `HX-Redirect`), and every state-changing request must carry the session's
CSRF token, as the `X-CSRF-Token` header (htmx, from `hx-headers` on `<body>`) or as the
`csrf_token` form field (plain forms). The login form itself is protected by a double-submit
cookie, since there is no session yet.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response

from bettercallsold.db.session import RuntimeDep
from bettercallsold.tenancy.assertions import ASSERTION_PREFIX
from bettercallsold.tenancy.auth import tenant_for_api_token
from bettercallsold.types import utcnow
from bettercallsold.web.sessions import ActiveSession, find_session

SESSION_COOKIE = "bcs_session"
LOGIN_CSRF_COOKIE = "bcs_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _login_required(request: Request) -> HTTPException:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    location = "/login?next=" + quote(target, safe="")
    if is_htmx(request) or request.method not in _SAFE_METHODS:
        return HTTPException(401, "login required", headers={"HX-Redirect": location})
    return HTTPException(303, "login required", headers={"Location": location})


async def _submitted_csrf(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def tokens_match(expected: str, submitted: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), submitted.encode())


async def current_session(request: Request, runtime: RuntimeDep) -> ActiveSession:
    """The logged-in session; 303/401 without one, 403 on an unsafe request without its CSRF."""
    found = await find_session(runtime, request.cookies.get(SESSION_COOKIE, ""), utcnow())
    if found is None:
        raise _login_required(request)
    if request.method not in _SAFE_METHODS and not tokens_match(
        found.csrf_token, await _submitted_csrf(request)
    ):
        raise HTTPException(403, "CSRF token missing or invalid")
    return found


SessionDep = Annotated[ActiveSession, Depends(current_session)]


async def tenant_for_token(runtime: RuntimeDep, token: str) -> uuid.UUID | None:
    """The tenant an API token belongs to, checked by tenancy's bearer authentication.

    Service assertions are refused: they are short-lived internal credentials, not logins.
    """
    token = token.strip()
    if not token or token.startswith(ASSERTION_PREFIX):
        return None
    return await tenant_for_api_token(runtime, token)


def login_csrf_token(request: Request) -> str:
    """The login form's token: the one its cookie already holds, or a new one."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def set_login_csrf_cookie(request: Request, response: Response, token: str) -> None:
    """The double-submit cookie the login form must echo (there is no session yet)."""
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
        path="/login",
    )


def is_https(request: Request) -> bool:
    """Whether the browser reached us over TLS: the connection's scheme, or, behind a
    TLS-terminating proxy listed in `BCS_TRUSTED_PROXIES`, its `X-Forwarded-Proto` (uvicorn's
    `ProxyHeadersMiddleware`, added in `app.py`, rewrites the scheme; anyone else's header is
    ignored)."""
    return request.url.scheme == "https"


def safe_next(target: str | None) -> str:
    """Only a local path is followed after login (no open redirect to another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
