"""The inbox end to end on the real database, the shipped embedder and a real SMTP server: intake over the API
(idempotent), routing by the trained sample model, the data takeover, duplicates, access across departments,
corrections as training examples, reply drafts from a knowledge collection with verified quotes, approval and
sending exactly once, and the Zammad webhook."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from mailservers import SmtpServer, smtp_server
from pydantic import SecretStr
from sample_inbox import load_sample_inbox

from oidc import Issuer, bearer
from rathaus.app import create_app
from rathaus.inbox import learning, processing
from rathaus.inbox.schema import InboxCorrection, InboxExample, InboxMessage
from rathaus.inbox.service import taxonomy
from rathaus.inbox.zammad import sign
from rathaus.runtime import Runtime

__all__ = ["smtp_server"]  # the fixture, imported for pytest
WEBHOOK_SECRET = "zammad-webhook-secret-for-tests"



@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory, pg_data_dir: Path, models_file: Path,
          issuer: Issuer) -> Iterator[tuple[Runtime, TestClient]]:
    """One database with the sample routing model, a Bürgerbüro collection and the app in oidc mode."""
    import uuid

    from conftest import MODEL_CACHE
    from rathaus.core.settings import Settings

    # the test catalogue has the real e5 embedder next to USE: routing reads both, as with the shipped catalogue
    settings = Settings(_env_file=None, data_dir=pg_data_dir, cache_dir=MODEL_CACHE, models_file=models_file,
                        database_name="inbox_" + uuid.uuid4().hex[:8], llm_threads=2,
                        inbox_models_dir=tmp_path_factory.mktemp("inbox-models"),
                        inbox_routing_embedders=["local-embed", "local-e5"],
                        inbox_zammad_webhook_secret=WEBHOOK_SECRET, **issuer.settings())
    rt = Runtime(settings)
    done = load_sample_inbox(rt, tmp_path_factory.mktemp("buergerbuero"))
    assert done["trained"] and done["stored"] == 10 and done["processed"] == 10
    with TestClient(create_app(rt)) as client:
        yield rt, client
    rt.close()


def use_smtp(rt: Runtime, **values: object) -> None:
    from rathaus.inbox.settings import InboxSettings

    section = rt.settings.section(InboxSettings)
    for key, value in values.items():
        setattr(section, key, value)


def messages(rt: Runtime) -> dict[str, InboxMessage]:
    with rt.db.session() as s:
        rows = s.scalars(sa.select(InboxMessage)).all()
        s.expunge_all()
    return {m.external_id: m for m in rows}


def test_the_sample_inbox_is_routed_extracted_and_grouped(inbox: tuple[Runtime, TestClient]) -> None:
    rt, _ = inbox
    by_id = messages(rt)
    wohngeld = by_id["<sample-01@musterstadt.example>"]
    assert wohngeld.status in ("open", "triage") and wohngeld.processed_at is not None
    fields = wohngeld.extraction["fields"]
    assert [f["value"] for f in fields["iban"]] == ["DE89370400440532013000"]
    assert "WG-2026/0815" in [f["value"] for f in fields["case_number"]]
    assert any(f["value"] == "845.50" or f["value"] == 845.5 for f in fields["amount"])
    follow_up = by_id["<sample-08@musterstadt.example>"]
    assert follow_up.case_id == wohngeld.id  # the reply joins the first message's case
    pothole_a, pothole_b = by_id["<sample-03@musterstadt.example>"], by_id["<sample-04@musterstadt.example>"]
    assert pothole_b.case_id == pothole_a.case_id or any(s["id"] == pothole_a.id for s in pothole_b.similar)
    spam = by_id["<sample-06@musterstadt.example>"]
    assert spam.status in ("spam", "triage") and spam.department is None


def test_api_intake_is_idempotent_and_refuses_bad_input(inbox: tuple[Runtime, TestClient], issuer: Issuer) -> None:
    rt, client = inbox
    intake = bearer(issuer, "form-backend", ["inbox-intake"], department="it")
    body = {"subject": "Termin Ummeldung", "body": "Ich finde keinen Termin für die Ummeldung.",
            "sender_name": "Rita Beispiel", "sender_address": "rita@example.org", "external_id": "form-4711"}
    first = client.post("/api/v1/inbox/messages", json=body, headers=intake)
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/inbox/messages", json=body, headers=intake)
    assert again.status_code == 200 and again.json() == {"id": first.json()["id"], "created": False}
    with rt.db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM inbox_messages WHERE external_id = 'form-4711'")) == 1
    empty = client.post("/api/v1/inbox/messages", json={"subject": " ", "body": ""}, headers=intake)
    assert empty.status_code == 400 and "ohne Betreff" in empty.json()["detail"]
    assert empty.headers["content-type"].startswith("application/problem+json")
    bad_address = client.post("/api/v1/inbox/messages", json={**body, "sender_address": "kein-at"}, headers=intake)
    assert bad_address.status_code == 422
    unknown_field = client.post("/api/v1/inbox/messages", json={**body, "priority": "hoch"}, headers=intake)
    assert unknown_field.status_code == 422
    worker = bearer(issuer, "w1", [], department="buergerbuero")
    assert client.post("/api/v1/inbox/messages", json=body, headers=worker).status_code == 403
    processing.process(rt, first.json()["id"])
    assert messages(rt)["form-4711"].status in ("open", "triage")


def test_a_message_is_visible_to_its_department_only(inbox: tuple[Runtime, TestClient], issuer: Issuer) -> None:
    rt, client = inbox
    by_id = messages(rt)
    target = by_id["<sample-01@musterstadt.example>"]
    admin = bearer(issuer, "a1", ["admin"], department="verwaltung")
    client.post(f"/api/v1/inbox/messages/{target.id}/route", json={"department": "sozialamt",
                                                                    "category": "wohngeld"}, headers=admin)
    own = bearer(issuer, "s1", [], department="sozialamt")
    other = bearer(issuer, "v1", [], department="verkehr")
    auditor = bearer(issuer, "au", ["auditor"], department="revision")
    assert client.get(f"/api/v1/inbox/messages/{target.id}", headers=own).json()["subject"] == target.subject
    for who in (other, auditor):
        for method, path, body in (
                ("GET", f"/api/v1/inbox/messages/{target.id}", None),
                ("GET", f"/api/v1/inbox/messages/{target.id}/extraction", None),
                ("POST", f"/api/v1/inbox/messages/{target.id}/route", {"department": "verkehr"}),
                ("POST", f"/api/v1/inbox/messages/{target.id}/spam", {"spam": True}),
                ("POST", f"/api/v1/inbox/messages/{target.id}/drafts", None)):
            response = client.request(method, path, json=body, headers=who)
            assert response.status_code == 404, (method, path, response.text)
        listed = client.get("/api/v1/inbox/messages?limit=200", headers=who).json()
        assert target.id not in [m["id"] for m in listed["items"]]
        assert all(m["department"] == "verkehr" for m in listed["items"]) or who is auditor
    assert client.get("/api/v1/inbox/messages?limit=200", headers=auditor).json()["total"] == 0
    triage = bearer(issuer, "t1", ["inbox-triage"], department="poststelle")
    seen = {m["department"] for m in client.get("/api/v1/inbox/messages?limit=200", headers=triage).json()["items"]}
    assert seen <= {None}  # the triage queue only
    listed = client.get("/api/v1/inbox/messages?department=sozialamt", headers=own).json()["items"]
    assert target.id in [m["id"] for m in listed]
    attachment = by_id["<sample-08@musterstadt.example>"]
    detail = client.get(f"/api/v1/inbox/messages/{attachment.id}", headers=admin).json()
    att = detail["attachments"][0]
    assert att["filename"] == "lohnabrechnung-oktober.txt" and "Netto" in att["text"]
    url = f"/api/v1/inbox/messages/{attachment.id}/attachments/{att['id']}"
    assert client.get(url, headers=other).status_code == 404
    assert client.get(url, headers=admin).content.startswith(b"Lohnabrechnung")


def test_a_correction_is_kept_for_the_next_training(inbox: tuple[Runtime, TestClient], issuer: Issuer) -> None:
    rt, client = inbox
    target = messages(rt)["<sample-10@musterstadt.example>"]
    admin = bearer(issuer, "a1", ["admin"], department="verwaltung")
    bad = client.post(f"/api/v1/inbox/messages/{target.id}/route", headers=admin,
                      json={"department": "verwaltung", "category": "wohngeld"})
    assert bad.status_code == 400 and "belongs to department 'sozialamt'" in bad.json()["detail"]
    assert client.post(f"/api/v1/inbox/messages/{target.id}/route", headers=admin,
                       json={"department": "nirgendwo"}).status_code == 400
    new = "sonstiges" if target.category == "beschwerde" else "beschwerde"  # differs from the model's choice
    done = client.post(f"/api/v1/inbox/messages/{target.id}/route", headers=admin,
                       json={"department": "verwaltung", "category": new, "urgency": "normal"})
    assert done.status_code == 200 and done.json()["routed_by"] == "a1"
    with rt.db.session() as s:
        example = s.scalar(sa.select(InboxExample).where(InboxExample.message_id == target.id))
        assert example is not None and example.category == new and example.source == "correction"
        corrected = s.scalars(sa.select(InboxCorrection).where(InboxCorrection.message_id == target.id)).all()
        assert ("category", target.category, new) in [(c.field, c.old, c.new) for c in corrected]
    assert learning.corrections_since_training(rt) >= 1
    retrained = learning.train_current(rt, taxonomy(rt))
    assert retrained["examples"] >= 77 and learning.current_info(rt)["model_id"] == retrained["model_id"]
    # both embedders enabled: the routing model reads USE and e5 side by side with TF-IDF
    assert retrained["info"]["embedding_model"] == "local-embed+local-e5"
    from conftest import EMBED_DIM

    assert retrained["info"]["embedding_views"] == [EMBED_DIM, 384]
    model = learning.current_model(rt)
    assert model is not None and model.category is not None and model.category.choice.mode == "views"
    assert model.category.full is not None  # the label comes from the member refitted on all examples
    suggestion = model.predict([f"{target.subject} {target.body}"])[0]
    assert suggestion.category in model.category.classes and 0.0 < (suggestion.confidence or 0) <= 1.0


def test_draft_approve_and_send_once(inbox: tuple[Runtime, TestClient], issuer: Issuer,
                                     smtp_server: SmtpServer) -> None:
    rt, client = inbox
    use_smtp(rt, inbox_smtp_host=smtp_server.host, inbox_smtp_port=smtp_server.port, inbox_smtp_security="none",
             inbox_smtp_from="buergerbuero@musterstadt.example")
    target = messages(rt)["<sample-09@musterstadt.example>"]
    admin = bearer(issuer, "a1", ["admin"], department="verwaltung")
    client.post(f"/api/v1/inbox/messages/{target.id}/route", headers=admin,
                json={"department": "buergerbuero", "category": "termine_buergerbuero"})
    worker = bearer(issuer, "b1", [], department="buergerbuero")
    sender = bearer(issuer, "b2", ["inbox-send"], department="buergerbuero")
    draft = client.post(f"/api/v1/inbox/messages/{target.id}/drafts", headers=worker)
    assert draft.status_code == 201, draft.text
    d = draft.json()
    assert not d["abstained"] and d["sources"] and all(s["verified"] for s in d["sources"])
    assert "Guten Tag Sam Beispiel," in d["text"] and "Termin" in d["text"] and "Mit freundlichen Grüßen" in d["text"]
    assert client.post(f"/api/v1/inbox/drafts/{d['id']}/send", headers=sender).status_code == 409  # not approved
    assert client.post(f"/api/v1/inbox/drafts/{d['id']}/approve", headers=worker).status_code == 403  # no role
    edited = client.put(f"/api/v1/inbox/drafts/{d['id']}", headers=worker,
                        json={"text": d["text"] + "\n\nPS: Bitte bringen Sie Ihren Ausweis mit."})
    assert edited.json()["edited_by"] == "b1"
    approved = client.post(f"/api/v1/inbox/drafts/{d['id']}/approve", headers=sender).json()
    assert approved["status"] == "approved" and approved["approved_by"] == "b2"
    sent = client.post(f"/api/v1/inbox/drafts/{d['id']}/send", headers=sender)
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    again = client.post(f"/api/v1/inbox/drafts/{d['id']}/send", headers=sender)
    assert again.status_code == 200 and len(smtp_server.messages) == 1  # nothing is sent twice
    mail = smtp_server.messages[0]
    assert mail["In-Reply-To"] == "<sample-09@musterstadt.example>" and mail["To"] == "sam.beispiel@example.org"
    assert "PS: Bitte bringen Sie Ihren Ausweis mit." in mail.get_content()
    assert messages(rt)["<sample-09@musterstadt.example>"].status == "answered"
    with rt.db.engine.connect() as conn:
        record = conn.execute(sa.text("SELECT actor, sources, details FROM audit_log WHERE action = 'inbox.sent'"))
        actor, sources, details = record.one()
    assert actor == "b2" and details["approved_by"] == "b2" and sources


def test_sending_fails_cleanly_when_the_mail_server_is_down(inbox: tuple[Runtime, TestClient],
                                                            issuer: Issuer) -> None:
    rt, client = inbox
    from conftest import free_port

    use_smtp(rt, inbox_smtp_host="127.0.0.1", inbox_smtp_port=free_port(), inbox_smtp_security="none")
    target = messages(rt)["<sample-05@musterstadt.example>"]
    admin = bearer(issuer, "a1", ["admin"], department="verwaltung")
    client.post(f"/api/v1/inbox/messages/{target.id}/route", headers=admin, json={"department": "buergerbuero"})
    d = client.post(f"/api/v1/inbox/messages/{target.id}/drafts", headers=admin).json()
    client.post(f"/api/v1/inbox/drafts/{d['id']}/approve", headers=admin)
    failed = client.post(f"/api/v1/inbox/drafts/{d['id']}/send", headers=admin)
    assert failed.status_code == 409 and "sending failed" in failed.json()["detail"]
    state = client.get(f"/api/v1/inbox/messages/{target.id}", headers=admin).json()
    assert state["drafts"][0]["status"] == "failed" and state["status"] != "answered"


def test_zammad_webhook_checks_the_signature_and_stores_once(inbox: tuple[Runtime, TestClient]) -> None:
    rt, client = inbox
    fixtures = Path(__file__).parent / "fixtures" / "zammad"
    payload_file = sorted(fixtures.glob("*webhook*.json"))[0]
    raw = payload_file.read_bytes()
    headers = {"Content-Type": "application/json", "X-Zammad-Delivery": "delivery-1",
               "X-Hub-Signature": sign(raw, WEBHOOK_SECRET)}
    first = client.post("/api/v1/inbox/zammad/webhook", content=raw, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/inbox/zammad/webhook", content=raw, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    forged = client.post("/api/v1/inbox/zammad/webhook", content=raw.replace(b"}", b" }", 1), headers=headers)
    assert forged.status_code in (401, 403) and forged.headers["content-type"].startswith("application/problem+json")
    unsigned = client.post("/api/v1/inbox/zammad/webhook", content=raw,
                           headers={"Content-Type": "application/json"})
    assert unsigned.status_code in (401, 403)
    with rt.db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM inbox_messages WHERE channel = 'zammad'")) == 1
    data: Any = json.loads(raw)
    assert data  # the documented payload


def routed(rt: Runtime, external_id: str, body: str, department: str, category: str,
           address: str | None = "rosa@example.org") -> int:
    """A stored, processed message set to a confident model routing (what the sample model gives for clear
    cases), so the automation's own checks are what the test is about."""
    from rathaus.inbox.intake import store_message
    from rathaus.inbox.message import IncomingMessage

    stored = store_message(rt, IncomingMessage(channel="api", external_id=external_id, subject="Anfrage",
                                               body=body, sender_name="Rosa Beispiel", sender_address=address))
    processing.process(rt, stored.id)
    with rt.db.session() as s:
        m = s.get(InboxMessage, stored.id)
        assert m is not None
        m.status, m.routed_by, m.department, m.category = "open", "model", department, category
        m.routing = {**(m.routing or {}), "auto_route": True, "confidence": 0.98, "category": category}
    return stored.id


