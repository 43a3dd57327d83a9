"""Data takeover on synthetic German letters (names, addresses and numbers are invented; the IBAN is the documented
example IBAN DE89 3704 0044 0532 0130 00)."""

from __future__ import annotations

import datetime as dt

import jsonschema
import pytest

from rathaus.inbox.extraction import MAX_CHARS, extract, extract_message, schema, validate_extraction
from rathaus.inbox.message import Attachment, IncomingMessage

REF = dt.date(2026, 3, 20)
BODY = """Sehr geehrte Damen und Herren,

ich beziehe mich auf Ihr Schreiben vom 12.03.2026, Az. WG-2026/0815, Kundennummer: 4711-0815.
Meinen Antrag auf Wohngeld habe ich am 3. März 2026 gestellt. Bitte überweisen Sie die Nachzahlung
von 1.234,56 € auf mein Konto IBAN DE89 3704 0044 0532 0130 00. Die Gebühr von EUR 80 habe ich bezahlt.
Die Unterlagen reiche ich bis zum 30.04.2026 nach.
Sie erreichen mich unter 0151 23456789 oder erika.musterfrau@example.org.

Mit freundlichen Grüßen
Erika Musterfrau
Musterstraße 12, 12345 Musterstadt
"""


@pytest.fixture(scope="module")
def doc() -> dict:
    return extract([("subject", "Wohngeldantrag – Nachreichung"), ("body", BODY)], reference_date=REF)


def values(doc: dict, kind: str) -> list[str]:
    return [f["value"] for f in doc["fields"][kind]]


def one(doc: dict, kind: str, value: str) -> dict:
    found = [f for f in doc["fields"][kind] if f["value"] == value]
    assert len(found) == 1, (kind, value, doc["fields"][kind])
    return found[0]


