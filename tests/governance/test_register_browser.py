"""The register in Chromium: the public page and the entry form are axe-core clean and usable with the keyboard;
a change made in the form is stored with its history (source ``form``)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from browser import axe_violations, chromium, live_server
from rathaus.core.settings import Settings
from rathaus.governance.register import load_samples
from rathaus.runtime import Runtime


def test_public_page_and_entry_form_in_the_browser(make_settings: Callable[..., Settings]) -> None:
    runtime = Runtime(make_settings())
    try:
        load_samples(runtime)
        with live_server(runtime) as url, chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="de-DE")
            page.goto(url + "/register")
            assert page.locator("article.card").count() >= 5
            assert axe_violations(page) == []
            # keyboard: the skip link first, then the table of contents leads to a card
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.className") == "skip"
            page.keyboard.press("Enter")
            for _ in range(3):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.getAttribute('href') || ''").startswith("#card-"):
                    break
            target = page.evaluate("document.activeElement.getAttribute('href')")
            assert target.startswith("#card-")
            page.keyboard.press("Enter")
            assert page.url.endswith(target)

            # the overview and the form (local mode: the operator is admin and auditor)
            page.goto(url + "/register/manage")
            assert page.locator("tr[data-system='model:local-embed']").inner_text().count("nein") == 2
            assert axe_violations(page) == []
            page.goto(url + "/register/manage/model:local-embed")
            assert axe_violations(page) == []
            page.fill("#f-purpose-de", "Empfiehlt Medien aus dem Bestand.")
            page.fill("#f-owner_department", "Stadtbibliothek")
            page.fill("#f-contact", "bibliothek@stadt.example")
            page.focus("button[type=submit]")
            page.keyboard.press("Enter")
            page.wait_for_selector("#entry-status:has-text('Version 1')")
            page.fill("#f-contact", "kein Kontakt")
            page.focus("button[type=submit]")
            page.keyboard.press("Enter")
            page.wait_for_selector("#entry-status:has-text('contact')")
        with runtime.db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT version, source, changes FROM register_entry_changes "
                                        "WHERE system_id = 'model:local-embed'")).all()
        assert [(r.version, r.source) for r in rows] == [(1, "form")]
        assert rows[0].changes["contact"] == [None, "bibliothek@stadt.example"]
        assert rows[0].changes["purpose"][1]["de"] == "Empfiehlt Medien aus dem Bestand."
    finally:
        runtime.close()
