"""Security headers on every page (issue 13): CSP without inline scripts, no framing but for the widget,
Referrer-Policy, Permissions-Policy, COOP, HSTS behind TLS; and the pages still work under that CSP in Chromium."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from browser import chromium, live_server
from oidc_provider import OidcProvider
from rathaus.api.body_limits import flat_routes
from rathaus.app import create_app
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime

PAGES = {"/", "/chat", "/chat/{chat_id}", "/assistants", "/assistants/{assistant_id}", "/admin", "/embed/{name}",
         "/docs"}
HTML_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy", "permissions-policy")


def csp(resp) -> dict[str, str]:
    """The Content-Security-Policy as directive -> sources."""
    policy = {}
    for part in resp.headers["content-security-policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        policy[name] = value
    return policy


def html_pages(client: TestClient) -> dict[str, object]:
    """GET every route outside the API description (the pages) and keep those that answered HTML."""
    chat = client.post("/api/v1/chats", json={"title": "Kopfzeilen"}).json()
    samples = {"chat_id": chat["id"], "name": "ki-roadmap", "assistant_id": "00000000-0000-0000-0000-000000000000"}
    pages = {}
    for route in flat_routes(client.app.routes):
        if "GET" not in (getattr(route, "methods", None) or ()):
            continue  # mounts (static files) and other methods
        if getattr(route, "include_in_schema", False) and hasattr(route, "dependant"):
            continue  # the JSON API
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: samples.get(m.group(1), "x"), route.path)
        resp = client.get(path, follow_redirects=False)
        if resp.headers.get("content-type", "").startswith("text/html"):
            pages[route.path] = resp
    return pages


def test_every_html_page_has_the_security_headers(client: TestClient) -> None:
    pages = html_pages(client)
    assert set(pages) >= PAGES, f"pages not found or not HTML: {PAGES - set(pages)}"
    for path, resp in pages.items():
        for header in HTML_HEADERS:
            assert header in resp.headers, f"{path} lacks {header}"
        policy = csp(resp)
        assert policy["script-src"] == "'self'", path  # no inline scripts, no eval, no CDN
        assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'", path
        assert "unsafe-inline" not in policy["default-src"] + policy["script-src"], path
        assert policy["style-src"] == "'self'", path  # no inline styles either, Swagger UI included
        assert resp.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "camera=()" in resp.headers["permissions-policy"]
        assert "microphone=()" in resp.headers["permissions-policy"]
        assert "geolocation=()" in resp.headers["permissions-policy"]
        assert "strict-transport-security" not in resp.headers, path  # plain http
        if path == "/embed/{name}":
            continue
        assert resp.headers["x-frame-options"] == "DENY", path
        assert policy["frame-ancestors"] == "'none'", path
        assert resp.headers["cross-origin-opener-policy"] == "same-origin", path
        assert policy["form-action"] == "'self'", path


def test_no_template_has_inline_scripts_styles_or_handlers() -> None:
    """What the CSP would block is not in the templates: only data blocks (type="application/json")."""
    templates = Path(__file__).resolve().parents[2] / "src" / "rathaus" / "web" / "templates"
    for template in templates.glob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, f"{template.name}: {tag}"
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert not re.search(r"\sstyle\s*=|<style\b", text), template.name


def test_only_the_widget_page_may_be_framed(make_settings: Callable[..., Settings]) -> None:
    rt = Runtime(make_settings())
    try:
        with TestClient(create_app(rt)) as c:
            embed = c.get("/embed/ki-roadmap")
            assert embed.status_code == 200
            assert csp(embed)["frame-ancestors"] == "*" and "x-frame-options" not in embed.headers
            assert "cross-origin-opener-policy" not in embed.headers
            assert csp(embed)["script-src"] == "'self'"
            assert csp(c.get("/chat"))["frame-ancestors"] == "'none'"
            rt.settings.embed_allowed_origins = "https://www.muenchen.de, https://*.muenchen.de"
            embed = c.get("/embed/ki-roadmap")
            assert csp(embed)["frame-ancestors"] == "https://www.muenchen.de https://*.muenchen.de"
            assert c.get("/").headers["x-frame-options"] == "DENY"
    finally:
        rt.close()


@pytest.mark.parametrize("value", ["https://a.example; script-src *", "https://a.example\r\nX-Evil: 1", "", "ftp://x"])
def test_embed_origins_setting_refuses_what_is_no_source_list(make_settings: Callable[..., Settings],
                                                             value: str) -> None:
    with pytest.raises(ValidationError, match=r"embed_allowed_origins[\s\S]*not a web origin"):
        make_settings(embed_allowed_origins=value)


def test_hsts_over_tls_or_when_configured(make_settings: Callable[..., Settings]) -> None:
    rt = Runtime(make_settings())
    try:
        app = create_app(rt)
        with TestClient(app, base_url="https://rathaus.example") as tls:
            for path in ("/", "/healthz", "/api/v1/chats"):
                assert tls.get(path).headers["strict-transport-security"] == "max-age=31536000", path
        with TestClient(app) as plain:
            assert "strict-transport-security" not in plain.get("/").headers
            rt.settings.hsts = True  # TLS ends at a proxy rathaus does not trust for the scheme
            assert plain.get("/").headers["strict-transport-security"] == "max-age=31536000"
            assert plain.get("/healthz").headers["strict-transport-security"] == "max-age=31536000"
    finally:
        rt.close()


def test_api_answers_are_not_cached_nor_sniffed(client: TestClient) -> None:
    chat = client.post("/api/v1/chats", json={"title": "Privat"})
    for resp in (chat, client.get("/api/v1/chats"), client.get("/api/v1/chats/nope"), client.get("/v1/models")):
        assert resp.headers["cache-control"] == "no-store", resp.url
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in resp.headers  # JSON: the page policy does not apply
    assert client.get("/widget.js").headers["cache-control"] == "public, max-age=3600"  # the route's own choice


def test_api_docs_are_served_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text), "the docs page loads nothing from elsewhere"
    assert "<script>" not in page.text
    for asset in re.findall(r"(?:src|href)=\"(/[^\"]+)\"", page.text):
        assert client.get(asset).status_code == 200, asset
    assert client.get("/openapi.json").json()["info"]["title"] == "rathaus"
    assert client.get("/redoc").status_code == 404  # it would need a CDN


def test_login_error_page_has_the_headers_and_lets_sign_out_reach_the_idp(
        make_settings: Callable[..., Settings]) -> None:
    rt = Runtime(make_settings(auth_mode="oidc", oidc_issuer="http://127.0.0.1:9/realms/stadt", oidc_audience="rathaus",
                               oidc_client_id="rathaus-web", cookie_secure=False))
    try:
        with TestClient(create_app(rt)) as c:
            page = c.get("/login")  # the identity provider cannot be reached
            assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
            assert page.headers["x-frame-options"] == "DENY"
            assert csp(page)["form-action"] == "'self' http://127.0.0.1:9"
    finally:
        rt.close()


# --- in a real browser --------------------------------------------------------------------------------------------

CSP_LISTENER = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
    (e) => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile));
"""


