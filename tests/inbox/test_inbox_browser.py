"""The case worker's inbox page in Debian's Chromium against a live server with the sample inbox, OIDC sign-in
and a real SMTP server: queue and filters, a message by keyboard, routing suggestion, extracted fields, similar
messages, reassigning, spam and undo, a reply drafted from the Bürgerbüro collection, edited, approved and sent
once; department isolation; axe-core in German and English; Tab order of every control of the message view."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from mailservers import SmtpServer, smtp_server
from sample_inbox import ADMIN, load_sample_inbox
from webhook_receiver import SECRET, Receiver, receiver

from browser import SCREENSHOTS, axe_violations, chromium, live_server
from browser import sign_in as sign_in_as
from browser import sql as site_sql
from conftest import MODEL_CACHE
from oidc_provider import OidcProvider
from rathaus.core.settings import Settings
from rathaus.inbox import processing, store, takeover
from rathaus.inbox.intake import store_message
from rathaus.inbox.message import IncomingMessage
from rathaus.inbox.service import taxonomy
from rathaus.inbox.settings import ExportTarget, InboxSettings
from rathaus.runtime import Runtime

pytestmark = pytest.mark.browser
__all__ = ["receiver", "smtp_server"]  # the fixtures, imported for pytest

USERS = {
    "bea": {"name": "Bea Bürger", "department": "buergerbuero", "roles": ["user"]},
    "sven": {"name": "Sven Sender", "department": "buergerbuero", "roles": ["user", "inbox-send"]},
    "sofia": {"name": "Sofia Sozial", "department": "sozialamt", "roles": ["user"]},
    "tina": {"name": "Tina Triage", "department": "sozialamt", "roles": ["user", "inbox-triage"]},
    "vera": {"name": "Vera Verkehr", "department": "verkehr", "roles": ["user"]},
    "root": {"name": "Rita Root", "department": "verwaltung", "roles": ["user", "admin"]},
}
TRIAGE = "Zu verteilen (Poststelle)"
DRAFT = 120_000  # ms: retrieval and quote verification on 2 shared cores


@pytest.fixture(scope="module")
def site(pg_data_dir: Path, models_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The sample inbox (routing model trained, ten mails processed), a Bürgerbüro collection, a live server."""
    with OidcProvider(users=USERS) as idp:
        settings = Settings(_env_file=None, data_dir=pg_data_dir, cache_dir=MODEL_CACHE,  # type: ignore[call-arg]
                            database_name="inbox_web_" + uuid.uuid4().hex[:8], models_file=models_file,
                            llm_threads=2, inbox_models_dir=tmp_path_factory.mktemp("inbox-models"),
                            **idp.settings())
        runtime = Runtime(settings)
        try:
            done = load_sample_inbox(runtime, tmp_path_factory.mktemp("buergerbuero"))
            assert done["stored"] == 10 and done["processed"] == 10
            with live_server(runtime) as url, chromium() as browser:
                yield {"url": url, "browser": browser, "runtime": runtime}
        finally:
            runtime.close()


def sign_in(site: dict[str, Any], user: str, path: str = "/inbox") -> Any:
    return sign_in_as(site, user, USERS[user]["name"], path)


def sql(site: dict[str, Any], query: str, **params: Any) -> Any:
    return site_sql(site, query, **params)


def sample(site: dict[str, Any], n: int) -> Any:
    """The database row of sample mail ``n`` (01 … 10)."""
    return sql(site, "SELECT id, subject, department, category, urgency, status, routed_by FROM inbox_messages "
                     "WHERE external_id = :e", e=f"<sample-{n:02d}@musterstadt.example>")[0]


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def queue(page: Any) -> list[dict[str, str]]:
    """The queue's rows as shown: id, subject, department, category, urgency, status."""
    return page.evaluate("""() => [...document.querySelectorAll('#queue tbody tr[data-id]')].map(tr => ({
        id: tr.dataset.id, subject: tr.querySelector('th a').textContent.trim(),
        department: tr.querySelector('td.department').textContent.trim(),
        category: tr.querySelector('td.category').textContent.trim(),
        urgency: tr.querySelector('td.urgency').textContent.trim(),
        status: tr.querySelector('td.state').textContent.trim()}))""")


