"""Application checks end to end on the real database, the real reading (Tesseract) and the real rules: a packet
uploaded over the API (problem+json for every kind of bad input, nothing stored then), checked by the job
``checks.run`` (idempotent), visible to its department only, confirmed once by a case worker, the applicant
letter (German, English; other languages only through a model cleared for personal data), evidence crops as PNG,
audit records for every step, deletion and retention."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import Image

from conftest import MODEL_CACHE, pdf_bytes
from oidc import Issuer, bearer
from rathaus.app import create_app
from rathaus.checks import jobs, service
from rathaus.checks.samples import SamplePacket, sample_packets
from rathaus.checks.schema import CheckFile, CheckPacket
from rathaus.core.errors import PROBLEM_BASE
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime

API = "/api/v1/checks"
WOHNGELD = "wohngeld-erstantrag"
PARKING = "bewohnerparkausweis"
RESIDENCE = "aufenthaltserlaubnis-beschaeftigung"


@pytest.fixture(scope="module")
def checks(tmp_path_factory: pytest.TempPathFactory, pg_data_dir: Path, models_file: Path,
           issuer: Issuer) -> Iterator[tuple[Runtime, TestClient]]:
    """The app in oidc mode; the chat model is NOT cleared for personal data here (letters in other languages
    than German and English must then stay German)."""
    restricted = tmp_path_factory.mktemp("checks-models") / "models.yaml"
    restricted.write_text(models_file.read_text().replace(
        "data_classes: [oeffentlich, intern, vertraulich, personenbezogen]\n    hosting: on-premises\n    "
        "location: test machine\n  - name: local-embed",
        "data_classes: [oeffentlich, intern, vertraulich]\n    hosting: on-premises\n    "
        "location: test machine\n  - name: local-embed", 1))
    assert restricted.read_text() != models_file.read_text()
    settings = Settings(_env_file=None, data_dir=pg_data_dir, cache_dir=MODEL_CACHE,  # type: ignore[call-arg]
                        models_file=restricted, database_name="checks_" + uuid.uuid4().hex[:8], llm_threads=2,
                        checks_max_files=12, checks_max_file_mb=2, **issuer.settings())
    rt = Runtime(settings)
    with TestClient(create_app(rt)) as client:
        yield rt, client
    rt.close()


def department(rt: Runtime, type_id: str) -> str:
    return service.types(rt)[type_id].department


def reviewer(issuer: Issuer, rt: Runtime, type_id: str, sub: str = "sb-1") -> dict[str, str]:
    return bearer(issuer, sub, ["checks-review"], department=department(rt, type_id))


def sample(type_id: str) -> SamplePacket:
    found = [s for s in sample_packets() if s.type_id == type_id]
    assert found, f"no shipped sample packet of type {type_id}"
    return found[0]


def received(packet: SamplePacket) -> dt.date:
    """The sample's date of receipt, or today when the generator dated it later (a future date is refused)."""
    return min(packet.submitted_on, dt.date.today())


