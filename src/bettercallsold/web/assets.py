"""The UI's static files (CSS, JS and the vendored npm libraries), served by the web router.

A route rather than a mount, so `app.py` only includes routers. Paths are resolved inside
`static/` and nothing outside it is ever served.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC_DIR = (Path(__file__).parent / "static").resolve()

router = APIRouter()


@router.get("/static/{path:path}", name="web_static")
def static_file(path: str) -> FileResponse:
    target = (STATIC_DIR / path).resolve()
    if not target.is_relative_to(STATIC_DIR) or not target.is_file():
        raise HTTPException(404, "not found")
    return FileResponse(target, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/favicon.ico", name="web_favicon")
def favicon() -> FileResponse:
    """The brand mark (an SVG: every browser that asks for /favicon.ico reads it)."""
    return FileResponse(
        STATIC_DIR / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )
