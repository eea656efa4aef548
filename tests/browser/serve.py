"""`bcs serve` for the browser tests: the whole app (and its workers) under uvicorn.

Settings come from the environment the fixture gives (`BCS_DATABASE_URL`, `BCS_VAR_DIR`), as
for `bcs serve`. The UI's router is included here only while `app.py` does not include it.
"""

from __future__ import annotations

import argparse

import uvicorn

from bettercallsold.app import create_app
from bettercallsold.settings import Settings
from bettercallsold.web.routes import router as web_router


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    application = create_app(Settings(), run_worker=True)
    if not any(getattr(route, "path", None) == "/login" for route in application.routes):
        application.include_router(web_router)
    uvicorn.run(
        application, host="127.0.0.1", port=arguments.port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
