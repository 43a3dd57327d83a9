"""The rules of rathaus.checks.engine on hand-built packets: fields, documents with alternatives and validity,
conditions, every rule kind, "unsure" in the grey zone, evidence, and the Annex III flag."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from checks_fakes import ADDRESS, NAME, SUBMITTED, doc, residence_packet, val, wohngeld_packet

from rathaus.checks import engine
from rathaus.checks.definitions import ApplicationType, shipped_types
from rathaus.checks.model import CheckResult, FileProblem, Packet
from rathaus.checks.validators import Match


@pytest.fixture(scope="module")
def types() -> dict[str, ApplicationType]:
    return shipped_types()


def by_id(result: CheckResult) -> dict[str, engine.ChecklistItem]:
    return {item.requirement: item for item in result.items}


def not_satisfied(result: CheckResult) -> dict[str, str]:
    return {item.requirement: item.status for item in result.items if item.status != "satisfied"}


# --- the shipped types -------------------------------------------------------------------------------------------
def test_the_three_shipped_types_load_with_person_block_ids(types: dict[str, ApplicationType]) -> None:
    assert set(types) == {"wohngeld-erstantrag", "bewohnerparkausweis", "aufenthaltserlaubnis-beschaeftigung"}
    for app_type in types.values():
        ids = {f.id for f in app_type.fields}
        assert {"vorname", "nachname", "geburtsdatum", "strasse_hausnummer", "plz", "ort", "unterschrift",
                "antragsdatum"} <= ids
        assert all(f.label.en and f.help and f.help.de and f.help.en for f in app_type.fields)
        assert all(source.url.startswith("http") for source in app_type.sources)
    assert types["aufenthaltserlaubnis-beschaeftigung"].annex_iii is True
    assert types["bewohnerparkausweis"].annex_iii is False


def test_a_complete_housing_benefit_packet_is_all_satisfied(types: dict[str, ApplicationType]) -> None:
    result = engine.check(wohngeld_packet(), types["wohngeld-erstantrag"])
    assert not_satisfied(result) == {}
    assert result.complete is True
    assert result.annex_iii is True
    items = by_id(result)
    assert "field:telefon" not in items  # optional and not given: no item
    assert "document:aufenthaltstitel" not in items  # its condition (drittstaat) is not met
    assert {"field:arbeitgeber", "document:einkommen", "rule:iban_gueltig",
            "rule:mietvertrag_vollstaendig"} <= set(items)


def test_a_complete_residence_permit_packet_is_annex_iii_and_satisfied(types: dict[str, ApplicationType]) -> None:
    result = engine.check(residence_packet(), types["aufenthaltserlaubnis-beschaeftigung"])
    assert result.annex_iii is True
    assert not_satisfied(result) == {}
    assert result.counts()["satisfied"] == len(result.items)


# --- fields ------------------------------------------------------------------------------------------------------
def test_a_missing_required_field_is_missing_with_a_hint(types: dict[str, ApplicationType]) -> None:
    result = engine.check(wohngeld_packet(geburtsdatum=None), types["wohngeld-erstantrag"])
    item = by_id(result)["field:geburtsdatum"]
    assert item.status == "missing"
    assert "Geburtsdatum" in item.hint and "14.03.1985" in item.hint  # the field's help text
    assert result.complete is False


def test_blank_values_count_as_missing(types: dict[str, ApplicationType]) -> None:
    result = engine.check(wohngeld_packet(ort="   "), types["wohngeld-erstantrag"])
    assert by_id(result)["field:ort"].status == "missing"


@pytest.mark.parametrize(("field", "value", "words"), [
    ("plz", "8033", "fünf Ziffern"),
    ("geburtsdatum", "31.02.1985", "kein gültiges Datum"),
    ("haushaltsmitglieder", "0", "mindestens 1"),
    ("haushaltsmitglieder", "zwei", "keine ganze Zahl"),
    ("miete", "viel", "kein Betrag"),
    ("familienstand", "kompliziert", "keine der möglichen Antworten"),
    ("email", "erika-at-example", "keine E-Mail-Adresse"),
    ("iban", "12345", "keine IBAN"),
    ("vorname", "Er1ka", "Buchstaben"),
    ("strasse_hausnummer", "Lindwurmstraße", "Hausnummer"),
])
def test_format_problems_make_a_field_invalid(types: dict[str, ApplicationType], field: str, value: str,
                                              words: str) -> None:
    item = by_id(engine.check(wohngeld_packet(**{field: value}), types["wohngeld-erstantrag"]))[f"field:{field}"]
    assert item.status == "invalid"
    assert words in item.message and words in item.hint


def test_german_dates_and_amounts_are_accepted(types: dict[str, ApplicationType]) -> None:
    result = engine.check(wohngeld_packet(geburtsdatum="14.03.1985", miete="812,50"), types["wohngeld-erstantrag"])
    assert by_id(result)["field:geburtsdatum"].status == "satisfied"
    assert by_id(result)["rule:miete_wie_vertrag"].status == "satisfied"


def test_a_field_pattern_is_applied(types: dict[str, ApplicationType]) -> None:
    parking = types["bewohnerparkausweis"]
    assert engine.format_problem(parking.field("kennzeichen"), "M-AB 1234") == ""
    assert engine.format_problem(parking.field("kennzeichen"), "m ab1234") == ""
    assert engine.format_problem(parking.field("kennzeichen"), "1234-XY") == "Format stimmt nicht"


def test_a_value_read_with_low_confidence_is_unsure_not_invalid(types: dict[str, ApplicationType]) -> None:
    packet = wohngeld_packet()
    packet.form["plz"] = val("8O337", confidence=0.41, file="antrag-scan.jpg", page=1, bbox=(5, 6, 70, 20))
    item = by_id(engine.check(packet, types["wohngeld-erstantrag"]))["field:plz"]
    assert item.status == "unsure"
    assert "41" in item.message and "fünf Ziffern" in item.message
    assert item.evidence[0].file == "antrag-scan.jpg" and item.evidence[0].bbox == (5, 6, 70, 20)
    assert item.hint == ""  # the letter does not ask about what the case worker has to look at first


def test_conditional_field_follows_its_condition(types: dict[str, ApplicationType]) -> None:
    wohngeld = types["wohngeld-erstantrag"]
    pension = by_id(engine.check(wohngeld_packet(einkommensart="rente", arbeitgeber=None), wohngeld))
    assert "field:arbeitgeber" not in pension
    employed = by_id(engine.check(wohngeld_packet(arbeitgeber=None), wohngeld))
    assert employed["field:arbeitgeber"].status == "missing"


def test_condition_syntax() -> None:
    form = {"a": val("Ja"), "b": val("rente"), "c": val("nein")}
    assert engine.condition_holds(None, form)
    assert engine.condition_holds("a", form)
    assert not engine.condition_holds("c", form)
    assert not engine.condition_holds("missing", form)
    assert engine.condition_holds("b == Rente", form)
    assert engine.condition_holds("b != erwerbstaetigkeit", form)
    assert not engine.condition_holds("missing != x", form)  # unknown: the controlling field is reported instead


def test_a_form_of_another_type_is_flagged(types: dict[str, ApplicationType]) -> None:
    packet = wohngeld_packet()
    packet.type_id = "bewohnerparkausweis"
    item = by_id(engine.check(packet, types["wohngeld-erstantrag"]))["packet:type"]
    assert item.status == "invalid" and "bewohnerparkausweis" in item.message


def test_file_problems_are_carried_and_keep_the_packet_incomplete(types: dict[str, ApplicationType]) -> None:
    packet = wohngeld_packet()
    packet.problems.append(FileProblem("kaputt.pdf", "Die PDF-Datei ist beschädigt."))
    result = engine.check(packet, types["wohngeld-erstantrag"])
    assert not_satisfied(result) == {}
    assert result.problems == packet.problems and result.complete is False


# --- documents ---------------------------------------------------------------------------------------------------
def _drop(packet: Packet, kind: str) -> Packet:
    packet.documents = [d for d in packet.documents if d.kind != kind]
    return packet


def test_a_missing_document_is_missing_and_names_the_alternatives(types: dict[str, ApplicationType]) -> None:
    result = engine.check(_drop(wohngeld_packet(), "rental_contract"), types["wohngeld-erstantrag"])
    item = by_id(result)["document:mietvertrag"]
    assert item.status == "missing"
    assert "Mietvertrag" in item.hint and "unterschrieben" in item.hint
    assert item.message == "Nicht beigelegt: Mietvertrag."
    income = by_id(engine.check(_drop(wohngeld_packet(), "payslip"), types["wohngeld-erstantrag"]))
    assert income["document:einkommen"].status == "missing"
    assert "Lohnabrechnungen der letzten drei Monate oder Rentenbescheid" in income["document:einkommen"].message


def test_an_alternative_satisfies_the_requirement(types: dict[str, ApplicationType]) -> None:
    packet = _drop(wohngeld_packet(einkommensart="rente", arbeitgeber=None), "payslip")
    packet.documents.append(doc("pension_notice", "rente.pdf", issue_date="2024-07-01", **NAME))
    item = by_id(engine.check(packet, types["wohngeld-erstantrag"]))["document:einkommen"]
    assert item.status == "satisfied"
    assert [ev.file for ev in item.evidence] == ["rente.pdf"]


def test_too_few_payslips_is_invalid_and_says_how_many_are_lacking(types: dict[str, ApplicationType]) -> None:
    packet = wohngeld_packet()
    packet.documents = [d for d in packet.documents if d.file != "lohn-3.jpg"]
    item = by_id(engine.check(packet, types["wohngeld-erstantrag"]))["document:einkommen"]
    assert item.status == "invalid"
    assert "Es fehlt noch 1 von 3." in item.hint


def test_a_copy_of_the_same_payslip_counts_once(types: dict[str, ApplicationType]) -> None:
    packet = wohngeld_packet()
    packet.documents = [d for d in packet.documents if d.file != "lohn-3.jpg"]
    packet.documents.append(doc("payslip", "lohn-4-kopie.jpg", period="2025-04", **NAME))
    assert by_id(engine.check(packet, types["wohngeld-erstantrag"]))["document:einkommen"].status == "invalid"


def test_a_payslip_older_than_the_type_allows_is_invalid(types: dict[str, ApplicationType]) -> None:
    packet = wohngeld_packet()
    old = next(d for d in packet.documents if d.file == "lohn-3.jpg")
    old.fields["period"] = val("2025-02", 0.9, old.file, 1)  # ends 28.02.2025: 108 days before 16.06.2025
    item = by_id(engine.check(packet, types["wohngeld-erstantrag"]))["document:einkommen"]
    assert item.status == "invalid"
    assert "28.02.2025" in item.message and "älter als 92 Tage" in item.message
    assert "zu alt" in item.hint
    # within the limit: the period ending 31.03.2025 is 77 days old
    assert by_id(engine.check(wohngeld_packet(), types["wohngeld-erstantrag"]))["document:einkommen"].status == \
        "satisfied"


def test_a_document_without_a_readable_date_is_unsure(types: dict[str, ApplicationType]) -> None:
    packet = wohngeld_packet()
    statement = next(d for d in packet.documents if d.kind == "bank_statement")
    del statement.fields["issue_date"]
    item = by_id(engine.check(packet, types["wohngeld-erstantrag"]))["document:kontoauszug"]
    assert item.status == "unsure" and "Datum nicht lesbar" in item.message


def test_a_page_recognised_with_low_confidence_is_unsure(types: dict[str, ApplicationType]) -> None:
    packet = wohngeld_packet()
    next(d for d in packet.documents if d.kind == "rental_contract").confidence = 0.3
    item = by_id(engine.check(packet, types["wohngeld-erstantrag"]))["document:mietvertrag"]
    assert item.status == "unsure" and "30" in item.message


def test_conditional_document_is_required_only_when_its_condition_holds(types: dict[str, ApplicationType]) -> None:
    wohngeld = types["wohngeld-erstantrag"]
    item = by_id(engine.check(wohngeld_packet(drittstaat="ja"), wohngeld))["document:aufenthaltstitel"]
    assert item.status == "missing"
    packet = wohngeld_packet(drittstaat="ja")
    packet.documents.append(doc("residence_permit", "titel.jpg", expiry_date="2025-05-31", birth_date="1985-03-14",
                                mrz_valid="true", **NAME))
    item = by_id(engine.check(packet, wohngeld))["document:aufenthaltstitel"]
    assert item.status == "invalid" and "abgelaufen am 31.05.2025" in item.message
    assert "gültiges Dokument" in item.hint


def test_expired_passport_invalid_and_unreadable_expiry_unsure(types: dict[str, ApplicationType]) -> None:
    permit = types["aufenthaltserlaubnis-beschaeftigung"]
    packet = residence_packet()
    passport = next(d for d in packet.documents if d.kind == "passport")
    passport.fields["expiry_date"] = val("2025-06-15", 0.95, "pass.jpg", 1)  # one day before submission
    assert by_id(engine.check(packet, permit))["document:reisepass"].status == "invalid"
    passport.fields["expiry_date"] = val("2025-06-16", 0.95, "pass.jpg", 1)  # valid on the day of submission
    assert by_id(engine.check(packet, permit))["document:reisepass"].status == "satisfied"
    del passport.fields["expiry_date"]
    assert by_id(engine.check(packet, permit))["document:reisepass"].status == "unsure"


def test_one_document_does_not_satisfy_two_requirements(types: dict[str, ApplicationType]) -> None:
    permit = types["aufenthaltserlaubnis-beschaeftigung"]
    items = by_id(engine.check(residence_packet(berufsausuebungserlaubnis_erforderlich="true"), permit))
    assert items["document:qualifikation"].status == "satisfied"
    assert items["document:berufsausuebungserlaubnis"].status == "missing"


def test_unrecognised_pages_are_named_when_a_document_is_missing(types: dict[str, ApplicationType]) -> None:
    packet = _drop(wohngeld_packet(), "rental_contract")
    packet.documents.append(doc("unknown", "scan7.jpg", confidence=0.2))
    item = by_id(engine.check(packet, types["wohngeld-erstantrag"]))["document:mietvertrag"]
    assert item.status == "missing" and "1 Dokument(e) nicht erkannt" in item.message
    assert item.evidence[0].file == "scan7.jpg"


# --- rules -------------------------------------------------------------------------------------------------------
def test_same_person_tolerates_umlaut_spellings(types: dict[str, ApplicationType]) -> None:
    # the form says "Müller", the documents (MRZ style) "MUELLER"
    item = by_id(engine.check(residence_packet(), types["aufenthaltserlaubnis-beschaeftigung"]))["rule:gleiche_person"]
    assert item.status == "satisfied"
    assert {ev.file for ev in item.evidence} >= {"pass.jpg", "antrag.json"}


def test_same_person_flags_another_name_and_another_birth_date(types: dict[str, ApplicationType]) -> None:
    permit = types["aufenthaltserlaubnis-beschaeftigung"]
    packet = residence_packet()
    contract = next(d for d in packet.documents if d.kind == "employment_contract")
    contract.fields["surname"] = val("BECKER", 0.95, contract.file, 1)
    contract.fields["given_names"] = val("JONAS", 0.95, contract.file, 1)
    item = by_id(engine.check(packet, permit))["rule:gleiche_person"]
    assert item.status == "invalid" and "JONAS BECKER" in item.message and "vertrag.pdf" in item.message
    assert item.hint.startswith("Bitte schreiben Sie Ihren Namen")
    birth = by_id(engine.check(residence_packet(geburtsdatum="1985-03-15"), permit))["rule:gleiche_person"]
    assert birth.status == "invalid" and "15.03.1985" in birth.message and "14.03.1985" in birth.message


def test_same_person_in_the_grey_zone_is_unsure(types: dict[str, ApplicationType],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "match_name", lambda a, b: Match(0.8, "unsure", "ähnlich"))
    item = by_id(engine.check(residence_packet(), types["aufenthaltserlaubnis-beschaeftigung"]))["rule:gleiche_person"]
    assert item.status == "unsure" and "80" in item.message
    monkeypatch.setattr(engine, "match_name", lambda a, b: Match(0.3, "different", "weicht ab"))
    packet = residence_packet()
    for document in packet.documents:
        if "surname" in document.fields:
            document.fields["surname"] = val("MUELLER", 0.4, document.file, 1)  # poorly read: not "invalid"
    assert by_id(engine.check(packet, types["aufenthaltserlaubnis-beschaeftigung"]))["rule:gleiche_person"].status \
        == "unsure"


def test_same_address(types: dict[str, ApplicationType]) -> None:
    wohngeld = types["wohngeld-erstantrag"]
    assert by_id(engine.check(wohngeld_packet(), wohngeld))["rule:gleiche_anschrift"].status == "satisfied"
    item = by_id(engine.check(wohngeld_packet(strasse_hausnummer="Lindwurmstraße 14"), wohngeld))
    assert item["rule:gleiche_anschrift"].status == "invalid"
    assert ADDRESS in item["rule:gleiche_anschrift"].message


def test_mrz_check_digits(types: dict[str, ApplicationType]) -> None:
    permit = types["aufenthaltserlaubnis-beschaeftigung"]
    packet = residence_packet()
    passport = next(d for d in packet.documents if d.kind == "passport")
    passport.fields["mrz_valid"] = val("false", 0.9, "pass.jpg", 1, (0, 900, 1200, 1000))
    item = by_id(engine.check(packet, permit))["rule:pass_mrz_gueltig"]
    assert item.status == "invalid" and item.evidence[0].file == "pass.jpg"
    del passport.fields["mrz_valid"]
    del passport.fields["mrz"]
    assert by_id(engine.check(packet, permit))["rule:pass_mrz_gueltig"].status == "unsure"


def test_iban_checksum(types: dict[str, ApplicationType]) -> None:
    wohngeld = types["wohngeld-erstantrag"]
    assert by_id(engine.check(wohngeld_packet(), wohngeld))["rule:iban_gueltig"].status == "satisfied"
    typo = by_id(engine.check(wohngeld_packet(iban="DE89 3704 0044 0532 0130 01"), wohngeld))
    assert typo["field:iban"].status == "satisfied"  # the shape is right …
    assert typo["rule:iban_gueltig"].status == "invalid"  # … the checksum is not
    assert typo["rule:iban_gueltig"].hint.startswith("Die IBAN ist nicht richtig")
    missing = by_id(engine.check(wohngeld_packet(iban=None), wohngeld))
    assert missing["field:iban"].status == "missing" and missing["rule:iban_gueltig"].status == "unsure"


def test_signature_on_the_form_and_on_a_document(types: dict[str, ApplicationType]) -> None:
    permit = types["aufenthaltserlaubnis-beschaeftigung"]
    unsigned = by_id(engine.check(residence_packet(unterschrift="false"), permit))
    assert unsigned["field:unterschrift"].status == "satisfied"  # answered …
    assert unsigned["rule:unterschrieben"].status == "invalid"  # … but not signed
    packet = residence_packet()
    declaration = next(d for d in packet.documents if d.kind == "employer_declaration")
    declaration.fields["signature"] = val("false", 0.8, declaration.file, 2, (100, 1500, 600, 1600))
    item = by_id(engine.check(packet, permit))["rule:erklaerung_unterschrieben"]
    assert item.status == "invalid" and item.evidence[0].page == 2
    del declaration.fields["signature"]
    assert by_id(engine.check(packet, permit))["rule:erklaerung_unterschrieben"].status == "unsure"


def test_pages_complete(types: dict[str, ApplicationType]) -> None:
    wohngeld = types["wohngeld-erstantrag"]
    packet = wohngeld_packet()
    contract = next(d for d in packet.documents if d.kind == "rental_contract")
    contract.pages[1].text = "Unterschriften Seite 3 von 3"
    item = by_id(engine.check(packet, wohngeld))["rule:mietvertrag_vollstaendig"]
    assert item.status == "invalid" and "Seite 2 von 3 fehlt" in item.message
    contract.pages = contract.pages[:1]
    contract.pages[0].text = "Mietvertrag"
    contract.fields["page_of"] = val("1/2", 0.9, contract.file, 1)
    assert "Seite 2 von 2 fehlt" in by_id(engine.check(packet, wohngeld))["rule:mietvertrag_vollstaendig"].message
    del contract.fields["page_of"]
    assert by_id(engine.check(packet, wohngeld))["rule:mietvertrag_vollstaendig"].status == "unsure"


def test_date_plausible(types: dict[str, ApplicationType]) -> None:
    wohngeld = types["wohngeld-erstantrag"]
    future = by_id(engine.check(wohngeld_packet(antragsdatum="2025-07-01"), wohngeld))["rule:daten_plausibel"]
    assert future.status == "invalid" and "01.07.2025" in future.message
    old = by_id(engine.check(wohngeld_packet(geburtsdatum="1885-03-14"), wohngeld))["rule:daten_plausibel"]
    assert old.status == "invalid" and "140 Jahren" in old.message


def test_field_equals_document(types: dict[str, ApplicationType]) -> None:
    wohngeld = types["wohngeld-erstantrag"]
    item = by_id(engine.check(wohngeld_packet(miete="712.50"), wohngeld))["rule:miete_wie_vertrag"]
    assert item.status == "invalid" and "812.50" in item.message
    parking = types["bewohnerparkausweis"]
    form = {"vorname": "Erika", "nachname": "Müller", "geburtsdatum": "1985-03-14", "strasse_hausnummer":
            "Lindwurmstraße 12", "plz": "80337", "ort": "München", "wohnsitzart": "hauptwohnsitz",
            "kennzeichen": "M-EM 1985", "fahrzeug_halter": "antragsteller", "kein_stellplatz": "ja",
            "antragsdatum": "2025-06-14", "unterschrift": "ja"}
    registration = doc("vehicle_registration", "zb1.jpg", license_plate="M EM1985", address=ADDRESS, **NAME)
    packet = Packet(SUBMITTED, {k: val(v) for k, v in form.items()}, [registration])
    result = engine.check(packet, parking)
    assert not_satisfied(result) == {}
    registration.fields["license_plate"] = val("M EM1986", 0.95, "zb1.jpg", 1)
    assert by_id(engine.check(packet, parking))["rule:kennzeichen_wie_zulassung"].status == "unsure"  # one character
    registration.fields["license_plate"] = val("B-XY 42", 0.95, "zb1.jpg", 1)
    assert by_id(engine.check(packet, parking))["rule:kennzeichen_wie_zulassung"].status == "invalid"
    # an umlaut lost in reading ("DÜW" read "DUW") is one character apart, not another plate
    packet.form["kennzeichen"] = val("DÜW-H 5")
    registration.fields["license_plate"] = val("DUW-H 5", 0.95, "zb1.jpg", 1)
    assert by_id(engine.check(packet, parking))["rule:kennzeichen_wie_zulassung"].status == "unsure"


def test_company_car_needs_the_holders_confirmation_not_the_same_person(types: dict[str, ApplicationType]) -> None:
    parking = types["bewohnerparkausweis"]
    form = {"vorname": "Erika", "nachname": "Müller", "geburtsdatum": "1985-03-14", "strasse_hausnummer":
            "Lindwurmstraße 12", "plz": "80337", "ort": "München", "wohnsitzart": "hauptwohnsitz",
            "kennzeichen": "M-EM 1985", "fahrzeug_halter": "firma", "kein_stellplatz": "ja",
            "antragsdatum": "2025-06-14", "unterschrift": "ja", "halter_name": "Muster AG"}
    registration = doc("vehicle_registration", "zb1.jpg", license_plate="M EM1985", surname="Muster AG")
    items = by_id(engine.check(Packet(SUBMITTED, {k: val(v) for k, v in form.items()}, [registration]), parking))
    assert "rule:halter_ist_antragsteller" not in items
    assert items["field:halterbestaetigung"].status == "missing"
    assert items["rule:halter_bestaetigt"].status == "missing"


def test_amount_range_on_fields_and_documents(types: dict[str, ApplicationType]) -> None:
    data = shipped_types()["wohngeld-erstantrag"].model_dump()
    data["rules"] = [{"id": "netto", "kind": "amount_range", "label": {"de": "Nettolohn plausibel"},
                      "fields": ["einkommen_brutto"], "documents": ["payslip"], "document_field": "net_income",
                      "min": 1, "max": 20000, "hint": {"de": "Bitte prüfen Sie den Betrag."}}]
    custom = ApplicationType.model_validate(data)
    assert by_id(engine.check(wohngeld_packet(), custom))["rule:netto"].status == "satisfied"
    packet = wohngeld_packet()
    packet.documents[1].fields["net_income"] = val("165000.00", 0.9, packet.documents[1].file, 1)
    item = by_id(engine.check(packet, custom))["rule:netto"]
    assert item.status == "invalid" and "höchstens 20000" in item.message and item.hint


def test_a_rule_with_nothing_to_compare_is_unsure_not_satisfied(types: dict[str, ApplicationType]) -> None:
    packet = wohngeld_packet()
    for document in packet.documents:
        for key in ("surname", "given_names", "birth_date"):
            document.fields.pop(key, None)
    item = by_id(engine.check(packet, types["wohngeld-erstantrag"]))["rule:gleiche_person"]
    assert item.status == "unsure" and "Nicht prüfbar" in item.message


def test_rule_conditions(types: dict[str, ApplicationType]) -> None:
    parking = types["bewohnerparkausweis"]
    packet = Packet(SUBMITTED, {"fahrzeug_halter": val("andere_person")}, [])
    items = by_id(engine.check(packet, parking))
    assert "rule:halter_ist_antragsteller" not in items and "rule:anschrift_wie_zulassung" not in items
    assert "rule:halter_bestaetigt" in items


def test_the_result_is_plain_data(types: dict[str, ApplicationType]) -> None:
    result = engine.check(wohngeld_packet(plz="8033"), types["wohngeld-erstantrag"])
    data = dataclasses.asdict(result)
    assert data["type_id"] == "wohngeld-erstantrag" and data["annex_iii"] is True
    assert any(item["status"] == "invalid" for item in data["items"])


def test_submission_date_drives_the_age_of_documents(types: dict[str, ApplicationType]) -> None:
    packet = wohngeld_packet()
    packet.submitted_on = date(2025, 9, 1)  # the March payslip is now 154 days old
    assert by_id(engine.check(packet, types["wohngeld-erstantrag"]))["document:einkommen"].status == "invalid"