def test_automatic_answers_only_where_allowed_confident_and_verified(inbox: tuple[Runtime, TestClient],
                                                                     smtp_server: SmtpServer) -> None:
    from rathaus.inbox.automation import auto_answer

    rt, _ = inbox
    use_smtp(rt, inbox_smtp_host=smtp_server.host, inbox_smtp_port=smtp_server.port, inbox_smtp_security="none",
             inbox_auto_answer=False)
    hours = routed(rt, "auto-1", "Wann hat das Bürgerbüro geöffnet?", "buergerbuero", "termine_buergerbuero")
    off = auto_answer(rt, hours)
    assert not off["sent"] and "RATHAUS_INBOX_AUTO_ANSWER" in off["reason"]
    use_smtp(rt, inbox_auto_answer=True)
    annex = routed(rt, "auto-2", "Wann wird mein Wohngeld ausgezahlt?", "sozialamt", "wohngeld")
    refused = auto_answer(rt, annex)
    assert not refused["sent"] and "Annex III" in refused["reason"]
    unknown = routed(rt, "auto-3", "Wie hoch ist die Hundesteuer für einen Schäferhund?", "buergerbuero",
                     "termine_buergerbuero")
    abstained = auto_answer(rt, unknown)
    assert not abstained["sent"] and "no verified answer" in abstained["reason"]
    done = auto_answer(rt, hours)
    assert done["sent"] and done["draft"]["approved_by"] == "auto-answer" and done["draft"]["status"] == "sent"
    answered = [m for m in smtp_server.messages if m["To"] == "rosa@example.org"]
    assert len(answered) == 1 and "8 bis 12 Uhr" in answered[0].get_content()
    assert auto_answer(rt, hours)["sent"] is False  # answered: never a second time
    with rt.db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM audit_log WHERE action = 'inbox.auto_answer'")) == 1
    use_smtp(rt, inbox_auto_answer=False)


