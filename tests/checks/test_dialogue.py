"""The guided application: the state machine over the Wohngeld type (conditions, back, review), deterministic
validation with its German and English messages, resume with the right, a wrong and an expired code, uploads checked
at once, and what finishing makes – a packet, a filled PDF read back with pypdf, JSON valid against the published
JSON Schema and XML valid against the XSD (lxml) – on the embedded PostgreSQL; the API's problem+json answers."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterator

import jsonschema
import pytest
import sqlalchemy as sa
from dialogue_answers import STORED, TODAY, WOHNGELD, pdf
from fastapi.testclient import TestClient
from lxml import etree
from pypdf import PdfReader

from rathaus.app import create_app
from rathaus.checks import answers, dialogue, forms
from rathaus.checks.definitions import load_types
from rathaus.core.ratelimit import RateLimited
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime

TYPE = "wohngeld-erstantrag"


@pytest.fixture(scope="module")
def wohngeld() -> forms.ApplicationType:
    return load_types()[TYPE]


# --- pure logic ---------------------------------------------------------------------------------------------------

def test_steps_follow_sections_and_conditions(wohngeld: forms.ApplicationType) -> None:
    plain = dialogue.steps(wohngeld, {})
    assert plain[0] == "field:vorname" and plain[-1] == "review"
    assert "field:arbeitgeber" not in plain and "upload:aufenthaltstitel" not in plain
    assert [s for s in plain if s.startswith("upload:")] == ["upload:mietvertrag", "upload:einkommen",
                                                              "upload:kontoauszug"]
    employed = dialogue.steps(wohngeld, {"einkommensart": "erwerbstaetigkeit", "drittstaat": "true"})
    assert employed.index("field:arbeitgeber") == employed.index("field:einkommensart") + 1
    assert "upload:aufenthaltstitel" in employed
    # a changed answer hides the employer again, and its answer is dropped
    assert dialogue.prune(wohngeld, {"einkommensart": "rente", "arbeitgeber": "Huber"}) == {"einkommensart": "rente"}
    # sections in order of first appearance: household comes after all applicant fields
    assert plain.index("field:haushaltsmitglieder") > plain.index("field:email")


@pytest.mark.parametrize(("field_id", "typed", "stored"), [
    ("geburtsdatum", "14.3.1985", "1985-03-14"),
    ("geburtsdatum", "1985-03-14", "1985-03-14"),
    ("miete", "612,50", "612.50"),
    ("miete", "1.234,5 €", "1234.50"),
    ("miete", "612.50", "612.50"),
    ("einkommen_brutto", "0", "0.00"),
    ("haushaltsmitglieder", "3", "3"),
    ("plz", "80 337", "80337"),
    ("iban", "de89 3704 0044 0532 0130 00", "DE89370400440532013000"),
    ("familienstand", "Verheiratet", "verheiratet"),
    ("familienstand", "2", "verheiratet"),
    ("familienstand", "married", "verheiratet"),
    ("drittstaat", "Ja", "true"),
    ("unterschrift", "no", "false"),
    ("email", "Anna@Example.org", "Anna@example.org"),
    ("telefon", "089 1234567", "+49 89 1234567"),
    ("telefon", "", None),
    ("nachname", "O'Brien-Müller", "O'Brien-Müller"),
])
def test_answers_are_normalised(wohngeld: forms.ApplicationType, field_id: str, typed: str,
                                stored: str | None) -> None:
    assert answers.normalise(wohngeld.field(field_id), typed, today=TODAY) == stored


@pytest.mark.parametrize(("field_id", "typed", "reason", "german", "english"), [
    ("geburtsdatum", "31.02.1985", "date", "kein gültiges Datum", "not a valid date"),
    ("geburtsdatum", "14.03.85", "date_year", "vier Ziffern", "four digits"),
    ("geburtsdatum", "gestern", "date", "TT.MM.JJJJ", "DD.MM.YYYY"),
    ("geburtsdatum", (TODAY + dt.timedelta(days=3)).strftime("%d.%m.%Y"), "date_future", "Zukunft", "future"),
    ("geburtsdatum", "01.01.1880", "date_old", "vor 1906", "before 1906"),
    ("iban", "DE89 3704 0044 0532 0130 01", "iban_checksum", "Prüfziffer", "check digits"),
    ("iban", "DE89 3704 0044 0532 0130", "iban_length", "22", "22"),
    ("iban", "12345", "iban_format", "beginnt mit DE", "starts with DE"),
    ("plz", "8033", "postcode", "fünf Ziffern", "five digits"),
    ("haushaltsmitglieder", "0", "min", "mindestens 1", "at least 1"),
    ("haushaltsmitglieder", "zwei", "integer", "ganze Zahl", "whole number"),
    ("miete", "0", "min", "mindestens 0,01", "at least 0,01"),
    ("miete", "612,505", "amount_cents", "zwei Stellen", "two decimal places"),
    ("miete", "viel", "amount", "Betrag", "amount"),
    ("familienstand", "kompliziert", "choice", "ledig, verheiratet", "ledig, verheiratet"),
    ("drittstaat", "vielleicht", "bool", "Ja oder Nein", "Yes or No"),
    ("vorname", "", "required", "beantworten Sie", "answer this question"),
    ("vorname", "R2D2", "name", "Buchstaben", "letters"),
    ("strasse_hausnummer", "Lindwurmstraße", "address", "Hausnummer", "house number"),
    ("email", "anna@", "email", "E-Mail-Adresse", "email address"),
])
def test_invalid_answers_say_why(wohngeld: forms.ApplicationType, field_id: str, typed: str, reason: str,
                                 german: str, english: str) -> None:
    with pytest.raises(answers.Invalid) as caught:
        answers.normalise(wohngeld.field(field_id), typed, today=TODAY, max_age_years=120)
    assert caught.value.code == reason
    assert german in caught.value.message("de") and english in caught.value.message("en")


def test_other_languages_are_phrased_or_german_with_a_note(wohngeld: forms.ApplicationType) -> None:
    q = dialogue.question(wohngeld, {}, None, lang="tr")
    assert q.label == "Vorname" and q.note == dialogue.NOTE_GERMAN_ONLY
    asked: list[tuple[str, str]] = []

    def phraser(text: str, lang: str) -> str | None:
        asked.append((text, lang))
        return f"[{lang}] {text}"

    q = dialogue.question(wohngeld, {"familienstand": "ledig"}, "field:familienstand", lang="tr", phraser=phraser)
    assert q.label == "[tr] Familienstand" and q.note == ""
    assert [c.value for c in q.choices] == wohngeld.field("familienstand").choices  # the values stay the codes
    assert q.choices[0].label == "[tr] ledig" and ("Familienstand", "tr") in asked
    english = dialogue.question(wohngeld, {}, "field:familienstand", lang="en", phraser=phraser)
    assert english.label == "Marital status" and english.choices[1].label == "married"


def test_form_pdf_has_a_field_per_form_field(wohngeld: forms.ApplicationType) -> None:
    reader = PdfReader(io.BytesIO(forms.form_pdf(wohngeld)))
    fields = reader.get_fields() or {}
    assert set(fields) == {f.pdf_field or f.id for f in wohngeld.fields}
    assert fields["unterschrift"]["/FT"] == "/Btn" and fields["iban"]["/FT"] == "/Tx"
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Bankverbindung" in text and "Monatliche Miete" in text and "nur wenn" in text


def test_every_shipped_type_exports_valid_json_and_xml() -> None:
    for app_type in load_types().values():
        schema = forms.json_schema(app_type)
        jsonschema.Draft202012Validator.check_schema(schema)
        etree.XMLSchema(etree.fromstring(forms.xsd(app_type)))  # a valid XSD
        reader = PdfReader(io.BytesIO(forms.form_pdf(app_type)))
        assert len(reader.get_fields() or {}) == len(app_type.fields), app_type.id


def test_export_refuses_values_that_do_not_fit(wohngeld: forms.ApplicationType) -> None:
    values = {k: answers.normalise(wohngeld.field(k), v, today=TODAY) for k, v in WOHNGELD.items()}
    complete = {k: v for k, v in values.items() if v is not None}
    assert forms.export_json(wohngeld, complete)["values"]["miete"] == "612.50"
    with pytest.raises(forms.ExportInvalid, match="staatsangehoerigkeit"):
        forms.export_json(wohngeld, {k: v for k, v in complete.items() if k != "staatsangehoerigkeit"})
    with pytest.raises(forms.ExportInvalid, match="plz"):
        forms.export_json(wohngeld, {**complete, "plz": "8033"})
    with pytest.raises(forms.ExportInvalid, match="arbeitgeber"):  # required when employed (if/then)
        forms.export_json(wohngeld, {k: v for k, v in complete.items() if k != "arbeitgeber"})
    with pytest.raises(forms.ExportInvalid, match="XSD"):
        forms.export_xml(wohngeld, {**complete, "plz": "8033"})


# --- with the database --------------------------------------------------------------------------------------------

@pytest.fixture
def checks_runtime(make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    rt = Runtime(make_settings(checks_public_dialogue=True, checks_dialogue_guesses_per_hour=3))
    try:
        yield rt
    finally:
        rt.close()


def _answer_all(rt: Runtime, code: str, until: str | None = None) -> dialogue.Question:
    q = dialogue.current_question(rt, code)
    while q.kind == "field" and q.step != f"field:{until}":
        q = dialogue.answer(rt, code, WOHNGELD[q.step[6:]])
    return q


def test_a_whole_application_with_resume_upload_and_export(checks_runtime: Runtime,
                                                            wohngeld: forms.ApplicationType) -> None:
    rt = checks_runtime
    started = dialogue.start(rt, TYPE, "de")
    code = started.resume_code
    assert len(dialogue.normalise_code(code)) == 20 and started.question.step == "field:vorname"
    assert started.question.number == 1 and started.question.total == len(dialogue.steps(wohngeld, {}))
    with rt.db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM checks_applications")).mappings().one()
    assert row["resume_code_hash"] == dialogue.code_hash(code) and code not in json.dumps(dict(row), default=str)

    q = _answer_all(rt, code, until="geburtsdatum")
    # an invalid answer: not stored, the question stays, the message names the format
    with pytest.raises(dialogue.AnswerInvalid) as caught:
        dialogue.answer(rt, code, "31.02.1985")
    assert caught.value.extra["field"] == "geburtsdatum" and "TT.MM.JJJJ" in caught.value.extra["message_de"]
    assert dialogue.current_question(rt, code).step == "field:geburtsdatum"
    q = dialogue.answer(rt, code, "14.03.1985")
    assert q.step == "field:staatsangehoerigkeit" and q.number == 4
    q = dialogue.back(rt, code)
    assert q.step == "field:geburtsdatum" and q.value == "14.03.1985"  # shown in German format
    q = dialogue.answer(rt, code, "14.03.1985")

    # interrupted: resume with the code (spaces, dashes and small letters do not matter)
    typed = dialogue.show_code(code).lower().replace("-", " ")
    state = dialogue.resume(rt, typed)
    assert state.question is not None and state.question.step == "field:staatsangehoerigkeit"
    q = _answer_all(rt, code)
    assert q.step == "upload:mietvertrag" and q.kind == "upload"
    assert q.total == len(dialogue.steps(wohngeld, {"einkommensart": "erwerbstaetigkeit"}))

    # uploads are checked at once; unusable ones are not kept
    empty, empty_id = dialogue.upload(rt, code, "mietvertrag", "leer.pdf", b"")
    assert not empty.ok and empty_id is None and "leer" in empty.messages("de")[0]
    text, _ = dialogue.upload(rt, code, "mietvertrag", "vertrag.docx", b"PK\x03\x04 not a pdf")
    assert not text.ok and "keine PDF-Datei" in text.messages("de")[0] and "neither a PDF" in text.messages("en")[0]
    broken, _ = dialogue.upload(rt, code, "mietvertrag", "kaputt.pdf", b"%PDF-1.4\n broken")
    assert not broken.ok and "beschädigt" in broken.messages("de")[0]
    contract = pdf("Mietvertrag\nMieterin: Anna Maria Müller-Lüdenscheidt\nMiete: 612,50 EUR")
    good, file_id = dialogue.upload(rt, code, "mietvertrag", "C:\\Scans\\mietvertrag.pdf", contract)
    assert good.ok and file_id and good.pages == 1 and good.content_type == "application/pdf"
    with pytest.raises(dialogue.BadRequest, match="aufenthaltstitel"):
        dialogue.upload(rt, code, "aufenthaltstitel", "titel.pdf", contract)  # not asked: not a third-country national
    q = dialogue.current_question(rt, code)
    assert [u.filename for u in q.uploads] == ["mietvertrag.pdf"]
    q = dialogue.answer(rt, code, None)
    assert q.step == "upload:einkommen"
    while q.kind == "upload":
        q = dialogue.answer(rt, code, None)  # the other documents later
    assert q.kind == "review" and [m["step"] for m in q.missing] == ["upload:einkommen", "upload:kontoauszug"]
    assert {r["label"]: r["value"] for r in q.review}["Monatliche Miete laut Mietvertrag in Euro"] == "612,50"

    finished = dialogue.finish(rt, code)
    with rt.db.engine.connect() as conn:
        packet = conn.execute(sa.text("SELECT * FROM checks_packets")).mappings().one()
        files = conn.execute(sa.text("SELECT filename, requirement, packet_id, application_id FROM checks_files "
                                     "ORDER BY id")).all()
        status = conn.execute(sa.text("SELECT status, packet_id FROM checks_applications")).one()
    assert packet["source"] == "dialogue" and packet["department"] == wohngeld.department
    assert packet["form"]["iban"] == STORED["iban"] and packet["form"]["arbeitgeber"] == "Bäckerei Huber"
    assert files == [("mietvertrag.pdf", "mietvertrag", packet["id"], None),
                     (f"antrag-{TYPE}.pdf", "form", packet["id"], None)]
    assert tuple(status) == ("submitted", packet["id"]) and finished.packet_id == packet["id"]

    # the filled PDF reads back as the values
    filled = forms.read_form_pdf(finished.pdf)
    for field_id, value in STORED.items():
        assert filled[field_id] == value, field_id
    assert filled["vorname"] == "Anna Maria" and filled["telefon"] == ""
    assert PdfReader(io.BytesIO(finished.pdf)).trailer["/Root"]["/AcroForm"]["/NeedAppearances"]
    # the JSON export validates against the published schema, the XML against the XSD
    jsonschema.validate(finished.json, forms.json_schema(wohngeld), format_checker=jsonschema.FormatChecker())
    assert finished.json["values"]["haushaltsmitglieder"] == 2 and finished.json["values"]["drittstaat"] is False
    assert finished.json["documents"][0]["requirement"] == "mietvertrag"
    assert finished.json["reference"] == str(packet["id"])
    xml = etree.fromstring(finished.xml)
    assert etree.XMLSchema(etree.fromstring(forms.xsd(wohngeld))).validate(xml)
    ns = {"a": forms.NAMESPACE.format(type_id=TYPE)}
    assert xml.findtext("a:angaben/a:miete", namespaces=ns) == "612.50"
    assert xml.find("a:unterlagen/a:unterlage", namespaces=ns).get("anforderung") == "mietvertrag"
    # the summary for the applicant: what was given, what is still needed, who decides
    text = finished.summary.text
    assert f"Nummer {packet['id']}" in text and "Kontoauszug mit den Mietzahlungen" in text
    assert "Nachweis über Ihr Einkommen" in finished.summary.still_needed and "nicht der Computer" in text
    assert ("IBAN", "DE89 3704 0044 0532 0130 00") in finished.summary.given

    # sent: no more answers, downloads stay
    with pytest.raises(dialogue.ApplicationClosed):
        dialogue.answer(rt, code, "x")
    again = dialogue.downloads(rt, code)
    assert forms.read_form_pdf(again.pdf)["miete"] == "612.50" and again.json["values"] == finished.json["values"]


def test_an_upload_of_the_wrong_document_is_pointed_out(checks_runtime: Runtime) -> None:
    rt = checks_runtime
    code = dialogue.start(rt, TYPE).resume_code
    contract = pdf("Mietvertrag\nzwischen Wohnbau Isar GmbH (Vermieter) und Anna Müller (Mieterin)\n"
                   "Monatliche Miete: 612,50 EUR\nWohnfläche 54,5 qm")
    checked, file_id = dialogue.upload(rt, code, "einkommen", "lohn.pdf", contract)
    assert checked.ok and file_id and checked.kind == "rental_contract"  # kept: the case worker sees it too
    assert "nicht nach Lohnabrechnung / Rentenbescheid" in checked.messages("de")[-1]
    assert "not a payslip / pension notice" in checked.messages("en")[-1]
    payslip = pdf("Entgeltabrechnung Dezember 2026\nArbeitgeber: Bäckerei Huber\nName: Anna Müller\n"
                  "Gesamtbrutto 1.980,00 EUR\nNetto 1.420,55 EUR\nAuszahlungsbetrag 1.420,55")
    checked, _ = dialogue.upload(rt, code, "einkommen", "lohn-dezember.pdf", payslip)
    assert checked.kind == "payslip" and checked.messages("de")[-1] == "Erkannt: Lohnabrechnung."
    dialogue.remove_upload(rt, code, file_id)
    with rt.db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT string_agg(filename, ',') FROM checks_files")) == "lohn-dezember.pdf"


def test_finish_asks_for_missing_answers_first(checks_runtime: Runtime) -> None:
    rt = checks_runtime
    code = dialogue.start(rt, TYPE).resume_code
    dialogue.answer(rt, code, "Anna")
    with pytest.raises(dialogue.AnswerInvalid) as caught:
        dialogue.finish(rt, code)
    assert caught.value.extra["field"] == "nachname"
    assert dialogue.current_question(rt, code).step == "field:nachname"
    with rt.db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM checks_packets")) == 0


def test_wrong_and_expired_codes(checks_runtime: Runtime) -> None:
    rt = checks_runtime
    code = dialogue.start(rt, TYPE).resume_code
    dialogue.answer(rt, code, "Anna")
    other = dialogue.new_code()
    for _ in range(3):
        with pytest.raises(dialogue.ResumeCodeWrong):
            dialogue.resume(rt, other, client="203.0.113.7")
    with pytest.raises(RateLimited):  # the fourth wrong guess within the hour
        dialogue.resume(rt, other, client="203.0.113.7")
    with pytest.raises(dialogue.ResumeCodeWrong):  # another client is counted on its own
        dialogue.resume(rt, other, client="198.51.100.2")
    assert dialogue.resume(rt, code, client="198.51.100.2").question.step == "field:nachname"
    with rt.db.session() as session:
        session.execute(sa.text("UPDATE checks_applications SET expires_at = now() - interval '1 minute'"))
    with pytest.raises(dialogue.ResumeCodeExpired):
        dialogue.resume(rt, code)
    assert dialogue.purge_expired(rt) == 1
    with rt.db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT status, values FROM checks_applications")).one()
    assert tuple(row) == ("expired", {})


def test_api_problem_answers_and_the_schema_urls(checks_runtime: Runtime, wohngeld: forms.ApplicationType) -> None:
    with TestClient(create_app(checks_runtime)) as client:
        schema = client.get(f"/api/v1/checks/schemas/{TYPE}.json")
        assert schema.status_code == 200 and schema.json() == forms.json_schema(wohngeld)
        assert client.get(f"/api/v1/checks/schemas/{TYPE}.xsd").content == forms.xsd(wohngeld)
        assert client.get("/api/v1/checks/schemas/gibtsnicht.json").status_code == 404
        started = client.post("/api/v1/checks/applications", json={"type_id": TYPE, "language": "en"})
        assert started.status_code == 201
        app_id, code = started.json()["application_id"], started.json()["resume_code"]
        assert started.json()["question"]["label"] == "First name"
        headers = {"X-Resume-Code": code}
        bad = client.post(f"/api/v1/checks/applications/{app_id}/answer", json={"value": "R2D2"}, headers=headers)
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        assert bad.json()["field"] == "vorname" and "letters" in bad.json()["detail"]
        ok = client.post(f"/api/v1/checks/applications/{app_id}/answer", json={"value": "Anna"}, headers=headers)
        assert ok.status_code == 200 and ok.json()["question"]["step"] == "field:nachname"
        wrong = client.post(f"/api/v1/checks/applications/{app_id}/answer", json={"value": "x"},
                            headers={"X-Resume-Code": dialogue.new_code()})
        assert wrong.status_code == 404 and wrong.json()["type"].endswith("resume-code-unknown")
        upload = client.post(f"/api/v1/checks/applications/{app_id}/uploads", headers=headers,
                             data={"requirement": "mietvertrag"}, files={"file": ("leer.pdf", b"", "application/pdf")})
        assert upload.status_code == 422 and "is empty" in upload.json()["detail"]
        unknown = client.post("/api/v1/checks/applications", json={"type_id": "gibts-nicht"})
        assert unknown.status_code == 404 and "wohngeld-erstantrag" in unknown.json()["detail"]
        page = client.get(f"/antrag/{TYPE}")
        assert page.status_code == 200 and "Antrag beginnen" in page.text
        widget = client.get("/embed/buergerservice")  # the widget links into the guided application
        assert f'href="/antrag/{TYPE}"' in widget.text and "Antrag Schritt für Schritt stellen" in widget.text
        assert 'href="/antrag/bewohnerparkausweis?lang=en"' in client.get("/embed/buergerservice?lang=en").text


def test_page_in_another_language_without_a_model_speaks_german(checks_runtime: Runtime,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dialogue, "gateway_phraser", lambda runtime: dialogue.no_phraser)  # no model cleared
    with TestClient(create_app(checks_runtime)) as client:
        intro = client.get(f"/antrag/{TYPE}?lang=tr")
        assert f'action="/antrag/{TYPE}/beginnen?lang=tr"' in intro.text
        started = client.post(f"/antrag/{TYPE}/beginnen?lang=tr")
        assert started.status_code == 200 and "antrag-" + TYPE in started.headers["set-cookie"]
        assert "httponly" in started.headers["set-cookie"].lower()
        assert "samesite=strict" in started.headers["set-cookie"].lower()
        question = client.get(f"/antrag/{TYPE}/frage")
        assert "Vorname" in question.text and "nur auf Deutsch und Englisch" in question.text
        assert '<h2 class="question-label" lang="de">' in question.text
        # a form without the token derived from the code is refused, nothing stored
        refused = client.post(f"/antrag/{TYPE}/frage", data={"value": "Anna", "token": "0" * 32})
        assert refused.status_code == 400
    with checks_runtime.db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT language, values FROM checks_applications")).one()
    assert tuple(row) == ("tr", {})


def test_public_dialogue_is_off_by_default(runtime: Runtime) -> None:
    with TestClient(create_app(runtime)) as client:
        assert client.get(f"/antrag/{TYPE}").status_code == 404
        assert client.post("/api/v1/checks/applications", json={"type_id": TYPE}).status_code == 404
        assert client.get(f"/api/v1/checks/schemas/{TYPE}.json").status_code == 200  # published regardless
        assert "/antrag/" not in client.get("/embed/buergerservice").text
