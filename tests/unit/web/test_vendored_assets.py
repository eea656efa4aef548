"""The vendored front-end libraries are the ones `package-lock.json` pins."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
VENDOR = ROOT / "src" / "bettercallsold" / "web" / "static" / "vendor"


def test_vendored_versions_match_the_lockfile() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    vendored = json.loads((VENDOR / "VERSIONS.json").read_text())
    for name, version in vendored.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name
    assert set(vendored) == set(lock["packages"][""]["dependencies"])


def test_every_library_the_pages_load_is_there() -> None:
    for name in (
        "htmx.min.js",
        "Sortable.min.js",
        "htmx.LICENSE",
        "Sortable.LICENSE",
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-ui-favicon-32x32.png",
        "swagger-ui-bundle.js.LICENSE.txt",
        "swagger-ui.LICENSE",
        "swagger-ui.NOTICE",
        "uPlot.iife.min.js",
        "uPlot.min.css",
        "uPlot.LICENSE",
    ):
        assert (VENDOR / name).stat().st_size > 0, name
