"""The case worker's application checks page /pruefung in Debian's Chromium against a live server with a job
worker and OIDC sign-in: a shipped sample packet uploaded by keyboard, the checklist grouped by status with a
missing or wrong item and its evidence crop, the Annex III notice, the applicant letter, the confirmation; other
departments see nothing; axe-core clean in German and English."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import SCREENSHOTS, axe_violations, chromium, live_server, sql
from browser import sign_in as sign_in_as
from conftest import MODEL_CACHE
from oidc_provider import OidcProvider
from rathaus.checks import service
from rathaus.checks.samples import sample_packets
from rathaus.core.jobs import EmbeddedWorker
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime

pytestmark = pytest.mark.browser
RESIDENCE = "aufenthaltserlaubnis-beschaeftigung"
WOHNGELD = "wohngeld-erstantrag"
CHECK = 180_000  # ms: OCR of a packet on 2 shared cores


def departments() -> dict[str, str]:
    from rathaus.checks.definitions import shipped_types

    return {t.id: t.department for t in shipped_types().values()}


def users() -> dict[str, dict[str, Any]]:
    deps = departments()
    return {
        "kira": {"name": "Kira Prüfer", "department": deps[WOHNGELD], "roles": ["user", "checks-review"]},
        "karl": {"name": "Karl Kreis", "department": deps[RESIDENCE], "roles": ["user", "checks-review"]},
        "otto": {"name": "Otto Ohnerolle", "department": deps[WOHNGELD], "roles": ["user"]},
    }


@pytest.fixture(scope="module")
def site(pg_data_dir: Path, models_file: Path) -> Iterator[dict[str, Any]]:
    accounts = users()
    with OidcProvider(users=accounts) as idp:
        settings = Settings(_env_file=None, data_dir=pg_data_dir, cache_dir=MODEL_CACHE,  # type: ignore[call-arg]
                            database_name="checks_web_" + uuid.uuid4().hex[:8], models_file=models_file,
                            llm_threads=2, **idp.settings())
        runtime = Runtime(settings)
        try:
            with EmbeddedWorker(runtime, periodic=False), live_server(runtime) as url, \
                    chromium() as browser:
                yield {"url": url, "browser": browser, "runtime": runtime, "users": accounts}
        finally:
            runtime.close()


def sign_in(site: dict[str, Any], user: str, path: str = "/pruefung") -> Any:
    return sign_in_as(site, user, site["users"][user]["name"], path)


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def focus_by_tab(page: Any, element_id: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} not reached with Tab")


def test_upload_by_keyboard_checklist_evidence_letter_confirm(site: dict[str, Any]) -> None:
    packet = next(s for s in sample_packets() if s.type_id == WOHNGELD and s.defects)
    page = sign_in(site, "kira")
    assert page.locator("h1").inner_text() == "Antragsprüfung"
    assert page.locator("nav a[href='/pruefung']").inner_text() == "Antragsprüfung"
    assert axe_violations(page) == []
    # keyboard: type, files (the file dialog is the operating system's: Playwright fills it), date, Enter
    focus_by_tab(page, "up-type")
    page.keyboard.press("End")  # the select moves to its last option by keyboard
    page.select_option("#up-type", WOHNGELD)
    focus_by_tab(page, "up-files")
    page.set_input_files("#up-files", [str(p) for p in packet.files])
    focus_by_tab(page, "up-date")
    page.fill("#up-date", min(packet.submitted_on, dt.date.today()).isoformat())
    focus_by_tab(page, "upload-button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.search(r"/pruefung\?packet=\d+$", page.url), page.url
    packet_id = int(page.url.rsplit("=", 1)[1])
    page.wait_for_selector("#checklist-h", timeout=CHECK)  # the worker checked it; the page reloaded itself
    assert "Anhang III" in page.inner_text("#annex-iii") and "Sachbearbeitung" in page.inner_text("#annex-iii")
    shown = page.evaluate("""() => [...document.querySelectorAll('.checklist li.item')].map(li => ({
        requirement: li.dataset.requirement, status: li.dataset.status}))""")
    stored = sql(site, "SELECT result FROM checks_packets WHERE id = :p", p=packet_id)[0].result
    assert sorted(i["requirement"] for i in shown) == sorted(i["requirement"] for i in stored["items"])
    groups = [h.inner_text() for h in page.locator("h4[id^='group-']").all()]
    order = [g.split(" (")[0] for g in groups]
    assert order == sorted(order, key=["Fehlt", "Fehlerhaft", "Unsicher – bitte selbst prüfen", "Erfüllt"].index)
    flagged = page.locator(".checklist li.item-missing, .checklist li.item-invalid")
    assert flagged.count() >= 1
    # an evidence crop, opened by keyboard
    crop = page.locator(".checklist details.crop").first
    if crop.count():
        crop.locator("summary").focus()
        page.keyboard.press("Enter")
        image = crop.locator("img")
        image.wait_for(state="visible")
        page.wait_for_function("img => img.complete && img.naturalWidth > 10", arg=image.element_handle())
        assert image.get_attribute("alt").startswith("Ausschnitt aus ")
    shot(page, "checks-packet.png")
    assert axe_violations(page) == []
    # the applicant letter
    focus_by_tab(page, "letter-button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#letter-box:not([hidden])")
    letter = page.input_value("#letter-text")
    assert len(letter) > 100
    assert page.get_attribute("#download-letter", "href").startswith("blob:")
    # the confirmation: a note, then Enter on the button
    focus_by_tab(page, "confirm-note")
    page.keyboard.type("Fehlende Nachweise angefordert.")
    focus_by_tab(page, "confirm-button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("#status:has-text('Bestätigt.')")
    assert "Fehlende Nachweise angefordert." in page.inner_text("#confirmed-by")
    row = sql(site, "SELECT status, confirmed_by FROM checks_packets WHERE id = :p", p=packet_id)[0]
    assert row.status == "confirmed" and row.confirmed_by == "kira"
    actions = [r.action for r in sql(site, "SELECT action FROM audit_log WHERE use_case = 'checks' AND "
                                           "(details->>'packet_id')::bigint = :p ORDER BY seq", p=packet_id)]
    assert {"checks.received", "checks.run", "checks.letter", "checks.confirm"} <= set(actions)
    page.goto(site["url"] + f"/pruefung?packet={packet_id}&lang=en")
    assert page.locator("h1").inner_text() == "Application checks"
    assert "Annex III" in page.inner_text("#annex-iii")
    assert axe_violations(page) == []
    page.context.close()

    # another department's case worker: not even its existence; a user without the role: no page
    other = sign_in(site, "karl", f"/pruefung?packet={packet_id}")
    assert "nicht gefunden" in other.inner_text("#alert")
    assert str(packet_id) not in [r for r in other.evaluate(
        "() => [...document.querySelectorAll('#packets tr[data-id]')].map(tr => tr.dataset.id)")]
    other.context.close()
    plain = sign_in(site, "otto")
    assert plain.locator("nav a[href='/pruefung']").count() == 0
    assert "checks-review" in plain.inner_text("#alert")
    plain.context.close()
    assert service.USE_CASE == "checks"
