"""Jinja2 pages: one environment, a few filters, and the context every page gets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bettercallsold.web.sessions import ActiveSession
from bettercallsold.web.wording import (
    leaf_verdicts,
    operator_words,
    plain_error,
    step_label,
    verdict_words,
)

TEMPLATES_DIR = Path(__file__).parent / "templates"
_templates = Jinja2Templates(directory=TEMPLATES_DIR)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, default=str)


def _when(value: Any) -> str:
    """An ISO 8601 instant as `2026-11-24 10:00:03 UTC`, or the text as it came."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + " UTC"


def duration_ms(started: Any, completed: Any) -> int | None:
    try:
        start = datetime.fromisoformat(str(started).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(completed).replace("Z", "+00:00"))
    except ValueError:
        return None
    return round((end - start).total_seconds() * 1000)


def _duration(milliseconds: Any) -> str:
    if milliseconds is None:
        return "—"
    value = float(milliseconds)
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.2f} s"


_templates.env.filters["pretty"] = _pretty
_templates.env.filters["when"] = _when
_templates.env.filters["duration"] = _duration
_templates.env.globals["duration_ms"] = duration_ms
_templates.env.filters["plain_error"] = plain_error
_templates.env.filters["verdict_words"] = verdict_words
_templates.env.filters["step_label"] = step_label
_templates.env.filters["leaf_verdicts"] = leaf_verdicts
_templates.env.filters["operator_words"] = operator_words


def render(
    request: Request,
    name: str,
    session: ActiveSession | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page or fragment; `csrf` (for forms and `hx-headers`) comes from the session."""
    context.setdefault("csrf", session.csrf_token if session else "")
    context.setdefault("section", "")
    response: HTMLResponse = _templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=headers
    )
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def not_found(request: Request, session: ActiveSession, message: str, back: str) -> HTMLResponse:
    return render(request, "not_found.html", session, status_code=404, message=message, back=back)
