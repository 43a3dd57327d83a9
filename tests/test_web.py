"""The start page in a real browser (Debian's Chromium via Playwright): German first, model playground."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import chromium, live_server
from rathaus.runtime import Runtime

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.fixture
def page(runtime: Runtime):
    with live_server(runtime) as url, chromium() as browser:
        context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
        pg = context.new_page()
        pg.base_url = url  # type: ignore[attr-defined]
        yield pg
        context.close()


def test_start_page_streams_an_answer_with_its_footprint(page) -> None:
    page.goto(page.base_url + "/")
    assert page.locator("h1").inner_text() == "rathaus – KI-Plattform der Stadtverwaltung"
    assert "Lokaler Einzelplatz-Modus" in page.locator(".banner").inner_text()
    # the model list follows the data class: the cloud model is offered for 'intern' only
    assert page.locator("#model option").all_inner_texts() == ["local-chat", "cloud-chat"]
    page.select_option("#data-class", "personenbezogen")
    assert page.locator("#model option").all_inner_texts() == ["local-chat"]
    page.fill("#prompt", "Nenne die Hauptstadt von Bayern in einem Wort.")
    page.keyboard.press("Tab")
    page.click("#send")
    page.wait_for_function("() => document.getElementById('footprint').textContent.includes('Wh')", timeout=120_000)
    assert page.locator("#answer").inner_text().strip()
    footprint = page.locator("#footprint").inner_text()
    assert "Token" in footprint and "€" in footprint and "CO₂e" in footprint and "local-chat" in footprint
    assert "KI erzeugt" in page.locator(".notice").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "start-page-de.png"), full_page=True)


def test_empty_prompt_and_refused_model_show_messages(page, runtime: Runtime) -> None:
    page.goto(page.base_url + "/")
    page.click("#send")
    assert page.locator("#error").inner_text() == "Bitte geben Sie einen Text ein."
    # the page offers no cloud model for personal data; if a manipulated page still asks for one,
    # the server refuses and the page shows the problem's detail
    page.select_option("#data-class", "personenbezogen")
    page.evaluate("""() => { const o = document.createElement('option'); o.value = 'cloud-chat';
        document.getElementById('model').appendChild(o); document.getElementById('model').value = 'cloud-chat'; }""")
    page.fill("#prompt", "Herr Müller, geb. 01.02.1960, wohnt in der Hauptstraße 1.")
    page.click("#send")
    page.wait_for_function("() => !document.getElementById('error').hidden")
    assert "cleared only for: oeffentlich, intern" in page.locator("#error").inner_text()


def test_english_on_request(page) -> None:
    page.goto(page.base_url + "/?lang=en")
    assert page.locator("h1").inner_text() == "rathaus – the city administration's AI platform"
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(page.base_url + "/")  # the choice is remembered
    assert page.locator("html").get_attribute("lang") == "en"
    page.screenshot(path=str(SCREENSHOTS / "start-page-en.png"), full_page=True)


def test_stop_ends_generation(page, runtime: Runtime) -> None:
    import sqlalchemy as sa

    page.goto(page.base_url + "/")
    page.fill("#prompt", "Zähle von 1 bis 200, jede Zahl in eine eigene Zeile.")
    page.click("#send")
    page.wait_for_function("() => document.getElementById('answer').textContent.length > 0", timeout=120_000)
    page.click("#stop")
    page.wait_for_function("() => document.getElementById('stop').disabled")  # the stream has ended
    assert page.locator("#error").is_hidden()
    # the server metered the request once the stream closed (cancelled, or finished if it was quicker)
    import time

    deadline, statuses = time.time() + 60, []
    while time.time() < deadline and not statuses:
        with runtime.db.engine.connect() as conn:
            statuses = conn.scalars(sa.text("SELECT status FROM usage_events WHERE use_case = 'playground'")).all()
        time.sleep(0.2)
    assert statuses and statuses[-1] in ("cancelled", "ok")


def test_widget_on_a_foreign_page_answers_and_takes_feedback(tmp_path, pg_data_dir, models_file) -> None:
    """A city web page on another origin includes the script tag; a citizen asks and rates the answer."""
    import threading
    import uuid
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    import sqlalchemy as sa

    from conftest import MODEL_CACHE
    from rathaus.core.auth import local_principal
    from rathaus.core.settings import Settings
    from rathaus.knowledge.samples import ensure_samples

    settings = Settings(_env_file=None, data_dir=pg_data_dir, cache_dir=MODEL_CACHE, models_file=models_file,
                        database_name="w_" + uuid.uuid4().hex[:8], llm_threads=2)
    rt = Runtime(settings)
    try:
        ensure_samples(rt, local_principal(settings))
        with live_server(rt) as rathaus_url, chromium() as browser:
            site = tmp_path / "site"
            site.mkdir()
            (site / "index.html").write_text(
                f'<!doctype html><html lang="de"><head><title>Stadtportal</title></head><body><h1>Stadtportal</h1>'
                f'<script src="{rathaus_url}/widget.js" data-assistant="ki-roadmap" async></script></body></html>')

            class Quiet(SimpleHTTPRequestHandler):
                def __init__(self, *a, **kw):
                    super().__init__(*a, directory=str(site), **kw)

                def log_message(self, *a):
                    pass

            host = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
            threading.Thread(target=host.serve_forever, daemon=True).start()
            page = browser.new_page(locale="de-DE", viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{host.server_port}/")
            page.click("button.rathaus-widget-button")
            frame = page.frame_locator("iframe.rathaus-widget-frame")
            frame.locator("#question").fill("Was meldet der Abfallwirtschaftsbetrieb München zur Beschlussvorlage?")
            frame.locator("#send").click()
            frame.locator(".answer .sources li").first.wait_for(timeout=120_000)
            assert "Fehlanzeige" in frame.locator(".answer").inner_text()
            assert "KI" in frame.locator(".answer .meta").inner_text()
            frame.locator(".answer .up").click()
            frame.locator(".answer .thanks").wait_for()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "widget-on-city-page.png"))
            host.shutdown()
        with rt.db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT rating FROM assistant_feedback")) == 1
            assert conn.scalar(sa.text("SELECT channel FROM assistant_answers")) == "widget"
    finally:
        rt.close()
