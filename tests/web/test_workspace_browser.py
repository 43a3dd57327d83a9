"""The employee web app in Debian's Chromium against a live server with the embedded model and OIDC sign-in.

One server for the module (sign-in at a real OIDC provider on loopback); every user has a browser context
of their own. Screenshots of the main screens go to docs/screenshots/.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import SCREENSHOTS, axe_violations, chromium, live_server
from browser import sign_in as sign_in_as
from browser import sql as site_sql
from conftest import MODEL_CACHE, pdf_bytes
from oidc_provider import OidcProvider
from rathaus.core.auth import local_principal
from rathaus.core.classification import DataClass
from rathaus.core.settings import Settings
from rathaus.models.gateway import CallContext
from rathaus.models.types import ChatMessage, ChatParams
from rathaus.runtime import Runtime

USERS = {
    "anna": {"name": "Anna Amt", "department": "KVR", "roles": ["user"]},
    "berta": {"name": "Berta Bauer", "department": "KVR", "roles": ["user"]},
    "olaf": {"name": "Olaf Ort", "department": "Sozialreferat", "roles": ["user"]},
    "root": {"name": "Rita Root", "department": "IT", "roles": ["user", "admin"]},
}
LONG = 240_000  # ms: a model answer on 2 shared cores (other work may run beside the tests)
TOOL = 420_000  # ms: a writing tool makes several model calls (about 40 s each on a quiet machine)


@pytest.fixture(scope="module")
def site(pg_data_dir: Path, models_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    # answers long enough to stop mid-stream and to hold a summary (the shared test catalogue caps at 16 tokens)
    catalogue = tmp_path_factory.mktemp("web-models") / "models.yaml"
    catalogue.write_text(models_file.read_text().replace("max_output_tokens: 16", "max_output_tokens: 160", 1))
    with OidcProvider(users=USERS) as idp:
        settings = Settings(_env_file=None, data_dir=pg_data_dir, cache_dir=MODEL_CACHE,  # type: ignore[call-arg]
                            database_name="t_" + uuid.uuid4().hex[:12], models_file=catalogue, llm_threads=2,
                            **idp.settings())
        runtime = Runtime(settings)
        try:
            with live_server(runtime) as url, chromium() as browser:
                yield {"url": url, "browser": browser, "runtime": runtime, "idp": idp}
        finally:
            runtime.close()


def sign_in(site: dict[str, Any], user: str, path: str = "/chat") -> Any:
    return sign_in_as(site, user, USERS[user]["name"], path)


def sql(site: dict[str, Any], query: str, **params: Any) -> Any:
    return site_sql(site, query, **params)


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def chat_id(page: Any) -> str:
    page.wait_for_url(re.compile(r".*/chat/[0-9a-f-]{36}$"))
    return page.url.rsplit("/", 1)[1]


def answer_done(page: Any, n: int = 1, timeout: int = LONG) -> Any:
    """Wait until the n-th answer carries its footprint (the final event arrived); returns its element."""
    page.wait_for_function(
        "n => { const a = document.querySelectorAll('.msg.assistant'); "
        "if (!document.querySelector('#alert').hidden) return true; "
        "return a.length >= n && !a[n-1].classList.contains('pending') && "
        "a[n-1].querySelector('.footprint').textContent.includes('Token'); }", arg=n, timeout=timeout)
    alert = page.locator("#alert")
    assert not alert.is_visible(), f"the page shows an error instead of answer {n}: {alert.inner_text()}"
    return page.locator(".msg.assistant").nth(n - 1)


def test_sign_in_stream_stop_keyboard_and_audit(site: dict[str, Any]) -> None:
    page = sign_in(site, "anna")
    assert page.url.endswith("/chat")
    assert axe_violations(page) == []
    # keyboard only: the skip link comes first, every control of the composer is reachable with Tab
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id"))
    for control in ("q", "data-class", "model", "mode", "prompt", "send", "files"):
        assert control in reached, (control, reached)
    assert reached.index("data-class") < reached.index("prompt") < reached.index("send")
    # only models cleared for the data class are offered
    page.select_option("#data-class", "personenbezogen")
    assert "cloud-chat" not in page.locator("#model option").all_inner_texts()
    page.select_option("#data-class", "intern")
    assert "cloud-chat" in page.locator("#model option").all_inner_texts()

    # stream and stop, sent with Ctrl+Enter
    page.focus("#prompt")
    page.keyboard.type("Schreibe einen langen Aufsatz über die Geschichte der Stadt München.")
    page.keyboard.press("Control+Enter")
    cid = chat_id(page)
    page.wait_for_function("() => document.querySelector('.msg.assistant .body').textContent.length > 15",
                           timeout=LONG)
    page.click("#stop")
    page.wait_for_selector("#status:has-text('Gestoppt')", timeout=30_000)
    page.wait_for_function("() => !document.querySelector('#send').disabled")
    shown = page.inner_text(".msg.assistant .body").strip()
    rows = sql(site, "SELECT role, status, content FROM chat_messages m JOIN chats c ON c.id = m.chat_id "
                     "WHERE c.id = :id ORDER BY seq", id=cid)
    assert [r.role for r in rows] == ["user", "assistant"] and rows[1].status == "cancelled"
    # the page shows the stored Markdown rendered ("# Geschichte" as a heading "Geschichte"): compare the words
    stored = re.sub(r"^[#>*\-\s]+", "", rows[1].content.strip())
    assert stored and shown.lstrip("•-* ").startswith(stored[:10]), (stored[:40], shown[:40])

    # a complete answer with Markdown and its footprint
    page.fill("#prompt", "Nenne drei Farben als Markdown-Liste.")
    page.click("#send")
    answer = answer_done(page, 2)
    footprint = answer.locator(".footprint").inner_text()
    assert re.search(r"\d+ Token · [\d,]+ € · [\d,]+ Wh · [\d,]+ g CO₂e", footprint), footprint
    assert answer.locator(".body > *").count() >= 1  # rendered from Markdown (list, paragraph or code block)
    # copy, regenerate, edit-and-resend
    answer.locator("button", has_text="Kopieren").click()
    page.wait_for_selector("#status:has-text('Kopiert')")
    page.locator(".msg.assistant button.regenerate").click()
    answer_done(page, 2)
    assert page.locator(".msg.assistant").count() == 2
    page.locator(".msg.user").first.locator("button", has_text="Bearbeiten").click()
    page.locator(".edit-box textarea").fill("Nenne zwei Tiere.")
    page.locator(".edit-box button", has_text="Speichern und neu senden").click()
    answer_done(page, 1)
    rows = sql(site, "SELECT role, content FROM chat_messages WHERE chat_id = :id ORDER BY seq", id=cid)
    assert [r.role for r in rows] == ["user", "assistant"] and rows[0].content == "Nenne zwei Tiere."
    assert axe_violations(page) == []
    shot(page, "chat.png")


def test_two_tabs_and_other_users_get_clear_messages(site: dict[str, Any]) -> None:
    page = sign_in(site, "anna")
    page.fill("#prompt", "Sag Hallo.")
    page.click("#send")
    cid = chat_id(page)
    answer_done(page)
    second = page.context.new_page()
    second.goto(f"{site['url']}/chat/{cid}")
    page.fill("#prompt", "Sag Servus.")
    page.click("#send")
    answer_done(page, 2)
    second.fill("#prompt", "Mein wichtiger Text")
    second.click("#send")
    second.wait_for_selector("#alert:has-text('anderen Tab')")
    assert second.input_value("#prompt") == "Mein wichtiger Text"  # nothing typed is lost
    assert len(sql(site, "SELECT 1 FROM chat_messages WHERE chat_id = :id", id=cid)) == 4
    # empty message
    page.fill("#prompt", "   ")
    page.click("#send")
    page.wait_for_selector("#alert:has-text('Bitte geben Sie einen Text ein')")
    # another user, even of the same department, sees "not found", not the chat
    other = sign_in(site, "berta", f"/chat/{cid}")
    assert other.locator("h1").inner_text() == "Nicht gefunden"
    assert "Sag Hallo" not in other.content()


def test_busy_model_shows_a_countdown_and_the_same_turn_is_sent_again(site: dict[str, Any]) -> None:
    """Issue 19: while another call holds the model and no place is left in its queue, the page says so, counts
    down the Retry-After and sends the same turn again – once, with nothing stored twice."""
    runtime: Runtime = site["runtime"]
    gate = runtime.gateway.admission.gate("local-chat", 1, 8, 30)
    saved_queue, gate.max_queue = gate.max_queue, 0
    ctx = CallContext(principal=local_principal(runtime.settings), data_class=DataClass.INTERN, use_case="test")
    held = [runtime.gateway.chat_stream(ctx, [ChatMessage("user", "Zähle bis drei.")], params=ChatParams(max_tokens=4))]
    try:
        page = sign_in(site, "anna")
        page.fill("#prompt", "Sag Grüß Gott.")
        page.click("#send")
        page.wait_for_selector("#alert:has-text('ausgelastet – neuer Versuch in')", timeout=LONG)
        assert page.input_value("#prompt") == "Sag Grüß Gott."  # nothing typed is lost while it waits
        held.clear()  # the other call ends (a prepared stream dropped unread): its slot is free for the retry
        page.wait_for_selector("#alert", state="hidden", timeout=LONG)  # the countdown ran out: sent again
        answer_done(page)
        cid = chat_id(page)
    finally:
        held.clear()
        gate.max_queue = saved_queue
    roles = [r[0] for r in sql(site, "SELECT role FROM chat_messages WHERE chat_id = :id ORDER BY seq", id=cid)]
    assert roles == ["user", "assistant"]  # the refused attempt left nothing behind


def test_upload_pdf_cited_answer_then_delete_removes_everything(site: dict[str, Any], tmp_path: Path) -> None:
    page = sign_in(site, "anna")
    page.select_option("#data-class", "vertraulich")
    bad = tmp_path / "tabelle.xlsx"
    bad.write_bytes(b"PK\x03\x04")
    page.set_input_files("#files", str(bad))
    page.click("#upload-button")
    page.wait_for_selector("#alert:has-text('tabelle.xlsx')")
    doc = tmp_path / "vermerk.pdf"
    doc.write_bytes(pdf_bytes("Vermerk Fuhrpark\nDer neue Elektrobus des Betriebshofs wird am 3. März ausgeliefert.\n"
                              "Die Schulung der Fahrerinnen beginnt eine Woche später."))
    page.set_input_files("#files", str(doc))
    page.click("#upload-button")
    page.wait_for_selector("#docs-on", timeout=LONG)
    cid = chat_id(page)
    page.fill("#prompt", "Wann wird der Elektrobus ausgeliefert?")
    page.click("#send")
    answer = answer_done(page)
    source = answer.locator(".sources li").first
    assert "3. März" in source.inner_text() and "wörtlich geprüft" in source.inner_text()
    shot(page, "chat-documents.png")
    collection = sql(site, "SELECT collection_id FROM chats WHERE id = :id", id=cid)[0][0]
    assert sql(site, "SELECT count(*) FROM kb_chunks WHERE collection_id = :c", c=collection)[0][0] >= 1
    page.once("dialog", lambda d: d.accept())
    page.click("#delete")
    page.wait_for_url(re.compile(r".*/chat$"))
    assert sql(site, "SELECT count(*) FROM chats WHERE id = :id", id=cid)[0][0] == 0
    assert sql(site, "SELECT count(*) FROM chat_messages WHERE chat_id = :id", id=cid)[0][0] == 0
    for table in ("kb_chunks", "kb_documents", "kb_lexemes"):
        assert sql(site, f"SELECT count(*) FROM {table} WHERE collection_id = :c", c=collection)[0][0] == 0
    assert sql(site, "SELECT count(*) FROM kb_collections WHERE id = :c", c=collection)[0][0] == 0


def test_share_assistant_within_department_screen_publish_and_moderate(site: dict[str, Any]) -> None:
    anna = sign_in(site, "anna", "/assistants")
    anna.fill("#a-name", "Eingangsbestätiger")
    anna.fill("#a-description", "Schreibt kurze Eingangsbestätigungen.")
    anna.fill("#a-prompt", "Du formulierst kurze, freundliche Eingangsbestätigungen für Schreiben an das KVR.")
    anna.fill("#a-starters", "Bestätige den Eingang eines Antrags.")
    anna.select_option("#a-visibility", "departments")
    anna.fill("#a-departments", "KVR")
    anna.click("#save")
    anna.wait_for_url(re.compile(r".*/assistants/[0-9a-f-]{36}$"))
    aid = anna.url.rsplit("/", 1)[1]
    anna.click("#publish")
    anna.wait_for_selector("#pub-state[data-published='true']", timeout=LONG)
    assert axe_violations(anna) == []

    # a colleague of the same department finds and uses it
    berta = sign_in(site, "berta", "/assistants")
    berta.locator("#shared-list a", has_text="Eingangsbestätiger").click()
    berta.click("#use-assistant")
    berta.locator("button.starter").click()
    berta.click("#send")
    try:
        answer_done(berta)
    except Exception:
        berta.screenshot(path="/tmp/ui/berta.png", full_page=True)
        raise
    cid = chat_id(berta)
    assert sql(site, "SELECT assistant_id FROM chats WHERE id = :id", id=cid)[0][0] == uuid.UUID(aid)
    # a user of another department does not see it at all
    olaf = sign_in(site, "olaf", f"/assistants/{aid}")
    assert olaf.locator("h1").inner_text() == "Nicht gefunden"
    olaf.goto(f"{site['url']}/chat?assistant={aid}")
    assert olaf.locator("h1").inner_text() == "Nicht gefunden"
    olaf.goto(f"{site['url']}/assistants")
    assert "Eingangsbestätiger" not in olaf.inner_text("#shared-list")

    # a high-risk purpose needs the explicit confirmation
    anna.goto(f"{site['url']}/assistants")
    anna.fill("#a-name", "Wohngeld-Vorprüfung")
    anna.fill("#a-prompt", "Prüfe Anträge auf Wohngeld und entscheide über den Anspruch.")
    anna.select_option("#a-visibility", "link")
    anna.click("#save")
    anna.wait_for_url(re.compile(r".*/assistants/[0-9a-f-]{36}$"))
    risky = anna.url.rsplit("/", 1)[1]
    anna.click("#publish")
    anna.wait_for_selector("#confirm-box:visible", timeout=LONG)
    assert "Hochrisiko-Bereich" in anna.inner_text("#screening")
    anna.click("#publish-confirmed")  # without the tick: refused with a message
    anna.wait_for_selector("#alert:has-text('Kenntnis')")
    anna.check("#confirm-high-risk")
    anna.click("#publish-confirmed")
    anna.wait_for_selector("#pub-state[data-published='true']", timeout=LONG)
    assert sql(site, "SELECT confirmed_by FROM user_assistants WHERE id = :id", id=risky)[0][0]
    shot(anna, "assistants.png")

    # moderation: the administration withdraws it with a reason the owner sees
    root = sign_in(site, "root", "/admin")
    row = root.locator(f"tr[data-id='{risky}']")
    row.locator("input").fill("Bitte Datenschutz-Folgenabschätzung nachreichen.")
    row.locator("button").click()
    root.wait_for_selector(f"tr[data-id='{risky}']", state="detached")
    root.reload()
    assert root.locator("#by-department").inner_text().count("KVR") == 1
    assert root.locator(".chart svg rect").count() >= 3
    assert axe_violations(root) == []
    shot(root, "admin.png")
    anna.goto(f"{site['url']}/assistants/{risky}")
    assert "Datenschutz-Folgenabschätzung" in anna.inner_text("#moderation-note")
    # non-admins get a clear refusal on the admin page
    berta.goto(f"{site['url']}/admin")
    assert berta.locator("h1").inner_text() == "Kein Zugriff"


NOTICE = ("Die Landeshauptstadt München erhebt für die Ausstellung eines Anwohnerparkausweises eine Gebühr von "
          "30 Euro pro Jahr, wobei der Antrag frühestens sechs Wochen vor Ablauf des bisherigen Ausweises "
          "gestellt werden kann und die Bearbeitung in der Regel innerhalb von 10 Arbeitstagen erfolgt, sofern "
          "sämtliche erforderlichen Nachweise, insbesondere die Meldebescheinigung und der Fahrzeugschein, "
          "vollständig vorliegen. Seit dem 1. April 2024 kann der Antrag auch vollständig online gestellt werden.")


def test_summarise_and_simplify_show_their_checks(site: dict[str, Any]) -> None:
    page = sign_in(site, "anna")
    page.select_option("#mode", "summarise")
    assert page.locator("#opt-length").is_visible() and not page.locator("#opt-level").is_visible()
    page.select_option("#opt-length", "kurz")
    page.fill("#prompt", NOTICE)
    page.click("#send")
    summary = answer_done(page, timeout=TOOL)
    checks = summary.locator(".details").inner_text()
    assert "Zahlen geprüft" in checks
    verified, total = map(int, re.search(r"Zahlen geprüft\s+(\d+)/(\d+)", checks).groups())  # type: ignore[union-attr]
    assert verified == total or "⚠" in checks  # unverified numbers are never shown without a warning
    assert "Zahlen der Vorlage übernommen" in checks and "%" in checks
    assert "_" not in checks  # labels, never internal keys
    cid = chat_id(page)
    meta = sql(site, "SELECT meta FROM chat_messages WHERE chat_id = :id AND role = 'assistant'", id=cid)[0][0]
    assert meta["tool"] == "summarise" and meta["metrics"]["total_tokens"] > 0

    page.select_option("#mode", "simplify")
    page.select_option("#opt-level", "B1")
    page.fill("#prompt", NOTICE.split(". Seit")[0] + ".")  # one long sentence keeps the model's work short
    page.click("#send")
    simple = answer_done(page, 2, timeout=TOOL)
    details = simple.locator(".details").inner_text()
    before, after = (float(x.replace(",", ".")) for x in
                     re.search(r"WSTF ([\d,]+) → ([\d,]+)", details).groups())  # type: ignore[union-attr]
    assert after < before  # the shown score: easier than the original
    assert "B1" in details and "Wörter/Satz" in details and "_" not in details
    shot(page, "simplify.png")