def upload(client: TestClient, headers: dict[str, str], packet: SamplePacket, **data: str) -> Any:
    files = [("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in packet.files]
    form = {"type_id": packet.type_id, "submitted_on": received(packet).isoformat(), **data}
    if packet.form:
        form["form"] = json.dumps(packet.form)
    return client.post(f"{API}/packets", files=files, data=form, headers=headers)


def audit_actions(rt: Runtime, packet_id: int) -> list[str]:
    with rt.db.engine.connect() as conn:
        return list(conn.scalars(sa.text("SELECT action FROM audit_log WHERE use_case = 'checks' AND "
                                         "(details->>'packet_id')::bigint = :p ORDER BY seq"), {"p": packet_id}))


def problem(response: Any, status: int, code: str, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == PROBLEM_BASE + code, body
    assert fragment in body["detail"], body["detail"]


def count_packets(rt: Runtime) -> int:
    with rt.db.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(CheckPacket)) or 0


def test_types_list_and_definition_with_sources(checks: tuple[Runtime, TestClient], issuer: Issuer) -> None:
    rt, client = checks
    headers = reviewer(issuer, rt, WOHNGELD)
    listed = client.get(f"{API}/types", headers=headers)
    assert listed.status_code == 200
    by_id = {t["id"]: t for t in listed.json()}
    assert {WOHNGELD, PARKING, RESIDENCE} <= set(by_id)
    assert by_id[RESIDENCE]["annex_iii"] is True and by_id[PARKING]["annex_iii"] is False
    one = client.get(f"{API}/types/{RESIDENCE}", headers=headers).json()
    assert one["sources"] and all(s["url"].startswith("http") for s in one["sources"])
    assert any(f["id"] == "nachname" for f in one["fields"])
    problem(client.get(f"{API}/types/hundesteuer", headers=headers), 400, "checks-unknown-type", "hundesteuer")


def test_bad_uploads_are_refused_with_a_specific_problem_and_store_nothing(
        checks: tuple[Runtime, TestClient], issuer: Issuer) -> None:
    rt, client = checks
    headers = reviewer(issuer, rt, PARKING)
    pdf = pdf_bytes("Antrag Bewohnerparkausweis")
    before = count_packets(rt)
    post = lambda files, **data: client.post(f"{API}/packets", files=files,  # noqa: E731
                                             data={"type_id": PARKING, **data}, headers=headers)
    problem(client.post(f"{API}/packets", data={"type_id": PARKING}, headers=headers), 400, "checks-no-files",
            "Keine Dateien")
    problem(post([("files", ("leer.pdf", b"", "application/pdf"))]), 400, "checks-empty-file", "leer.pdf")
    problem(post([("files", (f"{i}.pdf", pdf, "application/pdf")) for i in range(13)]), 400,
            "checks-too-many-files", "höchstens 12")
    big = b"%PDF-1.4\n" + b"0" * 2_100_000
    problem(post([("files", ("gross.pdf", big, "application/pdf"))]), 413, "checks-file-too-large", "gross.pdf")
    problem(post([("files", ("brief.docx", b"PK\x03\x04 word", "application/pdf"))]), 415,
            "checks-unsupported-file", "brief.docx")
    problem(client.post(f"{API}/packets", files=[("files", ("a.pdf", pdf, "application/pdf"))],
                        data={"type_id": "hundesteuer"}, headers=headers), 400, "checks-unknown-type", "hundesteuer")
    problem(client.post(f"{API}/packets", files=[("files", ("a.pdf", pdf, "application/pdf"))], headers=headers),
            400, "checks-type-required", "type_id")
    problem(post([("files", ("a.pdf", pdf, "application/pdf"))], form="{kein json"), 400, "checks-bad-form-data",
            "weder JSON noch XML")
    problem(post([("files", ("a.pdf", pdf, "application/pdf"))], form="<antrag><a>1</b></antrag>"), 400,
            "checks-bad-form-data", "XML")
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    problem(post([("files", ("a.pdf", pdf, "application/pdf"))], submitted_on=future), 400, "bad-request",
            "nicht plausibel")
    assert count_packets(rt) == before  # nothing stored by any of them


def test_an_empty_or_unreadable_file_is_reported_per_file_and_the_rest_is_checked(
        checks: tuple[Runtime, TestClient], issuer: Issuer) -> None:
    rt, client = checks
    headers = reviewer(issuer, rt, PARKING)
    pdf = pdf_bytes("Antrag Bewohnerparkausweis")
    files = [("files", ("a.pdf", pdf, "application/pdf")), ("files", ("leer.pdf", b"", "application/pdf")),
             ("files", ("brief.docx", b"PK\x03\x04 word", "application/octet-stream"))]
    made = client.post(f"{API}/packets", files=files, data={"type_id": PARKING}, headers=headers)
    assert made.status_code == 202, made.text
    packet_id = made.json()["id"]
    rt.jobs.run_here("checks.run", rt, packet_id=packet_id)
    shown = client.get(f"{API}/packets/{packet_id}", headers=headers).json()
    problems = {p["file"]: p["message"] for p in shown["problems"]}
    assert set(problems) == {"leer.pdf", "brief.docx"}, problems
    assert "leer" in problems["leer.pdf"].lower() and shown["items"]  # a.pdf was still checked
    assert [f["filename"] for f in shown["files"]] == ["a.pdf", "leer.pdf", "brief.docx"]  # all three kept


def test_a_form_naming_its_type_is_enough_and_xml_entities_are_not_expanded(
        checks: tuple[Runtime, TestClient], issuer: Issuer) -> None:
    rt, client = checks
    headers = reviewer(issuer, rt, PARKING)
    pdf = pdf_bytes("Fahrzeugschein")
    xml = ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           f'<antrag type_id="{PARKING}"><fields><nachname>Beispiel&x;</nachname><plz>80331</plz></fields></antrag>')
    made = client.post(f"{API}/packets", files=[("files", ("schein.pdf", pdf, "application/pdf"))],
                       data={"form": xml}, headers=headers)
    assert made.status_code == 202, made.text
    body = made.json()
    assert body["type_id"] == PARKING and body["status"] == "received"
    assert made.headers["location"] == f"{API}/packets/{body['id']}"
    with rt.db.session() as s:
        packet = s.get_one(CheckPacket, body["id"])
        assert packet.form["fields"]["plz"] == "80331" and "root:" not in packet.form["fields"]["nachname"]
        assert packet.form["declared_type"] == PARKING and packet.department == department(rt, PARKING)
        assert [f.content_type for f in s.scalars(sa.select(CheckFile).where(CheckFile.packet_id == packet.id))] \
            == ["application/pdf"]
    with rt.db.engine.connect() as conn:  # the job was queued in the same transaction
        queued = conn.scalar(sa.text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'checks.run' AND "
                                     "(args->>'packet_id')::bigint = :p"), {"p": body["id"]})
    assert queued == 1
    assert audit_actions(rt, body["id"]) == ["checks.received"]
    problem(client.post(f"{API}/packets/{body['id']}/confirm", json={"note": "ok"}, headers=headers), 409,
            "checks-not-checked", "noch nicht geprüft")
    problem(client.get(f"{API}/packets/{body['id']}/letter", headers=headers), 409, "checks-not-checked",
            "noch nicht geprüft")