def test_zammad_write_back_sets_group_priority_tags_and_an_internal_note(inbox: tuple[Runtime, TestClient]) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from rathaus.inbox.automation import zammad_update
    from rathaus.inbox.message import IncomingMessage

    rt, _ = inbox
    seen: list[tuple[str, str, str, Any]] = []

    class Zammad(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            seen.append((self.command, self.path, self.headers.get("Authorization", ""), body))
            self.send_response(201 if self.command == "POST" else 200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"id": 77}')

        do_PUT = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Zammad)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rt.settings.outbound_allow = ["127.0.0.1/32"]  # the operator allows the intranet Zammad
    use_smtp(rt, inbox_zammad_url=f"http://127.0.0.1:{server.server_port}", inbox_zammad_token=SecretStr("tok-123"),
             inbox_zammad_write_back=True)
    try:
        from rathaus.inbox.intake import store_message

        stored = store_message(rt, IncomingMessage(
            channel="zammad", external_id="4711/1", subject="Schlagloch", mailbox="Users",
            body="In der Gartenstraße ist ein Schlagloch, bitte dringend beheben. Aktenzeichen AZ-77/2026.",
            sender_name="Jana Probe", sender_address="jana.probe@example.org",
            meta={"zammad_ticket_id": "4711", "zammad_article_id": "1"}))
        processing.process(rt, stored.id)
        with rt.db.engine.connect() as conn:
            queued = conn.scalar(sa.text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = "
                                         "'inbox.zammad_update' AND args->>'message_id' = :i"), {"i": str(stored.id)})
        assert queued == 1  # queued with the routing, in its transaction
        with rt.db.session() as s:
            m = s.get(InboxMessage, stored.id)
            assert m is not None
            m.department, m.category, m.urgency, m.status = "verkehr", "strassenschaden", "hoch", "open"
        done = zammad_update(rt, stored.id)
        assert done == {"message_id": stored.id, "written": True, "group": "Straßenverkehrsbehörde",
                        "priority": "3 high", "tags": ["strassenschaden"]}
        assert all(auth == "Token token=tok-123" for _, _, auth, _ in seen)
        calls = [(method, path) for method, path, _, _ in seen]
        assert calls == [("PUT", "/api/v1/tickets/4711"), ("POST", "/api/v1/tags/add"),
                         ("POST", "/api/v1/ticket_articles")]
        assert seen[0][3] == {"group": "Straßenverkehrsbehörde", "priority": "3 high"}
        assert seen[1][3] == {"item": "strassenschaden", "object": "Ticket", "o_id": 4711}
        note = seen[2][3]
        assert note["internal"] is True and note["type"] == "note" and note["ticket_id"] == 4711
        assert "AZ-77/2026" in note["body"] and "<script" not in note["body"]
    finally:
        use_smtp(rt, inbox_zammad_write_back=False)
        rt.settings.outbound_allow = []
        server.shutdown()


