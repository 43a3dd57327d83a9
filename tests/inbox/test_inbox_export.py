"""The data takeover export against a real HTTP receiver on loopback: a case worker's request over the API, the job
``inbox.export`` on a real job worker, Standard Webhooks signatures checked by the receiver with its own HMAC
code, the delivery id kept across retries, 4xx stopping, permissions, departments, data classes, corrections."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from webhook_receiver import SECRET, Receiver, receiver

from conftest import MODEL_CACHE, wait_for
from oidc import Issuer, bearer
from rathaus.app import create_app
from rathaus.core.classification import DataClass
from rathaus.inbox import takeover
from rathaus.inbox.extraction import extract, validate_extraction
from rathaus.inbox.schema import InboxCorrection, InboxMessage
from rathaus.inbox.settings import ExportTarget, InboxSettings
from rathaus.runtime import Runtime

__all__ = ["receiver"]  # the fixture, imported for pytest
SECRET_ENV = "RATHAUS_TEST_TAKEOVER_SECRET"
BODY = ("Sehr geehrte Damen und Herren,\n\nzu meinem Wohngeldantrag, Aktenzeichen WG-2026/0815: die Nachzahlung "
        "von 845,50 € überweisen Sie bitte auf DE89 3704 0044 0532 0130 00. Unterlagen reiche ich bis zum "
        "31.03.2026 nach.\n\nMit freundlichen Grüßen\nErika Mustermann")


# --- the platform ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(pg_data_dir: Path, models_file: Path, issuer: Issuer) -> Iterator[tuple[Runtime, TestClient]]:
    from rathaus.core.settings import Settings

    settings = Settings(_env_file=None, data_dir=pg_data_dir, cache_dir=MODEL_CACHE,  # type: ignore[call-arg]
                        models_file=models_file, database_name="inbox_export_" + uuid.uuid4().hex[:8],
                        llm_threads=2, outbound_allow=["127.0.0.1"], jobs_retry_seconds=0.2, jobs_retries=3,
                        **issuer.settings())
    rt = Runtime(settings)
    with TestClient(create_app(rt)) as client:
        yield rt, client
    rt.close()


@pytest.fixture
def target(site: tuple[Runtime, TestClient], receiver: Receiver,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[ExportTarget]:
    """The Sozialamt's procedure is the receiver, cleared for internal and personal data."""
    rt, _ = site
    monkeypatch.setenv(SECRET_ENV, SECRET)
    section = rt.settings.section(InboxSettings)
    made = ExportTarget(url=receiver.url, secret_env=SECRET_ENV, data_classes=["intern", "personenbezogen"])
    section.inbox_export_targets = {"sozialamt": made}
    yield made
    section.inbox_export_targets = {}


def new_message(rt: Runtime, *, department: str | None = "sozialamt", status: str = "open") -> int:
    document = extract([("subject", "Wohngeld WG-2026/0815"), ("body", BODY)], sender_name="Erika Mustermann",
                       sender_address="erika@example.org", reference_date=dt.date(2026, 3, 2))
    with rt.db.session() as s:
        m = InboxMessage(channel="api", external_id=uuid.uuid4().hex, subject="Wohngeld WG-2026/0815", body=BODY,
                         department=department, status=status, category="wohngeld" if department else None,
                         sender_address="erika@example.org", sender_name="Erika Mustermann", extraction=document)
        s.add(m)
        s.flush()
        return m.id


def row(rt: Runtime, message_id: int) -> InboxMessage:
    with rt.db.session() as s:
        m = s.get(InboxMessage, message_id)
        assert m is not None
        s.expunge(m)
        return m


def sozial(issuer: Issuer, roles: list[str] | None = None, department: str = "sozialamt") -> dict[str, str]:
    return bearer(issuer, "sb-" + department, roles if roles is not None else ["inbox-triage"], department=department)


def audit_rows(rt: Runtime, message_id: int) -> list[Any]:
    with rt.db.engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT action, actor, details FROM audit_log WHERE action LIKE 'inbox.takeover%' "
            "AND (details->>'message_id')::bigint = :m ORDER BY seq"), {"m": message_id}))


