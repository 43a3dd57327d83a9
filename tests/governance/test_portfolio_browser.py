"""The portfolio page /portfolio in Debian's Chromium against a live server with OIDC sign-in: an idea submitted
by keyboard alone (CSRF-protected session), the server's specific message on bad input with nothing stored, the
idea in the prioritised list and in the department's own list, another department without its details; axe-core
clean in German and English."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import SCREENSHOTS, axe_violations, chromium, live_server, sql
from browser import sign_in as sign_in_as
from conftest import MODEL_CACHE
from oidc_provider import OidcProvider
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime

pytestmark = pytest.mark.browser
USERS = {
    "sofia": {"name": "Sofia Sozial", "department": "sozialreferat", "roles": ["user"]},
    "walter": {"name": "Walter Wirtschaft", "department": "raw", "roles": ["user"]},
    "ines": {"name": "Ines IT", "department": "it-referat", "roles": ["user", "portfolio-assess"]},
}
JUSTIFY = {"benefit": (4, "1.200 Stunden im Jahr, kürzere Wartezeit."),
           "feasibility": (3, "Routing-Modell vorhanden, Anbindung fehlt."),
           "climate": (2, "Jede Zuordnung ein Modellaufruf."),
           "data_availability": (5, "Zuordnungen liegen vollständig vor.")}


@pytest.fixture(scope="module")
def site(pg_data_dir: Path, models_file: Path) -> Iterator[dict[str, Any]]:
    with OidcProvider(users=USERS) as idp:
        settings = Settings(_env_file=None, data_dir=pg_data_dir, cache_dir=MODEL_CACHE,  # type: ignore[call-arg]
                            database_name="portfolio_web_" + uuid.uuid4().hex[:8], models_file=models_file,
                            llm_threads=2, **idp.settings())
        runtime = Runtime(settings)
        try:
            with live_server(runtime) as url, chromium() as browser:
                yield {"url": url, "browser": browser, "runtime": runtime}
        finally:
            runtime.close()


def sign_in(site: dict[str, Any], user: str, path: str = "/portfolio") -> Any:
    return sign_in_as(site, user, USERS[user]["name"], path)


def type_field(page: Any, text: str) -> None:
    page.keyboard.type(text)
    page.keyboard.press("Tab")


def test_submit_by_keyboard_bad_input_and_department_scoping(site: dict[str, Any]) -> None:
    page = sign_in(site, "sofia")
    assert page.inner_text("h1") == "KI-Vorhaben"
    assert "Eingereicht für Ihr Referat: sozialreferat" in page.inner_text("section[aria-labelledby='submit-h']")
    assert axe_violations(page) == []

    # bad input the browser lets through (spaces around one letter) is refused by the server, with its message
    page.focus("#pf-title")
    for text in (" x ", "Anträge werden von Hand verteilt; das dauert Tage.", "1200",
                 "Anträge mit ihrer Zuordnung", "Antragstellende, Poststelle"):
        type_field(page, text)
    page.keyboard.press("ArrowDown")  # urgency: medium → high
    page.keyboard.press("Tab")
    type_field(page, "Sofia Sozial")
    type_field(page, "sofia@sozial.example")
    assert page.evaluate("document.activeElement.id") == "pf-submit"
    page.keyboard.press("Enter")
    alert = page.locator("#alert")
    alert.wait_for(state="visible")
    assert "title" in alert.inner_text() and "3" in alert.inner_text()
    assert page.evaluate("document.activeElement.id") == "alert"
    assert sql(site, "SELECT count(*) FROM portfolio_ideas")[0][0] == 0

    # corrected by keyboard: back to the title, replace it, submit again
    page.focus("#pf-title")
    page.keyboard.press("Control+A")
    page.keyboard.type("Antragsrouting im Sozialreferat")
    page.focus("#pf-submit")
    page.keyboard.press("Enter")
    page.wait_for_selector("#status:has-text('Idee gespeichert')")
    rows = sql(site, "SELECT id, title, department, urgency, contact_email FROM portfolio_ideas")
    assert [(r.title, r.department, r.urgency, r.contact_email) for r in rows] == [
        ("Antragsrouting im Sozialreferat", "sozialreferat", "high", "sofia@sozial.example")]
    idea_id = rows[0].id
    assert "Antragsrouting im Sozialreferat" in page.inner_text("#prioritised")
    assert "noch nicht bewertet" in page.inner_text(f"tr[data-id='{idea_id}']")
    assert "Anträge werden von Hand verteilt" in page.inner_text(f"#idea-{idea_id}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "portfolio.png"), full_page=True)
    page.goto(site["url"] + "/portfolio?lang=en")
    assert page.inner_text("h1") == "AI use cases"
    assert axe_violations(page) == []
    page.context.close()

    # another department: the idea in the prioritised list, its problem text nowhere on the page
    other = sign_in(site, "walter")
    assert "Antragsrouting im Sozialreferat" in other.inner_text("#prioritised")
    assert "Anträge werden von Hand verteilt" not in other.content()
    assert other.locator(f"#idea-{idea_id}").count() == 0
    assert other.locator("#assess").count() == 0 and "bewerten" not in other.inner_text("#prioritised")
    other.goto(site["url"] + f"/portfolio?idea={idea_id}")  # no assessor: no panel, no details
    assert other.locator("#assess").count() == 0 and "Anträge werden von Hand verteilt" not in other.content()
    other.context.close()

    # the assessor: the panel, an assessment, the refused sending (no mail server here), the next status
    ines = sign_in(site, "ines", f"/portfolio?idea={idea_id}")
    assert "Anträge werden von Hand verteilt" in ines.inner_text("#assess")
    ines.select_option("#as-risk", "limited")
    ines.fill("#as-risk-why", "Zuordnung mit menschlicher Kontrolle.")
    for criterion, (points, why) in JUSTIFY.items():
        ines.select_option(f"#as-{criterion}-points", str(points))
        ines.fill(f"#as-{criterion}-why", why)
    ines.fill("#as-summary", "Empfohlen für einen Pilot.")
    assert axe_violations(ines) == []
    ines.focus("#as-save")
    ines.keyboard.press("Enter")
    ines.wait_for_selector("#status:text-is('Gespeichert.')")  # not "Wird gespeichert …"
    assert ines.inner_text(f"tr[data-id='{idea_id}'] td.score") == "70.0"
    assert "Empfohlen für einen Pilot." in ines.inner_text("#assess pre.assessment")
    ines.once("dialog", lambda dialog: dialog.accept())
    ines.click("#as-send")
    ines.locator("#alert").wait_for(state="visible")
    assert "outbound mail is not configured" in ines.inner_text("#alert")
    assert sql(site, "SELECT count(*) FROM portfolio_assessments WHERE sent_at IS NOT NULL")[0][0] == 0
    ines.select_option("#st-status", "pilot")
    ines.click("#st-save")
    ines.wait_for_selector("#assess-h:has-text('Pilot')")
    ines.context.close()

    # the submitter reads the written assessment in the department's list
    page = sign_in(site, "sofia")
    assert "Empfohlen für einen Pilot." in page.inner_text(f"#idea-{idea_id} pre.assessment")
    assert "Pilot" in page.inner_text(f"#idea-{idea_id}-h")
    page.context.close()