def filter_queue(page: Any, **values: str) -> list[dict[str, str]]:
    for name, value in values.items():
        page.select_option(f"#f-{name}", value)
    with page.expect_navigation():
        page.click("#filter-button")
    return queue(page)


def tab_until(page: Any, predicate: str, limit: int = 80) -> list[str]:
    """Press Tab until ``predicate`` (JS on document.activeElement ``el``) holds; returns the ids passed."""
    passed = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        passed.append(page.evaluate("document.activeElement.id"))
        if page.evaluate(f"(() => {{ const el = document.activeElement; return {predicate}; }})()"):
            return passed
    raise AssertionError(f"not reached with Tab: {predicate}; passed {passed}")


def done(page: Any, text: str) -> None:
    """Wait for the page's status line to say ``text`` (after an action and the reload)."""
    page.wait_for_selector(f"#status:has-text('{text}')", timeout=DRAFT)
    alert = page.locator("#alert")
    assert not alert.is_visible(), alert.inner_text()


def test_queue_filters_and_accessibility(site: dict[str, Any]) -> None:
    page = sign_in(site, "root")
    rows = queue(page)
    with site["runtime"].db.engine.connect() as conn:
        total = conn.scalar(sa.text("SELECT count(*) FROM inbox_messages"))
    assert len(rows) == total == 10
    by_subject = {r["subject"]: r for r in rows}
    wohngeld = by_subject["Stand meines Wohngeldantrags"]
    assert wohngeld["department"] == "Sozialamt" and wohngeld["category"] == "Wohngeld"
    assert wohngeld["status"] in ("offen", "zu verteilen") and wohngeld["urgency"] in ("normal", "hoch", "sofort")
    db = sample(site, 3)
    pothole = by_subject["Schlagloch in der Gartenstraße"]
    assert pothole["department"] == "Straßenverkehrsbehörde" and db.department == "verkehr"
    advert = by_subject["Nur heute: 50 % Rabatt auf Büromöbel!"]
    assert advert["department"] == TRIAGE and advert["status"] in ("Spam", "zu verteilen")
    assert axe_violations(page) == []
    # patterns, loaded when opened: ten different requests make no recurring topic yet, and no empty plot
    page.click("#patterns summary")
    page.wait_for_selector("#patterns-none, #topics")
    if page.locator("#patterns-none").count():
        assert "mindestens drei" in page.inner_text("#patterns-none") and page.locator("#patterns-plot").is_hidden()
    shot(page, "inbox-queue.png")

    # filters: the triage queue ("-"), a status, a department – each row as the database says
    triage = filter_queue(page, department="-")
    unrouted = sql(site, "SELECT id FROM inbox_messages WHERE department IS NULL")
    assert triage and sorted(int(r["id"]) for r in triage) == sorted(r.id for r in unrouted)
    assert {r["department"] for r in triage} == {TRIAGE} and "department=-" in page.url
    spam = filter_queue(page, department="", status="spam")
    assert {r["status"] for r in spam} <= {"Spam"}
    assert len(spam) == len(sql(site, "SELECT id FROM inbox_messages WHERE status = 'spam'"))
    traffic = filter_queue(page, status="", department="verkehr")
    assert sorted(r["subject"] for r in traffic) == ["Schlagloch Gartenstraße", "Schlagloch in der Gartenstraße"]
    assert page.input_value("#f-department") == "verkehr"  # the form shows the filter in force

    # the queue in English: labels, not keys
    page.goto(site["url"] + "/inbox?lang=en")
    assert page.locator("h2#queue-h").inner_text().startswith("Queue")
    english = {r["subject"]: r for r in queue(page)}
    assert english["Stand meines Wohngeldantrags"]["department"] == "Social welfare office"
    assert english["Stand meines Wohngeldantrags"]["category"] == "Housing benefit"
    assert axe_violations(page) == []
    page.goto(site["url"] + "/inbox?lang=de")


