"""The citizens' guided application in Debian's Chromium against a live server, by keyboard only: a whole Wohngeld
first application with one invalid answer corrected, an interruption resumed with the code (after a wrong code),
an upload checked at once, the review, sending, and the downloaded PDF whose fields are read back with pypdf and
the JSON export checked against the published schema; axe-core on every kind of page, German and English. No model
is called on the way (the usage log stays empty): every decision is a rule's."""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from dialogue_answers import STORED, WOHNGELD, pdf
from pypdf import PdfReader

from browser import SCREENSHOTS, axe_violations, chromium, live_server
from browser import sql as site_sql
from conftest import MODEL_CACHE
from rathaus.checks import forms
from rathaus.checks.definitions import load_types
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime

pytestmark = pytest.mark.browser
TYPE = "wohngeld-erstantrag"


@pytest.fixture(scope="module")
def site(pg_data_dir: Path, models_file: Path) -> Iterator[dict[str, Any]]:
    settings = Settings(_env_file=None, data_dir=pg_data_dir, cache_dir=MODEL_CACHE,  # type: ignore[call-arg]
                        database_name="dialog_web_" + uuid.uuid4().hex[:8], models_file=models_file,
                        llm_threads=2, checks_public_dialogue=True)
    runtime = Runtime(settings)
    try:
        with live_server(runtime) as url, chromium() as browser:
            yield {"url": url, "browser": browser, "runtime": runtime}
    finally:
        runtime.close()


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def tab_to(page: Any, selector: str, limit: int = 40) -> None:
    """Press Tab until the element ``selector`` has the focus."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} not reached with Tab")


def step(page: Any) -> str:
    return page.get_attribute("#progress-text", "data-step")


def press_and_wait(page: Any, key: str = "Enter") -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


def answer(page: Any, value: str) -> None:
    """Answer the question on the page by keyboard: type into the text field, or pick a radio with the arrows."""
    radios = page.locator("input[type=radio][name=value]")
    if radios.count():
        values = [radios.nth(i).get_attribute("value") for i in range(radios.count())]
        wanted = {"ja": "true", "nein": "false"}.get(value, value)
        index = values.index(wanted)
        tab_to(page, "#answer-1")
        page.keyboard.press("Space" if index == 0 else "ArrowDown")
        for _ in range(max(0, index - 1)):
            page.keyboard.press("ArrowDown")
        tab_to(page, "#next")
    else:
        assert page.evaluate("document.activeElement.id") == "answer"  # focused on arrival
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
    press_and_wait(page)


def test_wohngeld_by_keyboard(site: dict[str, Any]) -> None:
    context = site["browser"].new_context(viewport={"width": 1100, "height": 900}, locale="de-DE",
                                          accept_downloads=True)
    page = context.new_page()
    page.goto(f"{site['url']}/antrag/{TYPE}")
    assert "Mietvertrag" in page.inner_text("main") and page.title().startswith("Wohngeld")
    assert axe_violations(page) == []
    tab_to(page, "#start")
    press_and_wait(page)
    code = page.inner_text("#resume-code").strip()
    assert re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){4}", code)
    assert axe_violations(page) == []
    tab_to(page, "#first-question")
    press_and_wait(page)
    assert page.inner_text("#progress-text").startswith("Schritt 1 von ")

    paused = corrected = False
    while page.locator("#answer, #answer-1").count():
        current = step(page)
        field_id = current.split(":", 1)[1]
        if field_id == "geburtsdatum" and not corrected:
            answer(page, "31.02.1985")  # there is no 31 February
            assert step(page) == current
            error = page.inner_text("#answer-error")
            assert "kein gültiges Datum" in error and "TT.MM.JJJJ" in error
            described = page.get_attribute("#answer", "aria-describedby").split()
            assert "answer-error" in described and "answer-help" in described
            assert page.get_attribute("#answer", "aria-invalid") == "true"
            assert axe_violations(page) == []
            shot(page, "antrag-fehler.png")
            corrected = True
        if field_id == "miete" and not paused:
            number = page.get_attribute("#progress-text", "data-number")
            tab_to(page, "#pause")
            press_and_wait(page)
            assert page.locator("#paused").count() == 1
            tab_to(page, "#code")
            page.keyboard.type("ABCD-EFGH-JKMN-PQRS-TUVW")  # a wrong code first
            press_and_wait(page)
            assert "kennen wir nicht" in page.inner_text("#code-error")
            assert "code-error" in page.get_attribute("#code", "aria-describedby")
            assert axe_violations(page) == []
            tab_to(page, "#code")
            page.keyboard.press("Control+A")
            page.keyboard.type(code.lower().replace("-", " "))
            press_and_wait(page)
            assert step(page) == current and page.get_attribute("#progress-text", "data-number") == number
            paused = True
        if field_id == "iban":
            assert axe_violations(page) == []
            shot(page, "antrag-frage.png")
        answer(page, WOHNGELD[field_id])
        assert page.locator("#answer-error").count() == 0, (field_id, page.inner_text("#answer-error"))
    assert corrected and paused

    # the first document: a rental contract, uploaded and checked at once; the others later
    assert step(page) == "upload:mietvertrag"
    page.set_input_files("#files", files=[{"name": "mietvertrag.pdf", "mimeType": "application/pdf",
                                           "buffer": pdf("Mietvertrag\nMiete 612,50 EUR")}])
    tab_to(page, "#upload")
    press_and_wait(page)
    assert "angekommen und lesbar" in page.inner_text("#upload-status")
    assert page.inner_text("#uploads").startswith("mietvertrag.pdf")
    assert axe_violations(page) == []
    while step(page).startswith("upload:"):
        tab_to(page, "#next")
        press_and_wait(page)
    assert step(page) == "review"
    assert "Kontoauszug" in page.inner_text("#missing")
    assert axe_violations(page) == []
    shot(page, "antrag-zusammenfassung.png")
    tab_to(page, "#send")
    press_and_wait(page)

    reference = page.inner_text("#reference")
    assert "Nachweis über Ihr Einkommen" in page.inner_text("#summary-missing")
    assert "nicht der Computer" in page.inner_text("#next-steps")
    assert axe_violations(page) == []
    shot(page, "antrag-fertig.png")
    tab_to(page, "#download-pdf")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    fields = forms.read_form_pdf(Path(download.value.path()).read_bytes())
    for field_id, value in STORED.items():
        assert fields[field_id] == value, field_id
    assert fields["nachname"] == "Müller-Lüdenscheidt" and fields["arbeitgeber"] == "Bäckerei Huber"
    assert PdfReader(io.BytesIO(Path(download.value.path()).read_bytes())).get_fields()["unterschrift"]["/V"] == "/Yes"
    tab_to(page, "#download-json")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    jsonschema.validate(exported, forms.json_schema(load_types()[TYPE]))
    assert exported["reference"] == reference and exported["values"]["iban"] == STORED["iban"]

    rows = site_sql(site, "SELECT source, type_id, form->>'miete' FROM checks_packets WHERE id = :id",
                    id=int(reference))
    assert [tuple(r) for r in rows] == [("dialogue", TYPE, "612.50")]
    # every step was the rules': not one model call was made
    assert site_sql(site, "SELECT count(*) FROM usage_events")[0][0] == 0
    context.close()


def test_english_pages_are_accessible(site: dict[str, Any]) -> None:
    context = site["browser"].new_context(locale="en-GB")
    page = context.new_page()
    page.goto(f"{site['url']}/antrag/{TYPE}?lang=en")
    assert "Start the application" in page.inner_text("#start") and page.get_attribute("html", "lang") == "en"
    assert axe_violations(page) == []
    tab_to(page, "#start")
    press_and_wait(page)
    tab_to(page, "#first-question")
    press_and_wait(page)
    assert page.inner_text("#progress-text").startswith("Step 1 of ") and "First name" in page.inner_text("main")
    answer(page, "R2D2")
    assert "letters" in page.inner_text("#answer-error")
    assert axe_violations(page) == []
    for _ in range(5):  # to the marital status: radio buttons
        answer(page, WOHNGELD[step(page).split(":", 1)[1]])
    assert step(page) == "field:familienstand" and "married" in page.inner_text("main")
    assert axe_violations(page) == []
    context.close()