def run_worker_until(rt: Runtime, message_id: int, statuses: tuple[str, ...]) -> InboxMessage:
    from rathaus.core.jobs import EmbeddedWorker

    with EmbeddedWorker(rt, periodic=False):
        wait_for(lambda: row(rt, message_id).export_status in statuses, timeout=60,
                 what=f"export of message {message_id} {'/'.join(statuses)}")
    return row(rt, message_id)


# --- tests -----------------------------------------------------------------------------------------------------

def test_delivered_once_signed_with_the_reviewed_fields_and_audited(site: tuple[Runtime, TestClient],
                                                                    issuer: Issuer, receiver: Receiver,
                                                                    target: ExportTarget) -> None:
    rt, client = site
    mid = new_message(rt)
    asked = client.post(f"/api/v1/inbox/messages/{mid}/export", headers=sozial(issuer),
                        json={"corrections": {"deadline": ["2026-04-30"]}})
    assert asked.status_code == 202, asked.text
    state = asked.json()
    assert state["status"] == "queued" and state["target"] == receiver.url and state["requested_by"] == "sb-sozialamt"
    done = run_worker_until(rt, mid, ("delivered", "failed"))
    assert (done.export_status, done.export_attempts, done.export_error) == ("delivered", 1, None)
    assert done.exported_at is not None
    assert len(receiver.requests) == 1 and len(receiver.delivered()) == 1
    got = receiver.requests[0]
    assert got["valid"] and got["id"] == state["delivery_id"] and got["path"] == "/fachverfahren/eingang"
    assert got["content_type"] == "application/json"
    payload = got["json"]
    assert payload["type"] == "inbox.takeover" and payload["data"]["message_id"] == mid
    assert payload["data"]["department"] == "sozialamt" and payload["data"]["approved_by"] == "sb-sozialamt"
    extraction = payload["data"]["extraction"]
    validate_extraction(extraction)  # the published schema
    fields = extraction["fields"]
    assert [f["value"] for f in fields["iban"]] == ["DE89370400440532013000"]
    assert "WG-2026/0815" in [f["value"] for f in fields["case_number"]]
    # the case worker's correction replaced the deadline that was read; kept like other corrections
    assert [(f["value"], f["source"], f["confidence"]) for f in fields["deadline"]] == [
        ("2026-04-30", "correction", 1.0)]
    with rt.db.session() as s:
        corrections = s.scalars(sa.select(InboxCorrection).where(InboxCorrection.message_id == mid)).all()
        assert [(c.field, json.loads(c.new), c.by) for c in corrections] == [
            ("takeover:deadline", ["2026-04-30"], "sb-sozialamt")]
        assert json.loads(corrections[0].old) == ["2026-03-31"]
    assert row(rt, mid).extraction["fields"]["deadline"][0]["value"] == "2026-04-30"
    # who exported what to where – field names, no values
    audits = audit_rows(rt, mid)
    assert [a.action for a in audits] == ["inbox.takeover_requested", "inbox.takeover_delivered"]
    assert {a.actor for a in audits} == {"sb-sozialamt"}
    details = audits[1].details
    assert details["target"] == receiver.url and details["delivery_id"] == state["delivery_id"]
    assert {"iban", "case_number", "deadline"} <= set(details["fields"])
    assert audits[0].details["corrected"] == ["deadline"]
    text = json.dumps([a.details for a in audits])
    assert "DE89" not in text and "WG-2026" not in text and "2026-04-30" not in text and "Mustermann" not in text
    # the message view shows it
    view = client.get(f"/api/v1/inbox/messages/{mid}", headers=sozial(issuer)).json()["export"]
    assert view["status"] == "delivered" and view["attempts"] == 1 and view["exported_at"]