def test_uploads_need_the_role_and_the_types_department(checks: tuple[Runtime, TestClient], issuer: Issuer) -> None:
    rt, client = checks
    pdf = pdf_bytes("Antrag")
    files = [("files", ("a.pdf", pdf, "application/pdf"))]
    no_role = bearer(issuer, "x1", [], department=department(rt, WOHNGELD))
    problem(client.post(f"{API}/packets", files=files, data={"type_id": WOHNGELD}, headers=no_role), 403,
            "forbidden", "checks-review")
    other = bearer(issuer, "x2", ["checks-review"], department="Baureferat")
    problem(client.post(f"{API}/packets", files=files, data={"type_id": WOHNGELD}, headers=other), 403,
            "forbidden", department(rt, WOHNGELD))
    intake = bearer(issuer, "formserver", ["checks-intake"], department="it")
    assert client.post(f"{API}/packets", files=files, data={"type_id": WOHNGELD}, headers=intake).status_code == 202


@pytest.mark.parametrize("type_id", [WOHNGELD, PARKING, RESIDENCE])
def test_a_sample_packet_is_checked_confirmed_and_written_to(checks: tuple[Runtime, TestClient], issuer: Issuer,
                                                             type_id: str) -> None:
    rt, client = checks
    headers = reviewer(issuer, rt, type_id)
    packet = sample(type_id)
    made = upload(client, headers, packet)
    assert made.status_code == 202, made.text
    packet_id = made.json()["id"]
    done = rt.jobs.run_here("checks.run", rt, packet_id=packet_id)
    assert done["packet_id"] == packet_id
    view = client.get(f"{API}/packets/{packet_id}", headers=headers).json()
    assert view["status"] == "checked" and view["annex_iii"] is (type_id != PARKING)
    statuses = [i["status"] for i in view["items"]]
    assert statuses and set(statuses) <= {"satisfied", "missing", "invalid", "unsure"}
    assert sum(view["counts"].values()) == len(statuses)
    if packet.defects:  # the generator's known defects must show as something not satisfied
        assert view["complete"] is False and {"missing", "invalid", "unsure"} & set(statuses), statuses
    numbers = [e["n"] for i in view["items"] for e in i["evidence"]]
    assert numbers == list(range(1, len(numbers) + 1))
    # idempotent: checking again gives the same checklist
    again = service.run_check(rt, packet_id)
    assert again["counts"] == view["counts"]
    assert [i["status"] for i in client.get(f"{API}/packets/{packet_id}", headers=headers).json()["items"]] == \
        statuses
    # the evidence crop of the first evidence on a page of a file
    on_page = next((e for i in view["items"] for e in i["evidence"]
                    if e.get("page") and not e["file"].endswith((".json", ".xml"))), None)
    if on_page is not None:
        png = client.get(f"{API}/packets/{packet_id}/evidence/{on_page['n']}.png", headers=headers)
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(png.content))
        assert image.width > 10 and image.height > 10
    problem(client.get(f"{API}/packets/{packet_id}/evidence/999.png", headers=headers), 404, "not-found",
            "Beleg 999")
    german = client.get(f"{API}/packets/{packet_id}/letter?lang=de", headers=headers).json()
    assert german["language"] == "de" and len(german["text"]) > 100 and german["note"] is None
    assert german["readability_de"]["level"] in ("A2", "B1") and german["readability_de"]["wstf"] <= 7  # plain
    english = client.get(f"{API}/packets/{packet_id}/letter?lang=en", headers=headers).json()
    assert english["language"] == "en" and english["german"] == german["text"]
    turkish = client.get(f"{API}/packets/{packet_id}/letter?lang=tr", headers=headers).json()
    assert turkish["language"] == "de" and turkish["text"] == german["text"]
    assert "nur auf Deutsch" in turkish["note"]
    confirmed = client.post(f"{API}/packets/{packet_id}/confirm", json={"note": "Nachweise angefordert."},
                            headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed" and confirmed.json()["confirmed_by"] == "sb-1"
    problem(client.post(f"{API}/packets/{packet_id}/confirm", json={"note": "noch mal"}, headers=headers), 409,
            "checks-already-confirmed", "sb-1")
    assert service.run_check(rt, packet_id) == {"packet_id": packet_id, "skipped": "confirmed"}
    export = client.get(f"{API}/packets/{packet_id}/export", headers=headers).json()
    assert export["result"]["items"] and export["confirmation_note"] == "Nachweise angefordert."
    actions = audit_actions(rt, packet_id)
    assert actions.count("checks.run") == 2 and actions.count("checks.letter") == 3
    assert {"checks.received", "checks.read", "checks.confirm", "checks.export"} <= set(actions)


def test_packets_are_visible_to_their_department_only(checks: tuple[Runtime, TestClient], issuer: Issuer) -> None:
    rt, client = checks
    own = reviewer(issuer, rt, WOHNGELD, sub="sb-own")
    made = client.post(f"{API}/packets", files=[("files", ("a.pdf", pdf_bytes("Mietvertrag"), "application/pdf"))],
                       data={"type_id": WOHNGELD}, headers=own)
    packet_id = made.json()["id"]
    others = [bearer(issuer, "o1", ["checks-review"], department="Baureferat"),
              bearer(issuer, "o2", ["auditor"], department=department(rt, WOHNGELD)),
              bearer(issuer, "o3", [], department=department(rt, WOHNGELD))]
    for who in others:
        for method, path in (("GET", ""), ("GET", "/letter"), ("GET", "/export"), ("GET", "/evidence/1.png"),
                             ("DELETE", "")):
            problem(client.request(method, f"{API}/packets/{packet_id}{path}", headers=who), 404, "not-found",
                    f"{packet_id}")
        problem(client.post(f"{API}/packets/{packet_id}/confirm", json={"note": "x"}, headers=who), 404,
                "not-found", f"{packet_id}")
        assert packet_id not in [p["id"] for p in client.get(f"{API}/packets", headers=who).json()["items"]]
    assert packet_id in [p["id"] for p in client.get(f"{API}/packets", headers=own).json()["items"]]
    admin = bearer(issuer, "a1", ["admin"], department="verwaltung")
    assert client.get(f"{API}/packets/{packet_id}", headers=admin).status_code == 200
    problem(client.get(f"{API}/packets?status=fertig", headers=own), 400, "bad-request", "fertig")
    deleted = client.delete(f"{API}/packets/{packet_id}", headers=own)
    assert deleted.status_code == 200 and deleted.json() == {"deleted": packet_id}
    with rt.db.session() as s:
        assert s.get(CheckPacket, packet_id) is None
        assert s.scalar(sa.select(sa.func.count()).select_from(CheckFile).where(CheckFile.packet_id == packet_id)) == 0
    assert audit_actions(rt, packet_id)[-1] == "checks.delete"
    assert service.run_check(rt, packet_id) == {"packet_id": packet_id, "skipped": "deleted"}


def test_retention_deletes_old_packets_only(checks: tuple[Runtime, TestClient], issuer: Issuer) -> None:
    rt, client = checks
    headers = reviewer(issuer, rt, PARKING)
    ids = [client.post(f"{API}/packets", files=[("files", ("a.pdf", pdf_bytes(f"Antrag {i}"), "application/pdf"))],
                       data={"type_id": PARKING}, headers=headers).json()["id"] for i in range(2)]
    with rt.db.session() as s:
        s.get_one(CheckPacket, ids[0]).created_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=181)
    assert jobs.purge(rt) >= 1
    with rt.db.session() as s:
        assert s.get(CheckPacket, ids[0]) is None and s.get(CheckPacket, ids[1]) is not None


