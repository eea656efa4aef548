"""Journey: a developer opens `/docs` on a machine without internet and reads the API."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Request, Route, expect

from tests.browser.conftest import Server


def test_the_api_docs_render_from_this_server_alone(page: Page, server: Server) -> None:
    ours = urlsplit(server.url).netloc
    requested: list[str] = []
    blocked: list[str] = []
    errors: list[str] = []

    def only_ours(route: Route, request: Request) -> None:
        # Blocked rather than let through, as on a user's machine: a page that needs a CDN
        # would then also fail to render, not only be reported.
        if urlsplit(request.url).netloc == ours:
            route.continue_()
        else:
            blocked.append(request.url)
            route.abort()

    page.context.route("**/*", only_ours)
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto("/docs", wait_until="networkidle")
    assert blocked == []
    assert errors == []
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.locator(".opblock-summary-path[data-path='/api/products']").first).to_be_visible()
    loaded = {urlsplit(url).path for url in requested if urlsplit(url).netloc == ours}
    assert {
        "/static/vendor/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui.css",
        "/openapi.json",
    } <= loaded