def test_schema_is_valid_draft_2020_12_and_output_conforms(doc: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.Draft202012Validator(schema()).validate(doc)
    validate_extraction(doc)


def test_spans_point_at_the_text_in_their_source(doc: dict) -> None:
    texts = {"subject": "Wohngeldantrag – Nachreichung", "body": BODY}
    count = 0
    for fields in doc["fields"].values():
        for f in fields:
            assert texts[f["source"]][f["start"]:f["end"]] == f["text"]
            count += 1
    assert count >= 12


def test_case_numbers_with_their_labels(doc: dict) -> None:
    assert one(doc, "case_number", "WG-2026/0815")["label"] == "Aktenzeichen"
    assert one(doc, "case_number", "4711-0815")["label"] == "Kundennummer"
    assert all(f["data_class"] == "personenbezogen" for f in doc["fields"]["case_number"])


def test_dates_iso_and_deadline_after_bis_zum(doc: dict) -> None:
    assert values(doc, "date") == ["2026-03-12", "2026-03-03"]
    assert one(doc, "date", "2026-03-03")["text"] == "3. März 2026"
    deadline = one(doc, "deadline", "2026-04-30")
    assert deadline["cue"].startswith("bis zum")
    assert deadline["data_class"] == "intern"


def test_amounts_as_decimals(doc: dict) -> None:
    assert values(doc, "amount") == ["1234.56", "80.00"]
    assert one(doc, "amount", "1234.56")["text"] == "1.234,56 €"


def test_iban_normalised_and_checksum_verified(doc: dict) -> None:
    iban = one(doc, "iban", "DE89370400440532013000")
    assert iban["valid"] is True and iban["confidence"] >= 0.99
    assert iban["data_class"] == "personenbezogen"


def test_invalid_iban_reported_as_invalid_with_low_confidence() -> None:
    doc = extract([("body", "Bitte auf DE89 3704 0044 0532 0130 01 überweisen.")], reference_date=REF)
    (iban,) = doc["fields"]["iban"]
    assert iban["value"] == "DE89370400440532013001" and iban["valid"] is False and iban["confidence"] < 0.5


def test_pii_fields_from_the_detector(doc: dict) -> None:
    address = one(doc, "address", "Musterstraße 12, 12345 Musterstadt")
    assert address["parts"] == {"street": "Musterstraße 12", "postcode_town": "12345 Musterstadt"}
    assert "Erika Musterfrau" in values(doc, "person")
    assert one(doc, "sender_name", "Erika Musterfrau")["method"] == "signature"
    assert values(doc, "phone") == ["+4915123456789"]
    assert values(doc, "email") == ["erika.musterfrau@example.org"]
    for kind in ("address", "person", "phone", "email", "sender_name"):
        assert all(f["data_class"] == "personenbezogen" for f in doc["fields"][kind])


def test_application_type_one_field_with_all_mentions(doc: dict) -> None:
    (app,) = doc["fields"]["application_type"]
    assert app["value"] == "Wohngeld" and app["mentions"] == 2
    assert app["method"] == "lemma" and app["source"] == "body"


def test_application_types_and_case_patterns_are_parameters() -> None:
    doc = extract([("body", "Ich brauche einen neuen Anwohnerparkausweis. Vorgang XY-99.")], reference_date=REF,
                  application_types={"Bewohnerparkausweis": ["anwohnerparkausweis"]},
                  case_patterns={"Vorgang": r"Vorgang (?P<value>[A-Z]{2}-\d+)"})
    assert values(doc, "application_type") == ["Bewohnerparkausweis"]
    assert [(f["value"], f["label"]) for f in doc["fields"]["case_number"]] == [("XY-99", "Vorgang")]
    with pytest.raises(ValueError, match="pattern 'kaputt'"):
        extract([("body", "x")], case_patterns={"kaputt": "(unclosed"})


def test_written_dates_without_year_relative_deadlines_and_birth_dates() -> None:
    doc = extract([("body", "Termin am 5. Juni. Antwort innerhalb von 14 Tagen. Geburtsdatum: 3. Mai 1975. "
                            "Kein Datum: 31.02.2026.")], reference_date=REF)
    (date,) = doc["fields"]["date"]
    assert date["value"] == "2026-06-05" and date["year_inferred"] is True
    assert values(doc, "deadline") == ["2026-04-03"]
    assert values(doc, "birth_date") == ["1975-05-03"]
    assert doc["fields"]["birth_date"][0]["data_class"] == "personenbezogen"
    validate_extraction(doc)


def test_message_header_sender_and_attachment_source() -> None:
    message = IncomingMessage(
        channel="mail", external_id="<1@example.org>", subject="Meldebescheinigung", body="Siehe Anhang.",
        sender_address="Max.Mustermann@Example.org", sender_name="Max Mustermann",
        received_at=dt.datetime(2026, 1, 10, 9, 0),
        attachments=[Attachment("antrag.pdf", "application/pdf", b"%PDF", text="Aktenzeichen: MB-7/2026")],
    )
    doc = extract_message(message)
    assert doc["reference_date"] == "2026-01-10"
    assert [(f["value"], f["source"], f["start"]) for f in doc["fields"]["sender_email"]] == [
        ("max.mustermann@example.org", "header", None)]
    assert values(doc, "sender_name") == ["Max Mustermann"]
    (case,) = doc["fields"]["case_number"]
    assert case["source"] == "attachment:antrag.pdf" and case["value"] == "MB-7/2026"
    assert "Aktenzeichen: MB-7/2026"[case["start"]:case["end"]] == "MB-7/2026"
    validate_extraction(doc)


def test_empty_text_gives_empty_fields_and_a_note() -> None:
    doc = extract([("subject", ""), ("body", "   ")], reference_date=REF)
    assert all(fields == [] for fields in doc["fields"].values())
    assert doc["notes"] == ["kein Text / no text"]
    validate_extraction(doc)


def test_huge_text_is_cut_with_a_note_not_a_crash() -> None:
    huge = ("Az. AB-1/2026. " + "Lorem ipsum dolor sit amet. " * 8000)[: MAX_CHARS + 50_000]
    doc = extract([("body", huge), ("attachment:gross.txt", "Kassenzeichen 123-456")], reference_date=REF)
    assert doc["sources"][0] == {"source": "body", "chars": len(huge), "read_chars": MAX_CHARS}
    assert doc["sources"][1]["read_chars"] == 0
    assert len(doc["notes"]) == 2 and "only the first 100,000" in doc["notes"][0]
    assert values(doc, "case_number") == ["AB-1/2026"]
    validate_extraction(doc)


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="source 'body' must be a string"):
        extract([("body", None)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="unknown source 'footer'"):
        extract([("footer", "x")])
    with pytest.raises(ValueError, match="max_chars"):
        extract([("body", "x")], max_chars=0)


def test_validation_names_the_problem() -> None:
    doc = extract([("body", "Betrag 12,50 €")], reference_date=REF)
    doc["fields"]["amount"][0]["value"] = "12,50"
    with pytest.raises(ValueError, match="fields/amount/0/value"):
        validate_extraction(doc)