def test_a_503_is_retried_with_the_same_delivery_id(site: tuple[Runtime, TestClient], issuer: Issuer,
                                                    receiver: Receiver, target: ExportTarget) -> None:
    rt, client = site
    mid = new_message(rt)
    receiver.answers = [503, 503]
    asked = client.post(f"/api/v1/inbox/messages/{mid}/export", headers=sozial(issuer))
    assert asked.status_code == 202, asked.text
    done = run_worker_until(rt, mid, ("delivered", "failed"))
    assert (done.export_status, done.export_attempts, done.export_error) == ("delivered", 3, None)
    assert [r["status"] for r in receiver.requests] == [503, 503, 200]
    assert {r["id"] for r in receiver.requests} == {asked.json()["delivery_id"]}  # one id: the receiver de-duplicates
    assert all(r["valid"] for r in receiver.requests)  # each attempt signed afresh
    assert len({json.dumps(r["json"], sort_keys=True) for r in receiver.requests}) == 1  # the same body each time
    assert len(receiver.delivered()) == 1


def test_retries_stop_after_the_last_attempt(site: tuple[Runtime, TestClient], issuer: Issuer, receiver: Receiver,
                                             target: ExportTarget) -> None:
    rt, client = site
    mid = new_message(rt)
    receiver.answers = [502] * 10
    assert client.post(f"/api/v1/inbox/messages/{mid}/export", headers=sozial(issuer)).status_code == 202
    done = run_worker_until(rt, mid, ("delivered", "failed"))
    assert done.export_status == "failed" and done.export_attempts == 4  # jobs_retries=3: four attempts
    assert done.export_error is not None and "gave up after 4 attempts" in done.export_error
    assert "HTTP 502" in done.export_error
    assert len(receiver.requests) == 4 and len({r["id"] for r in receiver.requests}) == 1


def test_a_4xx_stops_with_the_error_stored_and_shown(site: tuple[Runtime, TestClient], issuer: Issuer,
                                                     receiver: Receiver, target: ExportTarget) -> None:
    rt, client = site
    mid = new_message(rt)
    receiver.answers = [422]
    assert client.post(f"/api/v1/inbox/messages/{mid}/export", headers=sozial(issuer)).status_code == 202
    done = run_worker_until(rt, mid, ("delivered", "failed"))
    assert (done.export_status, done.export_attempts) == ("failed", 1)
    assert done.export_error == f'HTTP 422 from {receiver.url}: {{"error": "Aktenzeichen unbekannt"}}'
    assert len(receiver.requests) == 1
    view = client.get(f"/api/v1/inbox/messages/{mid}", headers=sozial(issuer)).json()["export"]
    assert view["status"] == "failed" and "Aktenzeichen unbekannt" in view["error"]
    failed = audit_rows(rt, mid)[-1]
    assert failed.action == "inbox.takeover_failed" and failed.details["status"] == 422
    assert "error" not in failed.details  # the receiver's answer may quote the data: not in the audit
    # after fixing it on their side, a person exports again: a new delivery id, delivered
    again = client.post(f"/api/v1/inbox/messages/{mid}/export", headers=sozial(issuer))
    assert again.status_code == 202 and again.json()["delivery_id"] != receiver.requests[0]["id"]
    assert run_worker_until(rt, mid, ("delivered", "failed")).export_status == "delivered"


