"""`/docs`: Swagger UI over `/openapi.json`, loaded from this app's own `/static/vendor/`.

FastAPI's built-in page loads Swagger UI from a CDN (cdn.jsdelivr.net) and its favicon from
fastapi.tiangolo.com; users' machines have no internet, so `create_app` turns that page off and
includes this router instead. The files come from the `swagger-ui-dist` npm package
(`package-lock.json`, copied by `npm run vendor`) and are served by the UI's static route.
There is no `/redoc`, and no OAuth2 redirect page: the API's only scheme is a bearer token.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

# Swagger UI's validator badge calls validator.swagger.io; FastAPI's layout does not show it, but
# a switch to Swagger's standalone layout would, so it stays off here.
_SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """The page links only paths on this server (behind the proxy's `root_path`, if any); a
    missing static route fails here rather than in the browser."""
    root = str(request.scope.get("root_path", "")).rstrip("/")

    def vendored(name: str) -> str:
        return root + str(request.app.url_path_for("web_static", path=f"vendor/{name}"))

    return get_swagger_ui_html(
        openapi_url=root + str(request.app.openapi_url),
        title=f"{request.app.title} API",
        swagger_js_url=vendored("swagger-ui-bundle.js"),
        swagger_css_url=vendored("swagger-ui.css"),
        swagger_favicon_url=vendored("swagger-ui-favicon-32x32.png"),
        oauth2_redirect_url=None,
        swagger_ui_parameters=_SWAGGER_UI_PARAMETERS,
    )