def test_open_by_keyboard_routing_fields_and_thread(site: dict[str, Any]) -> None:
    first, follow_up = sample(site, 1), sample(site, 8)
    assert first.department == follow_up.department == "sozialamt"
    page = sign_in(site, "sofia")
    assert {r["department"] for r in queue(page)} == {"Sozialamt"}
    # keyboard only: Tab to the message in the queue, Enter opens it
    tab_until(page, "el.tagName === 'A' && el.textContent.trim() === 'Stand meines Wohngeldantrags'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/inbox?message={first.id}")
    assert page.locator("#msg-h").inner_text() == "Stand meines Wohngeldantrags"
    assert "DE89" in page.inner_text(".message-body")  # the body is shown as written
    suggestion = page.inner_text("#suggestion")
    assert re.search(r"Vorschlag: Wohngeld \(Sozialamt\), Sicherheit \d{1,3} %", suggestion), suggestion
    fields = page.evaluate("""() => [...document.querySelectorAll('#fields tbody tr')].map(tr => [
        tr.dataset.field, tr.querySelector('th').textContent.trim(),
        tr.querySelector('td.value').textContent.trim()])""")
    assert ["iban", "IBAN", "DE89370400440532013000"] in fields
    assert ["case_number", "Aktenzeichen", "WG-2026/0815"] in fields
    # the follow-up mail is in the same case (and found as similar: the same sender)
    assert "Nachtrag: Wohngeld WG-2026/0815" in page.inner_text("#thread")
    page.locator("#thread a", has_text="Nachtrag: Wohngeld").click()
    page.wait_for_url(re.compile(rf".*message={follow_up.id}$"))
    assert "Stand meines Wohngeldantrags" in page.inner_text("#thread")
    similar = page.locator(f"#similar li[data-id='{first.id}']")  # found when the follow-up came in
    assert "Stand meines Wohngeldantrags" in similar.inner_text()
    assert re.search(r"\((Ähnlichkeit )?\d{1,3} %\)", similar.inner_text()), similar.inner_text()
    assert page.locator("#queue tr.current").get_attribute("data-id") == str(follow_up.id)
    assert axe_violations(page) == []
    # queue and message side by side on a wide screen, one below the other on a narrow one
    queue_box, message_box = page.locator(".inbox-queue").bounding_box(), page.locator("#message").bounding_box()
    assert message_box["x"] > queue_box["x"] + queue_box["width"] - 1
    page.set_viewport_size({"width": 640, "height": 900})
    queue_box, message_box = page.locator(".inbox-queue").bounding_box(), page.locator("#message").bounding_box()
    assert message_box["x"] == queue_box["x"] and message_box["y"] >= queue_box["y"] + queue_box["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 640  # nothing sticks out sideways


def test_another_department_sees_nothing_of_it(site: dict[str, Any]) -> None:
    wohngeld, pothole_a, pothole_b = sample(site, 1), sample(site, 3), sample(site, 4)
    page = sign_in(site, "vera")
    rows = queue(page)
    assert rows and {r["department"] for r in rows} == {"Straßenverkehrsbehörde"}
    assert str(wohngeld.id) not in [r["id"] for r in rows]
    assert "Wohngeld" not in page.inner_text("#queue")
    response = page.goto(f"{site['url']}/inbox?message={wohngeld.id}")
    assert response is not None and response.status == 404
    assert page.inner_text("#alert") == f"Nachricht {wohngeld.id} nicht gefunden."
    assert page.locator("#message").count() == 0 and "Musterfrau" not in page.content()
    # the pothole reported twice: each message shows the other
    page.goto(f"{site['url']}/inbox?message={pothole_b.id}")
    similar = page.locator(f"#similar li[data-id='{pothole_a.id}'], #thread li[data-id='{pothole_a.id}']")
    assert similar.count() >= 1 and "Schlagloch in der Gartenstraße" in similar.first.inner_text()


def test_reassign_with_the_category_filter_then_spam_and_undo(site: dict[str, Any]) -> None:
    passport = sample(site, 5)
    if passport.department != "buergerbuero":
        store.reassign(site["runtime"], ADMIN, passport.id, taxonomy(site["runtime"]), department="buergerbuero")
    page = sign_in(site, "bea", f"/inbox?message={passport.id}")
    options = "() => [...document.querySelectorAll('#route-category option')].filter(o => !o.hidden && o.value)" \
              ".map(o => o.dataset.department)"
    assert set(page.evaluate(options)) == {"buergerbuero"}
    page.select_option("#route-department", "verwaltung")
    assert set(page.evaluate(options)) == {"verwaltung"}
    assert page.input_value("#route-category") == ""  # the Bürgerbüro category no longer fits
    page.select_option("#route-category", "sonstiges")
    page.select_option("#route-urgency", "hoch")
    page.click("#route-button")
    # the message left her department: she is back at her queue, where it is no longer listed
    page.wait_for_url(re.compile(r".*/inbox$"))
    done(page, "Zugeordnet")
    assert str(passport.id) not in [r["id"] for r in queue(page)]
    row = sample(site, 5)
    assert (row.department, row.category, row.urgency, row.routed_by, row.status) == (
        "verwaltung", "sonstiges", "hoch", "bea", "open")
    corrections = sql(site, "SELECT field, new, by FROM inbox_corrections WHERE message_id = :m", m=passport.id)
    assert ("department", "verwaltung", "bea") in [tuple(c) for c in corrections]

    # spam and undo, by the administration
    praise = sample(site, 10)
    root = sign_in(site, "root", f"/inbox?message={praise.id}")
    before = praise.status
    assert before != "spam"
    root.click("#spam-button")
    done(root, "Gespeichert")
    assert sample(site, 10).status == "spam" and "Spam" in root.inner_text("#msg-status")
    assert root.inner_text("#spam-button") == "Doch ein Anliegen"
    assert root.evaluate("document.activeElement.id") == "spam-button"  # focus stays where it was
    root.click("#spam-button")
    root.wait_for_selector("#spam-button[data-spam='true']")
    assert sample(site, 10).status in ("open", "triage")
    assert "Spam" not in root.inner_text("#msg-status")


def test_draft_edit_approve_and_send_once(site: dict[str, Any], smtp_server: SmtpServer) -> None:
    rt = site["runtime"]
    section = rt.settings.section(InboxSettings)
    for key, value in {"inbox_smtp_host": smtp_server.host, "inbox_smtp_port": smtp_server.port,
                       "inbox_smtp_security": "none", "inbox_smtp_from": "buergerbuero@musterstadt.example"}.items():
        setattr(section, key, value)
    appointment = sample(site, 9)
    if (appointment.department, appointment.category) != ("buergerbuero", "termine_buergerbuero"):
        store.reassign(rt, ADMIN, appointment.id, taxonomy(rt), department="buergerbuero",
                       category="termine_buergerbuero")
    bea = sign_in(site, "bea", f"/inbox?message={appointment.id}")
    assert bea.locator("#draft-form").count() == 0
    bea.click("#draft-button")
    bea.wait_for_selector("#draft-form", timeout=DRAFT)
    done(bea, "Entwurf erstellt")
    assert bea.evaluate("document.activeElement.id") == "draft-text"
    text = bea.input_value("#draft-text")
    assert "Guten Tag Sam Beispiel," in text and "Termin" in text and "Mit freundlichen Grüßen" in text
    source = bea.locator("#draft-sources li").first
    assert "buergerbuero" in source.inner_text() and "wörtlich geprüft" in source.inner_text()
    assert "Ummeldung" in source.locator("q").inner_text() or "Termin" in source.locator("q").inner_text()
    # no approval without the role: the buttons are not offered, the note says why
    assert bea.locator("#approve-button").count() == 0 and bea.locator("#send-button").count() == 0
    assert "inbox-send" in bea.inner_text("#send-hint")
    assert axe_violations(bea) == []
    bea.fill("#draft-text", text + "\n\nPS: Bitte bringen Sie Ihren Ausweis mit.")
    bea.click("#save-draft")
    done(bea, "Entwurf gespeichert")
    assert "PS: Bitte bringen Sie Ihren Ausweis mit." in bea.input_value("#draft-text")
    draft = sql(site, "SELECT status, edited_by FROM inbox_drafts WHERE message_id = :m", m=appointment.id)[0]
    assert (draft.status, draft.edited_by) == ("draft", "bea")

    sven = sign_in(site, "sven", f"/inbox?message={appointment.id}")
    assert sven.locator("#send-button").is_disabled()  # not approved yet
    sven.click("#approve-button")
    done(sven, "Freigegeben")
    assert "freigegeben von sven" in sven.inner_text("#draft-state")
    assert sven.evaluate("document.activeElement.id") == "send-button"
    # keyboard: every control of the message view in a sensible order
    sven.evaluate("document.querySelector('#main').focus()")
    order = ["route-department", "route-category", "route-urgency", "route-button", "spam-button", "draft-button",
             "draft-subject", "draft-text", "save-draft", "approve-button", "send-button"]
    passed = tab_until(sven, "el.id === 'send-button'", limit=120)
    positions = [passed.index(c) if c in passed else -1 for c in order]
    assert -1 not in positions and positions == sorted(positions), list(zip(order, positions, strict=True))
    assert axe_violations(sven) == []
    shot(sven, "inbox.png")

    # a change after approval withdraws the send button until saved and approved again
    sven.focus("#draft-text")
    sven.keyboard.press("End")
    sven.keyboard.type(" ")
    assert sven.locator("#send-button").is_disabled()
    sven.fill("#draft-text", sven.input_value("#draft-text").rstrip(" "))
    sven.reload()
    assert sven.locator("#send-button").is_enabled()
    dialogs: list[str] = []

    def confirm(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    sven.on("dialog", confirm)
    sven.click("#send-button")
    done(sven, "Gesendet")
    assert dialogs == ["Diese Antwort jetzt an die Absenderin/den Absender senden?"]
    assert "gesendet" in sven.inner_text("#draft-state") and "beantwortet" in sven.inner_text("#msg-status")
    assert sven.locator("#send-button").count() == 0 and sven.locator("#draft-text").get_attribute("readonly") == ""
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["To"] == "sam.beispiel@example.org" and mail["In-Reply-To"] == "<sample-09@musterstadt.example>"
    assert "PS: Bitte bringen Sie Ihren Ausweis mit." in mail.get_content()
    assert sample(site, 9).status == "answered"
    assert sql(site, "SELECT actor FROM audit_log WHERE action = 'inbox.sent'")[0].actor == "sven"

    # the message view in English passes the audit too
    sven.goto(f"{site['url']}/inbox?message={appointment.id}&lang=en")
    assert "sent" in sven.inner_text("#draft-state") and "answered" in sven.inner_text("#msg-status")
    assert axe_violations(sven) == []


def test_patterns_of_the_department_with_a_plot(site: dict[str, Any]) -> None:
    rt = site["runtime"]
    reports = ["In der Gartenstraße ist ein Schlagloch, bitte reparieren.",
               "Das Schlagloch in der Gartenstraße wird immer größer.",
               "Schon wieder: Schlagloch Gartenstraße, ein Radfahrer ist gestürzt."]
    for i, body in enumerate(reports):
        stored = store_message(rt, IncomingMessage(
            channel="api", external_id=f"pothole-{i}", subject="Schlagloch Gartenstraße", body=body,
            sender_name=f"Person {i}", sender_address=f"person{i}@example.org",
            mailbox="verkehr@musterstadt.example"), actor=ADMIN)
        processing.process(rt, stored.id)
        if sql(site, "SELECT department FROM inbox_messages WHERE id = :i", i=stored.id)[0][0] != "verkehr":
            store.reassign(rt, ADMIN, stored.id, taxonomy(rt), department="verkehr", category="strassenschaden")
    page = sign_in(site, "vera")
    assert "Straßenverkehrsbehörde" in page.inner_text("#patterns summary")
    with page.expect_response(re.compile(r".*/api/v1/inbox/patterns\.png\?weeks=8&department=verkehr$")) as plot:
        page.click("#patterns summary")
    assert plot.value.status == 200 and plot.value.headers["content-type"] == "image/png"
    topics = page.locator("#topics li").all_inner_texts()
    assert any("schlagloch" in tp.lower() and re.search(r": ([3-9]|\d\d) Nachrichten$", tp) for tp in topics), topics
    page.wait_for_function("() => { const i = document.querySelector('#patterns-plot'); "
                           "return !i.hidden && i.complete && i.naturalWidth > 100; }")
    assert "Nachrichten je Thema und Woche" in page.get_attribute("#patterns-plot", "alt")
    assert axe_violations(page) == []


def test_take_over_data_into_the_specialist_procedure(site: dict[str, Any], receiver: Receiver,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    rt = site["runtime"]
    monkeypatch.setenv("RATHAUS_TEST_TAKEOVER_SECRET", SECRET)
    monkeypatch.setattr(rt.settings, "outbound_allow", ["127.0.0.1"])
    monkeypatch.setattr(rt.settings.section(InboxSettings), "inbox_export_targets", {"sozialamt": ExportTarget(
        url=receiver.url, secret_env="RATHAUS_TEST_TAKEOVER_SECRET", data_classes=["intern", "personenbezogen"])})
    wohngeld = sample(site, 1)
    if wohngeld.department != "sozialamt":
        store.reassign(rt, ADMIN, wohngeld.id, taxonomy(rt), department="sozialamt", category="wohngeld")
    # staff without the role see the values and why there is no button
    sofia = sign_in(site, "sofia", f"/inbox?message={wohngeld.id}")
    assert sofia.locator("#export-button").count() == 0 and "inbox-triage" in sofia.inner_text("#export-hint")
    assert sofia.locator("#fields input").count() == 0

    tina = sign_in(site, "tina", f"/inbox?message={wohngeld.id}")
    amount = tina.locator("#fields input.field-value[data-kind='amount']").first
    assert amount.input_value() == "845.50"
    assert receiver.url in tina.inner_text("#export-hint")
    amount.fill("845.00")  # the case worker corrects a value before it goes
    assert axe_violations(tina) == []
    tina.click("#export-button")
    done(tina, "Übernahme beauftragt")
    assert "in Warteschlange" in tina.inner_text("#export-state") and "tina" in tina.inner_text("#export-state")
    assert tina.evaluate("document.activeElement.id") == "export-state"
    assert tina.locator("#export-button").count() == 0  # one export at a time
    assert receiver.requests == []  # nothing sent before the job runs
    delivery = sql(site, "SELECT export_delivery_id FROM inbox_messages WHERE id = :m", m=wohngeld.id)[0]
    takeover.deliver(rt, wohngeld.id, delivery.export_delivery_id)  # the job inbox.export
    tina.reload()
    assert "übernommen" in tina.inner_text("#export-state")
    assert len(receiver.delivered()) == 1 and receiver.requests[0]["id"] == delivery.export_delivery_id
    sent = receiver.requests[0]["json"]["data"]["extraction"]["fields"]
    assert [f["value"] for f in sent["amount"]] == ["845.00"] and sent["amount"][0]["source"] == "correction"
    assert [f["value"] for f in sent["iban"]] == ["DE89370400440532013000"]
    assert tina.locator("#fields input.field-value[data-kind='amount']").first.input_value() == "845.00"
    assert axe_violations(tina) == []
