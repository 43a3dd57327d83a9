"""The use-case portfolio over the API against the real embedded PostgreSQL, OIDC tokens and a real SMTP server
(aiosmtpd on loopback): department scoping, the assessors' rights, the score, status transitions, the written
assessment received by mail only after the assessor's action, and bad input that stores nothing."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inbox"))  # the inbox tests' real mail servers
from mailservers import SmtpServer, smtp_server

from oidc import Issuer, bearer
from rathaus.app import create_app
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime

__all__ = ["smtp_server"]  # the fixture, imported for pytest

IDEA = {
    "title": "Antragsrouting im Sozialreferat",
    "problem": "Anträge werden von Hand an 40 Stellen verteilt; das dauert Tage.",
    "hours_saved_per_year": 1200,
    "data_needed": "Eingehende Anträge mit ihrer bisherigen Zuordnung",
    "affected_people": "Antragstellende, Poststelle",
    "urgency": "high",
    "contact_name": "Sofia Sozial",
    "contact_email": "sofia@sozial.example",
}
ASSESSMENT = {
    "risk_class": "limited",
    "risk_justification": "Zuordnung mit menschlicher Kontrolle, keine Entscheidung über Leistungen.",
    "benefit": {"points": 4, "justification": "1.200 Stunden im Jahr, kürzere Wartezeit für Antragstellende."},
    "feasibility": {"points": 3, "justification": "Routing-Modell vorhanden, Anbindung an das Fachverfahren fehlt."},
    "climate": {"points": 2, "justification": "Jede Zuordnung ein Modellaufruf; Energie gemessen, gering."},
    "data_availability": {"points": 5, "justification": "Zuordnungen der letzten Jahre liegen vollständig vor."},
    "summary": "Empfohlen für einen Pilot im ersten Quartal; Beteiligung des Personalrats vorab.",
}


@pytest.fixture
def site(make_settings: Callable[..., Settings], issuer: Issuer,
         smtp_server: SmtpServer) -> Iterator[tuple[Runtime, TestClient]]:
    rt = Runtime(make_settings(**issuer.settings(), inbox_smtp_host=smtp_server.host,
                               inbox_smtp_port=smtp_server.port, inbox_smtp_security="none",
                               inbox_smtp_from="it-referat@stadt.example"))
    try:
        with TestClient(create_app(rt)) as client:
            yield rt, client
    finally:
        rt.close()


def sozial(issuer: Issuer) -> dict[str, str]:
    return bearer(issuer, "sofia", [], department="sozialreferat")


def other(issuer: Issuer) -> dict[str, str]:
    return bearer(issuer, "walter", [], department="raw")


def assessor(issuer: Issuer) -> dict[str, str]:
    return bearer(issuer, "ines", ["portfolio-assess"], department="it-referat")


def count(rt: Runtime, table: str) -> int:
    with rt.db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def problem(response: Any, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fragment in response.json()["detail"], response.json()


def submit(client: TestClient, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = client.post("/api/v1/portfolio/ideas", json={**IDEA, **changes}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_bad_input_is_refused_with_a_specific_message_and_stores_nothing(
        site: tuple[Runtime, TestClient], issuer: Issuer) -> None:
    rt, client = site
    url = "/api/v1/portfolio/ideas"
    problem(client.post(url, json={**IDEA, "hours_saved_per_year": -5}, headers=sozial(issuer)), 422,
            "hours_saved_per_year")
    problem(client.post(url, json={**IDEA, "urgency": "sofort"}, headers=sozial(issuer)), 422, "urgency")
    problem(client.post(url, json={**IDEA, "contact_email": "keine-adresse"}, headers=sozial(issuer)), 422,
            "contact_email")
    problem(client.post(url, json={**IDEA, "department": "raw"}, headers=sozial(issuer)), 422, "department")
    problem(client.post(url, json={k: v for k, v in IDEA.items() if k != "problem"}, headers=sozial(issuer)), 422,
            "problem")
    bad_json = client.post(url, content=b'{"title": ', headers={**sozial(issuer), "Content-Type": "application/json"})
    assert bad_json.status_code == 400
    assert client.post(url, json=IDEA).status_code == 401
    assert count(rt, "portfolio_ideas") == 0 and count(rt, "portfolio_status_changes") == 0


def test_department_scoping_and_the_assessors_rights(site: tuple[Runtime, TestClient], issuer: Issuer) -> None:
    rt, client = site
    idea = submit(client, sozial(issuer))
    assert idea["department"] == "sozialreferat" and idea["status"] == "idea" and idea["submitted_by"] == "sofia"
    # another department sees the idea in the prioritised list, but not its details, and not in its own list
    listing = client.get("/api/v1/portfolio/ideas", headers=other(issuer)).json()
    assert [i["title"] for i in listing["items"]] == [IDEA["title"]]
    assert "problem" not in listing["items"][0] and "contact_email" not in listing["items"][0]
    summary = client.get(f"/api/v1/portfolio/ideas/{idea['id']}", headers=other(issuer)).json()
    assert "problem" not in summary and "contact_email" not in summary
    assert client.get("/api/v1/portfolio/ideas?mine=true", headers=other(issuer)).json()["items"] == []
    own = client.get("/api/v1/portfolio/ideas?mine=true", headers=sozial(issuer)).json()["items"]
    assert [i["problem"] for i in own] == [IDEA["problem"]]
    # neither the submitter nor another department may assess, change the status or set weights
    for headers in (sozial(issuer), other(issuer)):
        problem(client.post(f"/api/v1/portfolio/ideas/{idea['id']}/assessments", json=ASSESSMENT, headers=headers),
                403, "portfolio-assess")
        problem(client.post(f"/api/v1/portfolio/ideas/{idea['id']}/status", json={"status": "pilot"},
                            headers=headers), 403, "portfolio-assess")
        problem(client.put("/api/v1/portfolio/weights", json=dict.fromkeys(
            ("benefit", "feasibility", "risk", "climate", "data_availability"), 1), headers=headers), 403,
            "portfolio-assess")
        problem(client.post(f"/api/v1/portfolio/ideas/{idea['id']}/assessment/send", headers=headers), 403,
                "portfolio-assess")
    assert count(rt, "portfolio_assessments") == 0 and count(rt, "portfolio_weights") == 0
    assert client.get(f"/api/v1/portfolio/ideas/{idea['id']}", headers=sozial(issuer)).json()["status"] == "idea"
    problem(client.get("/api/v1/portfolio/ideas/999999", headers=sozial(issuer)), 404, "999999")


def test_assessment_score_weights_and_the_mail_sent_only_on_the_assessors_action(
        site: tuple[Runtime, TestClient], issuer: Issuer, smtp_server: SmtpServer) -> None:
    rt, client = site
    idea = submit(client, sozial(issuer))
    base = f"/api/v1/portfolio/ideas/{idea['id']}"
    bad = {**ASSESSMENT, "benefit": {"points": 6, "justification": "zu viel des Guten, sechs Punkte"}}
    problem(client.post(base + "/assessments", json=bad, headers=assessor(issuer)), 422, "benefit.points")
    short = {**ASSESSMENT, "climate": {"points": 3, "justification": "ok"}}
    problem(client.post(base + "/assessments", json=short, headers=assessor(issuer)), 422, "justification")
    assert count(rt, "portfolio_assessments") == 0

    assessed = client.post(base + "/assessments", json=ASSESSMENT, headers=assessor(issuer))
    assert assessed.status_code == 201, assessed.text
    body = assessed.json()
    assert body["status"] == "assessed" and body["score"] == 70.0  # docs/governance-portfolio.md, worked example
    assert smtp_server.messages == []  # nothing is sent without the assessor's explicit action

    # anyone on staff can recompute the score from the list
    listing = client.get("/api/v1/portfolio/ideas", headers=other(issuer)).json()
    item = listing["items"][0]
    w, p = item["weights"], item["points"]
    assert p == {"benefit": 4, "feasibility": 3, "climate": 2, "data_availability": 5, "risk": 4}
    assert round(100 * sum(w[c] * (p[c] - 1) / 4 for c in w) / sum(w.values()), 1) == item["score"] == 70.0
    assert item["rank"] == 1

    # the submitter reads the written assessment in the department's list
    own = client.get("/api/v1/portfolio/ideas?mine=true", headers=sozial(issuer)).json()["items"][0]
    assert ASSESSMENT["summary"] in own["assessment_text"]
    assert ASSESSMENT["feasibility"]["justification"] in own["assessment_text"]
    assert own["assessment"]["sent_at"] is None

    sent = client.post(base + "/assessment/send", headers=assessor(issuer))
    assert sent.status_code == 200, sent.text
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["To"] == IDEA["contact_email"] and f"#{idea['id']}" in mail["Subject"]
    text = mail.get_content()
    assert ASSESSMENT["summary"] in text and ASSESSMENT["benefit"]["justification"] in text and "70.0" in text
    own = client.get("/api/v1/portfolio/ideas?mine=true", headers=sozial(issuer)).json()["items"][0]
    assert own["assessment"]["sent_to"] == IDEA["contact_email"] and own["assessment"]["sent_at"]

    # new weights change the score; the history keeps every setting
    zero = dict.fromkeys(("benefit", "feasibility", "risk", "climate", "data_availability"), 0)
    problem(client.put("/api/v1/portfolio/weights", json=zero, headers=assessor(issuer)), 422, "above zero")
    equal = {**dict.fromkeys(zero, 1), "note": "alle gleich"}
    assert client.put("/api/v1/portfolio/weights", json=equal, headers=assessor(issuer)).status_code == 200
    weights = client.get("/api/v1/portfolio/weights", headers=other(issuer)).json()
    assert weights["set_by"] == "ines" and [h["note"] for h in weights["history"]] == ["alle gleich"]
    item = client.get("/api/v1/portfolio/ideas", headers=other(issuer)).json()["items"][0]
    assert item["score"] == 65.0  # (3 + 2 + 3 + 1 + 4) / 4 / 5 · 100


def test_sending_needs_an_address_a_configured_server_and_reports_a_refusal(
        site: tuple[Runtime, TestClient], issuer: Issuer, smtp_server: SmtpServer) -> None:
    rt, client = site
    no_mail = submit(client, sozial(issuer), contact_email="")
    refused = submit(client, sozial(issuer), contact_email="refused@sozial.example")
    for idea in (no_mail, refused):
        problem(client.post(f"/api/v1/portfolio/ideas/{idea['id']}/assessment/send", headers=assessor(issuer)), 409,
                "no assessment")
        client.post(f"/api/v1/portfolio/ideas/{idea['id']}/assessments", json=ASSESSMENT, headers=assessor(issuer))
    problem(client.post(f"/api/v1/portfolio/ideas/{no_mail['id']}/assessment/send", headers=assessor(issuer)), 409,
            "no contact e-mail")
    problem(client.post(f"/api/v1/portfolio/ideas/{refused['id']}/assessment/send", headers=assessor(issuer)), 502,
            "refused")
    assert smtp_server.messages == []
    with rt.db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM portfolio_assessments WHERE sent_at IS NOT NULL")
                            ).scalar_one() == 0


def test_status_transitions_with_who_and_when_and_the_register_link(
        site: tuple[Runtime, TestClient], issuer: Issuer) -> None:
    rt, client = site
    idea = submit(client, sozial(issuer))
    base = f"/api/v1/portfolio/ideas/{idea['id']}"

    def move(status: str, **extra: Any) -> Any:
        return client.post(base + "/status", json={"status": status, **extra}, headers=assessor(issuer))

    problem(move("pilot"), 409, "cannot go from idea to pilot")
    problem(move("launched"), 400, "unknown status")
    client.post(base + "/assessments", json=ASSESSMENT, headers=assessor(issuer))
    problem(move("production", register_id="assistant:sozial"), 409, "cannot go from assessed to production")
    assert move("pilot").json()["status"] == "pilot"
    problem(move("production"), 400, "register_id")
    problem(move("production", register_id="bad id with spaces"), 422, "register_id")
    done = move("production", register_id="assistant:buergerservice")
    assert done.status_code == 200 and done.json()["register_id"] == "assistant:buergerservice"
    problem(move("pilot"), 409, "cannot go from production to pilot")
    retired = move("retired", note="abgelöst").json()
    assert [(h["from"], h["to"], h["by"]) for h in retired["history"]] == [
        (None, "idea", "sofia"), ("idea", "assessed", "ines"), ("assessed", "pilot", "ines"),
        ("pilot", "production", "ines"), ("production", "retired", "ines")]
    assert all(h["at"] for h in retired["history"])
    with rt.db.engine.connect() as conn:
        logged = conn.execute(sa.text("SELECT actor, action, details->>'to_status' FROM audit_log "
                                      "WHERE use_case = 'governance.portfolio' ORDER BY seq")).all()
    assert [tuple(r) for r in logged] == [
        ("sofia", "portfolio.submit", None), ("ines", "portfolio.assess", None),
        ("ines", "portfolio.status", "pilot"), ("ines", "portfolio.status", "production"),
        ("ines", "portfolio.status", "retired")]
    assert retired["history"][3]["register_id"] == "assistant:buergerservice"
    problem(client.post(base + "/assessments", json=ASSESSMENT, headers=assessor(issuer)), 409, "retired")


def test_a_prohibited_practice_is_never_prioritised(site: tuple[Runtime, TestClient], issuer: Issuer) -> None:
    _rt, client = site
    good = submit(client, sozial(issuer), title="Gute Idee")
    bad = submit(client, other(issuer), title="Soziales Scoring von Bürger*innen")
    unassessed = submit(client, other(issuer), title="Noch offen")
    client.post(f"/api/v1/portfolio/ideas/{good['id']}/assessments", json=ASSESSMENT, headers=assessor(issuer))
    prohibited = {**ASSESSMENT, "risk_class": "prohibited",
                  "risk_justification": "Social Scoring ist nach Art. 5 KI-Verordnung verboten."}
    body = client.post(f"/api/v1/portfolio/ideas/{bad['id']}/assessments", json=prohibited,
                       headers=assessor(issuer)).json()
    assert body["score"] is None and body["prohibited"] and body["points"] is None
    assert "verbotene Praxis" in body["assessment_text"]
    items = client.get("/api/v1/portfolio/ideas", headers=other(issuer)).json()["items"]
    assert [i["id"] for i in items] == [good["id"], unassessed["id"], bad["id"]]
    assert "rank" not in items[2] and items[0]["rank"] == 1
    problem(client.post(f"/api/v1/portfolio/ideas/{bad['id']}/status", json={"status": "pilot"},
                        headers=assessor(issuer)), 409, "prohibited")
