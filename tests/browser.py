"""A live rathaus server in a thread and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn
from starlette.types import ASGIApp

from conftest import MODEL_CACHE, free_port
from rathaus.app import create_app
from rathaus.runtime import Runtime

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@contextmanager
def live_server(runtime: Runtime, app: ASGIApp | None = None) -> Iterator[str]:
    """uvicorn on loopback serving ``app`` (default: rathaus on ``runtime``) in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app or create_app(runtime), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


#: where the browser tests put their screenshots: the docs' own pictures with RATHAUS_UPDATE_SCREENSHOTS=1, else a
#: temporary folder (a test run leaves the checkout as it was)
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
SCREENSHOTS = (DOCS_SCREENSHOTS if os.environ.get("RATHAUS_UPDATE_SCREENSHOTS")
               else Path(tempfile.gettempdir()) / "rathaus-screenshots")

AXE_JS = MODEL_CACHE / "node" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """Run the axe-core audit (WCAG 2.1 A/AA rules) on the page; one readable line per violation."""
    if not AXE_JS.is_file():
        raise RuntimeError(f"axe-core missing at {AXE_JS}; scripts/test installs it")
    # through the DevTools protocol: the pages' Content-Security-Policy (script-src 'self') refuses an injected
    # inline <script>, as it should, but DevTools evaluation is outside the page's policy
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("Runtime.evaluate", {"expression": AXE_JS.read_text(encoding="utf-8")})
    finally:
        cdp.detach()
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})")
    return [f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes'][:3]]}"
            for v in result["violations"] if v["impact"] in impacts]


def sign_in(site: dict[str, Any], user: str, name: str, path: str) -> Any:
    """A fresh browser context signed in as ``user`` at the test identity provider's form (tests/oidc_provider.py);
    checks the page shows ``name``; returns the page."""
    context = site["browser"].new_context(viewport={"width": 1360, "height": 900}, locale="de-DE")
    page = context.new_page()
    page.goto(site["url"] + path)
    page.wait_for_selector("select#user")  # the identity provider's sign-in form
    page.select_option("select#user", user)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(site["url"]) + ".*"))
    page.wait_for_selector("#who")
    assert name in page.inner_text("#who")
    return page


def sql(site: dict[str, Any], query: str, **params: Any) -> Any:
    """Rows of ``query`` on the live site's database."""
    with site["runtime"].db.engine.connect() as conn:
        return conn.execute(sa.text(query), params).all()
