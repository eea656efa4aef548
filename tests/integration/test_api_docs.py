"""`/docs` works on a machine without internet: every file it loads is served by the app."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx


class _Links(HTMLParser):
    """Every `src=` and `href=` on a page, whatever the tag."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        del tag
        self.found += [value for name, value in attrs if name in ("src", "href") and value]


async def _docs_links(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    parser = _Links()
    parser.feed(response.text)
    return parser.found


class TestSwaggerUi:
    async def test_the_page_links_only_paths_on_this_server(
        self, client: httpx.AsyncClient
    ) -> None:
        page = (await client.get("/docs")).text
        links = await _docs_links(client)
        assert any(link.endswith(".js") for link in links), links
        assert any(link.endswith(".css") for link in links), links
        for link in links:
            parts = urlsplit(link)
            assert (parts.scheme, parts.netloc) == ("", ""), link
            assert link.startswith("/"), link
        # Nor any absolute URL in the inline script (the OpenAPI URL, a validator, OAuth).
        assert re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page, re.IGNORECASE) is None

    async def test_every_linked_file_is_served(self, client: httpx.AsyncClient) -> None:
        links = await _docs_links(client)
        assert links
        for link in links:
            response = await client.get(link)
            assert response.status_code == 200, link
            assert len(response.content) > 500, link
        [script] = [link for link in links if link.endswith(".js")]
        assert b"SwaggerUIBundle" in (await client.get(script)).content

    async def test_it_loads_this_servers_openapi_document(self, client: httpx.AsyncClient) -> None:
        page = (await client.get("/docs")).text
        match = re.search(r"url: '([^']+)'", page)
        assert match is not None
        document = await client.get(match.group(1))
        assert document.status_code == 200
        assert "/api/products" in document.json()["paths"]

    async def test_the_page_is_not_an_api_operation(self, client: httpx.AsyncClient) -> None:
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert "/docs" not in paths


class TestFastApiBuiltInPages:
    async def test_the_cdn_pages_are_off(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/redoc")).status_code == 404
        assert (await client.get("/docs/oauth2-redirect")).status_code == 404
