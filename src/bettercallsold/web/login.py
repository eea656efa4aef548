"""Logging in with the tenant's API token, and out.

The token is checked once, then forgotten: the browser gets a session cookie (random id,
HttpOnly, SameSite=Lax, Secure over https) and the page never sees the token again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bettercallsold.db.session import RuntimeDep
from bettercallsold.types import utcnow
from bettercallsold.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SessionDep,
    is_https,
    login_csrf_token,
    safe_next,
    set_login_csrf_cookie,
    tenant_for_token,
    tokens_match,
)
from bettercallsold.web.rendering import render
from bettercallsold.web.sessions import MAX_LIFETIME, close_session, find_session, open_session

router = APIRouter()


@router.get("/login", response_model=None)
async def login_form(request: Request, runtime: RuntimeDep, next: str = "/") -> Response:
    """The login form; a browser that already has a session goes straight on."""
    current = request.cookies.get(SESSION_COOKIE, "")
    if current and await find_session(runtime, current, utcnow()) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, safe_next(next))


def _login_form(
    request: Request, next_path: str, error: str = "", status_code: int = 200
) -> HTMLResponse:
    token = login_csrf_token(request)
    response = render(
        request, "login.html", next=next_path, error=error, status_code=status_code, csrf=token
    )
    set_login_csrf_cookie(request, response, token)
    return response


@router.post("/login", response_model=None)
async def login(
    request: Request,
    runtime: RuntimeDep,
    api_token: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the token with tenancy's authentication and open a server-side session."""
    next_path = safe_next(next)
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        return _login_form(request, next_path, "Your login form expired; please try again.", 403)
    tenant_id = await tenant_for_token(runtime, api_token)
    if tenant_id is None:
        return _login_form(request, next_path, "That API token is not valid.", 401)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        # A new login never keeps the old session id alive (no fixation, no leftovers).
        await close_session(runtime, previous)
    issued = await open_session(runtime, tenant_id, utcnow())
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issued.cookie_value,
        max_age=int(MAX_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, runtime: RuntimeDep, session: SessionDep) -> RedirectResponse:
    """End the session (CSRF-checked like every other POST) and forget the cookie."""
    del session
    await close_session(runtime, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