def test_an_earlier_message_lists_the_later_ones_that_found_it(inbox: tuple[Runtime, TestClient],
                                                               issuer: Issuer) -> None:
    rt, client = inbox
    by_id = messages(rt)
    first, later = by_id["<sample-03@musterstadt.example>"], by_id["<sample-04@musterstadt.example>"]
    admin = bearer(issuer, "a1", ["admin"], department="verwaltung")
    linked = {s["id"] for s in client.get(f"/api/v1/inbox/messages/{first.id}", headers=admin).json()["similar"]}
    assert later.id in linked
    plot = client.get("/api/v1/inbox/patterns.png?department=buergerbuero", headers=admin)
    assert plot.status_code in (200, 400)  # a plot, or the reason why there is none
    if plot.status_code == 400:
        assert "Thema" in plot.json()["detail"] or "Nachrichten" in plot.json()["detail"]
    else:
        assert plot.content.startswith(b"\x89PNG")


@pytest.mark.model
def test_a_reply_in_the_senders_language_comes_with_a_plain_german_version(inbox: tuple[Runtime, TestClient],
                                                                           issuer: Issuer,
                                                                           smtp_server: SmtpServer) -> None:
    from rathaus.core.language import detect_language

    rt, client = inbox
    use_smtp(rt, inbox_smtp_host=smtp_server.host, inbox_smtp_port=smtp_server.port, inbox_smtp_security="none",
             inbox_smtp_from="buergerbuero@musterstadt.example")
    worker = bearer(issuer, "b1", [], department="buergerbuero")
    sender = bearer(issuer, "b2", ["inbox-send"], department="buergerbuero")
    english = routed(rt, "plain-en", "Hello, what are the opening hours of the citizens' office? Do I need an "
                                     "appointment to register my new address?", "buergerbuero",
                     "termine_buergerbuero", address="lee@example.org")
    made = client.post(f"/api/v1/inbox/messages/{english}/drafts", headers=worker)
    assert made.status_code == 201, made.text
    d = made.json()
    assert d["language"] == "en" and not d["abstained"]
    assert d["text"].splitlines()[2] == "Dear Rosa Beispiel," and "Kind regards" in d["text"]
    # the detector reads the whole letter as German (German names and source titles): judge the written lines
    prose = "\n".join(line for line in d["text"].splitlines() if "Beispiel" not in line and "BUERGER" not in line)
    assert detect_language(prose) == "en", d["text"]
    german = d["companion_text"]
    assert german and detect_language(german) == "de"
    assert "Guten Tag Rosa Beispiel," in german and "Mit freundlichen Grüßen" in german
    assert f"Laut Quelle [1]: «{d['sources'][0]['quote']}»" in german  # the German source, word for word
    assert d["send_companion"] is False
    plain = d["metrics"]["readability_de"]
    assert plain["level"] in ("A2", "B1") and plain["avg_sentence_words"] <= 12
    # the case worker appends the German version; the approval covers it; both go out in one mail
    saved = client.put(f"/api/v1/inbox/drafts/{d['id']}", headers=worker,
                       json={"text": d["text"], "companion_text": german, "send_companion": True})
    assert saved.status_code == 200 and saved.json()["send_companion"] is True
    assert client.post(f"/api/v1/inbox/drafts/{d['id']}/approve", headers=sender).status_code == 200
    assert client.post(f"/api/v1/inbox/drafts/{d['id']}/send", headers=sender).status_code == 200
    mail = [m for m in smtp_server.messages if m["To"] == "lee@example.org"]
    assert len(mail) == 1
    content = mail[0].get_content()
    assert content.index("Dear Rosa Beispiel,") < content.index("German version of this letter") < \
        content.index("Guten Tag Rosa Beispiel,")

    # a German message: one letter, in plain German, no companion
    german_id = routed(rt, "plain-de", "Guten Tag, wann hat das Bürgerbüro geöffnet? Brauche ich einen Termin "
                                      "für die Ummeldung?", "buergerbuero", "termine_buergerbuero")
    g = client.post(f"/api/v1/inbox/messages/{german_id}/drafts", headers=worker).json()
    assert g["language"] == "de" and g["companion_text"] is None and detect_language(g["text"]) == "de"
    assert "Hier ist unsere Antwort:" in g["text"] and "Er ist kein Bescheid." in g["text"]
    assert g["metrics"]["readability_de"]["level"] in ("A2", "B1")
    refused = client.put(f"/api/v1/inbox/drafts/{g['id']}", headers=worker,
                         json={"text": g["text"], "send_companion": True})
    assert refused.status_code == 400 and "no German version" in refused.json()["detail"]
