"""The oversight dashboard /governance and a report page in Debian's Chromium (local mode: admin and auditor):
axe-core clean, usable with the keyboard alone (Tab to the report form, Enter opens the chosen report)."""

from __future__ import annotations

import pytest

from browser import axe_violations, chromium, live_server
from governance.test_reports import MONTH, fill  # the same inserted usage rows as the report tests
from rathaus.runtime import Runtime

pytestmark = pytest.mark.browser


def test_dashboard_and_report_with_keyboard_and_axe(runtime: Runtime) -> None:
    fill(runtime)
    with live_server(runtime) as url, chromium() as browser:
        page = browser.new_page()
        page.goto(url + "/governance")
        assert page.locator("h1").inner_text().startswith("Aufsicht")
        assert page.locator("#audit-status").inner_text().startswith("Kette unversehrt")
        assert page.locator('a[href="/register"]').count() == 1
        assert page.locator("#retention").inner_text().count("audit_retention_days") == 1
        assert page.locator("#annex-none").is_visible()
        assert axe_violations(page) == []
        # keyboard only: Tab until the month field of the report form has the focus, choose staff, submit
        page.locator("#report-kind").select_option("staff")
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "report-month":
                break
        else:
            pytest.fail("the report form's month field is not reachable with Tab")
        page.locator("#report-month").fill(MONTH)
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/governance/reports/staff?month={MONTH}")
        assert page.locator("h1").inner_text() == f"Personalrat – {MONTH}"
        assert "unterdrückt" in page.locator("#main").inner_text()
        assert axe_violations(page) == []
        page.goto(url + f"/governance/reports/climate?month={MONTH}")
        assert page.locator("svg.chart").count() >= 4
        assert axe_violations(page) == []
        page.goto(url + "/governance?lang=en")
        assert page.locator("h1").inner_text().startswith("Oversight")