def watch(page) -> list[str]:
    """Console errors of the page (CSP violations are logged there too); the browser's favicon probe aside."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and
            not m.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def violations(page) -> list[str]:
    return page.evaluate("window.__violations")


@pytest.fixture
def foreign_site(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A web page of another origin (the city's portal) on loopback."""
    site = tmp_path / "site"
    site.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(site), **kw)

        def log_message(self, *a):
            pass

    host = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    try:
        yield site, f"http://127.0.0.1:{host.server_port}"
    finally:
        host.shutdown()


def test_pages_work_in_chromium_without_csp_violations(runtime: Runtime, foreign_site, tmp_path: Path) -> None:
    site, foreign = foreign_site
    runtime.settings.upload_max_mb = 1  # the chat page checks each file against it and sends one per request
    small, big = tmp_path / "vermerk.txt", tmp_path / "akte.txt"
    small.write_text("Vermerk: Die Stadtbibliothek öffnet am Montag um 10 Uhr.\n")
    big.write_text("Akte. " * 250_000)
    with live_server(runtime) as url, chromium() as browser:
        context = browser.new_context(locale="de-DE")
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        errors = watch(page)

        page.goto(url + "/")  # the playground's script fills the model list for the data class
        page.select_option("#data-class", "personenbezogen")
        assert page.locator("#model option").all_inner_texts() == ["local-chat"]
        page.click("#send")
        assert page.locator("#error").inner_text() == "Bitte geben Sie einen Text ein."
        assert violations(page) == []

        page.goto(url + "/chat")  # chat.js runs: models follow the data class, a chat is created
        page.select_option("#data-class", "personenbezogen")
        assert "local-chat" in page.locator("#model option").all_inner_texts()
        page.set_input_files("#files", [str(small), str(big)])
        page.click("#upload-button")
        page.wait_for_selector("#docs-on", timeout=60_000)
        assert page.locator("#status").inner_text() == "1 ✓, 1 ✗"
        assert page.locator("#alert").inner_text() == "akte.txt: Datei zu groß (höchstens 1 MB je Datei)"
        assert violations(page) == []

        page.goto(url + "/embed/ki-roadmap")
        page.click("#send")  # empty question: the page's script answers with a message
        page.wait_for_selector("#error:not([hidden])")
        assert violations(page) == []

        page.goto(url + "/docs")  # Swagger UI from this server renders the operations
        page.wait_for_selector(".opblock", timeout=30_000)
        assert page.locator(".opblock").count() > 20
        page.click(".opblock-get .opblock-summary-path[data-path='/v1/models']")
        page.click(".try-out__btn")
        page.click(".execute")  # "Try it out" calls the API from the page (connect-src 'self')
        page.wait_for_selector(".live-responses-table .response-col_status:has-text('200')", timeout=30_000)
        assert violations(page) == []
        assert errors == [], errors

        # another origin may frame the widget's page but not the app
        (site / "index.html").write_text(
            f'<!doctype html><html lang="de"><head><title>Portal</title></head><body>'
            f'<iframe id="widget" title="w" src="{url}/embed/ki-roadmap"></iframe>'
            f'<iframe id="app" title="a" src="{url}/chat"></iframe></body></html>')
        portal = context.new_page()
        blocked = watch(portal)
        portal.goto(foreign + "/")
        portal.frame_locator("#widget").locator("#question").wait_for()
        portal.wait_for_timeout(500)
        assert portal.frame_locator("#app").locator("#prompt").count() == 0  # the chat did not load in it
        assert any("frame-ancestors" in e or "X-Frame-Options" in e for e in blocked), blocked
        context.close()