def test_the_page_shows_the_upload_form_the_list_and_a_waiting_packet(checks: tuple[Runtime, TestClient],
                                                                     issuer: Issuer) -> None:
    rt, client = checks
    headers = reviewer(issuer, rt, PARKING, sub="sb-page")
    made = client.post(f"{API}/packets", files=[("files", ("a.pdf", pdf_bytes("Antrag"), "application/pdf"))],
                       data={"type_id": PARKING}, headers=headers).json()
    page = client.get(f"/pruefung?packet={made['id']}", headers=headers)
    assert page.status_code == 200
    assert 'id="upload-form"' in page.text and f'value="{PARKING}"' in page.text
    assert f'data-id="{made["id"]}"' in page.text and 'id="waiting"' in page.text
    assert f'value="{WOHNGELD}"' not in page.text  # another department's type is not offered
    english = client.get(f"/pruefung?packet={made['id']}&lang=en", headers=headers).text
    assert "Application checks" in english and "being checked" in english
    missing = client.get("/pruefung?packet=999999&lang=de", headers=headers)
    assert missing.status_code == 404 and "Antrag 999999 nicht gefunden" in missing.text
    no_role = bearer(issuer, "p2", [], department=department(rt, PARKING))
    refused = client.get("/pruefung", headers=no_role)
    assert refused.status_code == 403 and "checks-review" in refused.text and 'id="upload-form"' not in refused.text
    assert 'href="/pruefung"' not in client.get("/", headers=no_role).text
    assert 'href="/pruefung"' in client.get("/", headers=headers).text


