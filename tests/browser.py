"""A live rathaus server in a thread and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.types import ASGIApp

from conftest import MODEL_CACHE, free_port
from rathaus.api.app import create_app
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