def test_sign_out_form_may_redirect_to_the_identity_provider(pg_data_dir: Path, models_file: Path) -> None:
    """CSP form-action allows the issuer's origin: the logout form's redirect to end-session is not blocked."""
    import uuid

    from conftest import MODEL_CACHE

    users = {"anna": {"name": "Anna Amt", "department": "KVR", "roles": ["user"]}}
    with OidcProvider(users=users) as idp:
        settings = Settings(_env_file=None, data_dir=pg_data_dir, cache_dir=MODEL_CACHE,  # type: ignore[call-arg]
                            database_name="t_" + uuid.uuid4().hex[:12], models_file=models_file, llm_threads=2,
                            **idp.settings())
        rt = Runtime(settings)
        try:
            with live_server(rt) as url, chromium() as browser:
                context = browser.new_context(locale="de-DE")
                context.add_init_script(CSP_LISTENER)
                page = context.new_page()
                errors = watch(page)
                page.goto(url + "/chat")
                page.wait_for_selector("select#user")
                page.select_option("select#user", "anna")
                page.click("button[type=submit]")
                page.wait_for_selector("#who")
                assert violations(page) == []
                page.click("form[action='/logout'] button")
                page.wait_for_function("() => !document.querySelector('#who')", timeout=30_000)
                assert len(idp.logouts) == 1
                assert not [e for e in errors if "form-action" in e], errors
                context.close()
        finally:
            rt.close()