def test_rathaus_up_loads_one_checked_synthetic_packet_per_type_once(checks: tuple[Runtime, TestClient],
                                                                      issuer: Issuer) -> None:
    from rathaus.checks.samples import ensure_samples
    from rathaus.core.auth import Principal

    rt, client = checks
    admin = Principal(id="cli", kind="local", department="verwaltung", roles=frozenset({"admin"}))
    first = ensure_samples(rt, admin)
    assert sorted(first["added"]) == sorted(s.name for s in sample_packets())
    assert ensure_samples(rt, admin) == {"added": []}  # idempotent
    listed = client.get(f"{API}/packets?limit=200", headers=bearer(issuer, "a2", ["admin"], department="x")).json()
    samples = [p for p in listed["items"] if p["synthetic"]]
    assert sorted(p["type_id"] for p in samples) == sorted([WOHNGELD, PARKING, RESIDENCE])
    assert {p["status"] for p in samples} == {"checked"}
    wohngeld = next(p for p in samples if p["type_id"] == WOHNGELD)
    assert wohngeld["complete"] is False  # the generator left it unsigned
    page = client.get(f"/pruefung?packet={wohngeld['id']}&lang=de", headers=reviewer(issuer, rt, WOHNGELD)).text
    assert "Beispiel (synthetische Daten)" in page and "Anhang III" in page
