"""Browser fixtures: a real server on a free port, Debian's Chromium driven by Playwright.

The server runs in its own process (`serve.py`, like `bcs serve`: APIs, UI and workers) on a
database of its own on the test PostgreSQL server, so its workers never take jobs of the
in-process integration tests. Without /usr/bin/chromium every browser test is skipped, with
the reason (`scripts/ensure-browser.sh` installs it where the user may install packages).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from bettercallsold.db.migrate import migrate
from bettercallsold.db.url import libpq_url, with_database

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: run scripts/ensure-browser.sh (as root or with sudo) "
            "to install Debian's chromium for the browser tests"
        )


@pytest.fixture(scope="package")
def chromium_path() -> Path:
    """Debian's Chromium; asked for first, so a missing browser skips before any setup."""
    _require_chromium()
    return CHROMIUM


@pytest.fixture(scope="package")
def server_database(database_url: str) -> Iterator[str]:
    name = f"bcs_browser_{uuid.uuid4().hex[:12]}"
    url = with_database(database_url, name)
    migrate(url)
    yield url
    admin_url = libpq_url(with_database(database_url, "postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    url: str
    env: dict[str, str]

    def create_tenant(self) -> tuple[str, str]:
        """`bcs tenants create`: a fresh tenant's id and API token."""
        name = f"browser-{uuid.uuid4().hex[:10]}"
        done = subprocess.run(
            [str(Path(sys.executable).parent / "bcs"), "tenants", "create", name],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"bcs tenants create failed:\n{done.stderr[-2000:]}"
        issued = json.loads(done.stdout.strip().splitlines()[-1])
        return issued["tenant_id"], issued["api_token"]

    def api(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )


@pytest.fixture(scope="package")
def server(chromium_path: Path, server_database: str, var_dir: Path) -> Iterator[Server]:
    del chromium_path
    port = _free_port()
    env = {
        **os.environ,
        "BCS_DATABASE_URL": server_database,
        "BCS_VAR_DIR": str(var_dir),
        "BCS_LOG_LEVEL": "WARNING",
    }
    log = (var_dir / f"browser-server-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.browser.serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield Server(url=url, env=env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}; see its log")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not answer /healthz within 60 s")


@pytest.fixture(scope="package")
def chromium(chromium_path: Path) -> Iterator[Browser]:
    """One headless Debian Chromium for the package (never a Playwright-downloaded build)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser, server: Server) -> Iterator[Page]:
    context = chromium.new_context(viewport=VIEWPORT, base_url=server.url)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def screenshot(page: Page, name: str) -> None:
    """The viewport (1280 by 800) from the top of the page, as a merchant first sees it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def log_in(page: Page, token: str) -> None:
    page.goto("/login")
    page.fill("#api_token", token)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Flows")


def drag(page: Page, source: Locator, x: float, y: float) -> None:
    """Drag with real mouse events, in steps, as SortableJS (in fallback mode) expects them;
    `page.drag_and_drop` sends too few moves for Sortable to see a drag."""
    box = source.bounding_box()
    assert box is not None, "the element to drag is not on screen"
    assert 0 <= y <= page.viewport_size["height"] if page.viewport_size else True, "drop off screen"
    start_x, start_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(start_x, start_y)
    page.mouse.down()
    page.mouse.move(start_x + 8, start_y + 8, steps=4)
    page.mouse.move(x, y, steps=25)
    page.wait_for_timeout(120)
    page.mouse.move(x, y + 2, steps=2)
    page.mouse.up()


def drag_onto_flow_end(page: Page, source: Locator) -> None:
    """Drop below the flow's last step (the list keeps a drop zone at its bottom)."""
    page.locator("#flow-steps").evaluate("list => list.scrollIntoView({block: 'end'})")
    source.scroll_into_view_if_needed()
    steps = page.locator("#flow-steps").bounding_box()
    assert steps is not None
    drag(page, source, steps["x"] + steps["width"] / 2, steps["y"] + steps["height"] - 16)


PHONE = {"width": 390, "height": 844}
AXE = ROOT / "src/bettercallsold/web/static/vendor/axe.min.js"


def axe_violations(page: Page) -> list[dict[str, object]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, object]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations
              .filter(v => v.impact === 'serious' || v.impact === 'critical')
              .map(v => ({id: v.id, impact: v.impact, help: v.help,
                          nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return found


def check_page(page: Page, name: str) -> None:
    """Every page, as a merchant sees it: no serious or critical accessibility problem,
    screenshots at 1280 px and 390 px, and nothing wider than a 390 px phone."""
    assert axe_violations(page) == [], f"{name}: accessibility violations"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or VIEWPORT
    page.set_viewport_size({"width": 1280, "height": 800})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}-1280.png"))
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(50)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}-390.png"))
    wide = page.evaluate("document.documentElement.scrollWidth")
    widest = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > innerWidth + 1)
            .slice(0, 3).map(e => e.tagName + '.' + e.className)"""
    )
    assert wide <= PHONE["width"], f"{name}: {wide} px wide on a 390 px phone: {widest}"
    assert axe_violations(page) == [], f"{name}: accessibility violations at 390 px"
    page.set_viewport_size(size)
