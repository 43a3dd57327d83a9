"""The learning pages in Debian's Chromium against a live server with OIDC sign-in: a module completed by keyboard
alone (a failed try first, with the explanations), the department's aggregate on the oversight dashboard changing
only once the minimum group size is reached, the guidance panel in the workspace, and the hint next to a refusal
for personal data (linking to the data-class module); axe-core clean in German and English."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import axe_violations, chromium, live_server, sql
from browser import sign_in as sign_in_as
from conftest import MODEL_CACHE
from oidc_provider import OidcProvider
from rathaus.core.auth import Principal
from rathaus.core.settings import Settings
from rathaus.literacy import modules as mod
from rathaus.literacy import service
from rathaus.runtime import Runtime

pytestmark = pytest.mark.browser
USERS = {
    "sofia": {"name": "Sofia Sozial", "department": "sozialreferat", "roles": ["user"]},
    "olga": {"name": "Olga Oversight", "department": "revision", "roles": ["user", "oversight"]},
}
MODULE = next(m for m in mod.load() if m.id == "ki-verordnung")


@pytest.fixture(scope="module")
def site(pg_data_dir: Path, models_file: Path) -> Iterator[dict[str, Any]]:
    with OidcProvider(users=USERS) as idp:
        settings = Settings(_env_file=None, data_dir=pg_data_dir, cache_dir=MODEL_CACHE,  # type: ignore[call-arg]
                            database_name="literacy_web_" + uuid.uuid4().hex[:8], models_file=models_file,
                            llm_threads=2, governance_min_group_size=3, safety_personal_data="block", **idp.settings())
        runtime = Runtime(settings)
        try:
            with live_server(runtime) as url, chromium() as browser:
                yield {"url": url, "browser": browser, "runtime": runtime}
        finally:
            runtime.close()


def seed_pass(site: dict[str, Any], subject: str) -> None:
    """Another person of the department passes the module (as the API would store it)."""
    rt = site["runtime"]
    with rt.db.session() as session:
        service.attempt(session, rt.settings, Principal(subject, "user", "sozialreferat"), MODULE.id,
                        [q.answer for q in MODULE.questions])


def answer_by_keyboard(page: Any, answers: list[int]) -> None:
    page.focus("#q0-0")
    for choice in answers:
        page.keyboard.press("Space")  # selects the focused first option
        for _ in range(choice):
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Tab")  # to the next question's group, after the last one to the button
    assert page.evaluate("document.activeElement.id") == "quiz-submit"
    page.keyboard.press("Enter")


def dashboard_cell(site: dict[str, Any]) -> str:
    page = sign_in_as(site, "olga", USERS["olga"]["name"], "/governance")
    cell = page.locator("#lit-record-table tr[data-department='sozialreferat'] td[data-module='ki-verordnung']")
    text = cell.inner_text().strip()
    assert axe_violations(page) == []
    page.context.close()
    return text


def test_module_by_keyboard_and_the_aggregate_above_the_minimum_group(site: dict[str, Any]) -> None:
    seed_pass(site, "kollegin-1")
    assert dashboard_cell(site) == "< 3"

    page = sign_in_as(site, "sofia", USERS["sofia"]["name"], "/lernen")
    assert page.inner_text("h1") == "KI-Kompetenz"
    assert page.inner_text("tr[data-module='ki-verordnung'] .lit-status").strip() == "offen"
    assert axe_violations(page) == []
    page.click("a[href='/lernen/ki-verordnung']")
    page.wait_for_selector("#quiz")
    assert page.inner_text("article h1") == MODULE.title_de
    assert axe_violations(page) == []

    # one wrong of four: 75 % – not passed; every question explained, the result takes the focus
    wrong = [q.answer for q in MODULE.questions]
    wrong[0] = (wrong[0] + 1) % len(MODULE.questions[0].options_de)
    answer_by_keyboard(page, wrong)
    result = page.locator("#quiz-result")
    result.wait_for(state="visible")
    assert "Noch nicht bestanden: 3 von 4" in result.inner_text()
    assert page.evaluate("document.activeElement.id") == "quiz-result"
    assert "Nicht richtig" in page.inner_text("#q0-feedback") and "Richtig." in page.inner_text("#q1-feedback")
    assert axe_violations(page) == []
    assert sql(site, "SELECT passed_at IS NULL, score FROM literacy_progress WHERE subject = 'sofia'") == [
        (True, 0.75)]

    page.reload()
    page.wait_for_selector("#quiz")
    answer_by_keyboard(page, [q.answer for q in MODULE.questions])
    page.wait_for_selector("#quiz-result.ok")
    assert "Bestanden: 4 von 4" in page.inner_text("#quiz-result")
    page.goto(site["url"] + "/lernen")
    assert "bestanden" in page.inner_text("tr[data-module='ki-verordnung'] .lit-status")
    page.context.close()

    assert dashboard_cell(site) == "< 3"  # two people: still below the minimum group of 3
    seed_pass(site, "kollegin-2")
    assert dashboard_cell(site) == "3"


def test_english_module_and_the_guidance_panel_in_the_workspace(site: dict[str, Any]) -> None:
    page = sign_in_as(site, "sofia", USERS["sofia"]["name"], "/lernen/datenklassen?lang=en")
    assert page.inner_text("article h1") == "Data classes and personal data"
    assert page.inner_text("#quiz-submit") == "Check answers"
    assert axe_violations(page) == []
    page.goto(site["url"] + "/chat?lang=de")
    panel = page.locator("details.lit-guide")
    assert "Der KI-Arbeitsplatz" in panel.inner_text()
    panel.locator("summary").focus()
    page.keyboard.press("Enter")  # opened by keyboard
    assert "Was Sie prüfen" in panel.inner_text() and panel.get_attribute("open") is not None
    assert panel.locator("a").get_attribute("href") == "/lernen/ergebnisse-pruefen"
    hints = page.evaluate("JSON.parse(document.getElementById('literacy-hints').textContent)")
    assert hints["data_class"]["href"] == "/lernen/datenklassen"
    page.goto(site["url"] + "/assistants")
    assert "Fach-Assistenten" in page.inner_text("details.lit-guide summary")
    page.context.close()


def test_a_refusal_for_personal_data_carries_the_hint(site: dict[str, Any]) -> None:
    page = sign_in_as(site, "sofia", USERS["sofia"]["name"], "/chat")
    page.select_option("#data-class", "intern")
    page.select_option("#model", "cloud-chat")  # cleared for intern, not for personal data (policy: block)
    page.fill("#prompt", "Bitte an Max Mustermann schreiben, IBAN DE89 3704 0044 0532 0130 00, Tel. 0171 2345678.")
    page.click("#send")
    hint = page.locator("#alert .lit-hint[data-hint='data_class']")
    hint.wait_for(state="visible")
    assert "personenbezogene Daten" in page.inner_text("#alert")
    assert "Datenklassen: öffentlich, intern, vertraulich, personenbezogen" in hint.inner_text()
    assert hint.locator("a").get_attribute("href") == "/lernen/datenklassen"
    assert axe_violations(page) == []
    hint.locator("a").click()
    page.wait_for_selector("#quiz")
    assert page.inner_text("article h1") == "Datenklassen und personenbezogene Daten"
    page.context.close()