def test_refusals_are_clear_problems_and_send_nothing(site: tuple[Runtime, TestClient], issuer: Issuer,
                                                      receiver: Receiver, target: ExportTarget,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    rt, client = site
    mid = new_message(rt)
    url = f"/api/v1/inbox/messages/{mid}/export"

    def problem(headers: dict[str, str], body: Any = None) -> tuple[int, str]:
        answer = client.post(url, headers=headers, json=body)
        assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
        return answer.status_code, answer.json()["detail"]

    # no permission: staff of the department without the role
    assert problem(sozial(issuer, roles=[])) == (403, "this needs one of the roles: inbox-triage, admin")
    # another department: not even confirmed to exist (with the role), refused (without it)
    assert problem(sozial(issuer, department="verkehr"))[0] == 404
    assert problem(sozial(issuer, roles=[], department="verkehr"))[0] == 403
    # a correction that does not fit the schema, an unknown field
    status, detail = problem(sozial(issuer), {"corrections": {"deadline": ["31.04.2026"]}})
    assert status == 422 and "fields/deadline/0/value" in detail
    status, detail = problem(sozial(issuer), {"corrections": {"kontonummer": ["1"]}})
    assert status == 422 and "unknown field 'kontonummer'" in detail
    assert problem(sozial(issuer), {"corrections": {"iban": "DE89"}})[0] == 422  # not a list
    # the target is not cleared for personal data
    rt.settings.section(InboxSettings).inbox_export_targets = {
        "sozialamt": target.model_copy(update={"data_classes": [DataClass.INTERN]})}
    status, detail = problem(sozial(issuer))
    assert status == 409 and "may not receive: personenbezogen (" in detail and "iban" in detail
    assert "declared: intern" in detail
    # declared nothing (the default): nothing may go
    rt.settings.section(InboxSettings).inbox_export_targets = {
        "sozialamt": ExportTarget(url=receiver.url, secret_env=SECRET_ENV)}
    status, detail = problem(sozial(issuer))
    assert status == 409 and "declared: keine / none" in detail
    # no target for the department
    rt.settings.section(InboxSettings).inbox_export_targets = {}
    status, detail = problem(sozial(issuer))
    assert status == 409 and "no specialist procedure configured for department 'sozialamt'" in detail
    # the secret is missing
    rt.settings.section(InboxSettings).inbox_export_targets = {"sozialamt": target}
    monkeypatch.delenv(SECRET_ENV)
    status, detail = problem(sozial(issuer))
    assert status == 409 and SECRET_ENV in detail
    # a message in the triage queue: route it first
    triage = new_message(rt, department=None, status="triage")
    answer = client.post(f"/api/v1/inbox/messages/{triage}/export", headers=sozial(issuer))
    assert answer.status_code == 409 and "route it first" in answer.json()["detail"]
    # nothing was queued, stored or sent
    assert row(rt, mid).export_status is None and row(rt, mid).extraction["fields"]["deadline"][0]["value"] == \
        "2026-03-31"
    assert receiver.requests == [] and audit_rows(rt, mid) == []
    with rt.db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'inbox.export' "
                                   "AND args->>'message_id' = :m"), {"m": str(mid)}) == 0


def test_a_second_request_while_one_is_under_way_is_refused(site: tuple[Runtime, TestClient], issuer: Issuer,
                                                            receiver: Receiver, target: ExportTarget) -> None:
    rt, client = site
    mid = new_message(rt)
    first = client.post(f"/api/v1/inbox/messages/{mid}/export", headers=sozial(issuer))
    assert first.status_code == 202
    second = client.post(f"/api/v1/inbox/messages/{mid}/export", headers=sozial(issuer))
    assert second.status_code == 409 and "already under way" in second.json()["detail"]
    # a job of an earlier request that was superseded sends nothing
    stale = takeover.deliver(rt, mid, "msg_not-the-current-one")
    assert stale["skipped"] and receiver.requests == []
    assert run_worker_until(rt, mid, ("delivered", "failed")).export_status == "delivered"
    assert len(receiver.requests) == 1


def test_a_loopback_target_needs_the_outbound_allow_list(site: tuple[Runtime, TestClient], issuer: Issuer,
                                                         receiver: Receiver, target: ExportTarget) -> None:
    rt, client = site
    mid = new_message(rt)
    assert client.post(f"/api/v1/inbox/messages/{mid}/export", headers=sozial(issuer)).status_code == 202
    delivery = row(rt, mid).export_delivery_id
    assert delivery is not None
    allowed = rt.settings.outbound_allow
    rt.settings.outbound_allow = []
    try:
        state = takeover.deliver(rt, mid, delivery)  # the job's function, here: a refusal is not retried
    finally:
        rt.settings.outbound_allow = allowed
    assert state["status"] == "failed" and "is not allowed" in state["error"] and "RATHAUS_OUTBOUND_ALLOW" in \
        state["error"]
    assert receiver.requests == []
