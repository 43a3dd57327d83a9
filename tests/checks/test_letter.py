"""The applicant's letter: asks for exactly what is missing or wrong, gender-fair, in plain German (measured with
the platform's readability tool) and in English from the type's ``en`` texts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from checks_fakes import NAME, SUBMITTED, doc, residence_packet, val, wohngeld_packet

from rathaus.assistants import readability as rd  # measuring only; the checks package does not import it
from rathaus.checks import engine
from rathaus.checks.definitions import ApplicationType, shipped_types
from rathaus.checks.letter import applicant_letter
from rathaus.checks.model import CheckResult, Packet

# A conventional administrative letter asking for the same things, for comparison (written for this test in the
# usual style of such letters: long sentences, nominal style, legal reference).
OFFICIAL_STYLE = (
    "Sehr geehrte Damen und Herren, im Rahmen der Bearbeitung Ihres Antrags auf Gewährung von Wohngeld in Form "
    "eines Mietzuschusses nach dem Wohngeldgesetz wurde festgestellt, dass die für die Entscheidung erforderlichen "
    "Unterlagen nicht vollständig vorgelegt wurden. Wir bitten Sie daher, die nachstehend aufgeführten Nachweise "
    "unter Angabe des Aktenzeichens innerhalb der gesetzten Frist nachzureichen, da andernfalls eine abschließende "
    "Bearbeitung Ihres Antrags unter Umständen nicht möglich ist. Darüber hinaus wird darauf hingewiesen, dass die "
    "angegebene Bankverbindung einer Überprüfung nicht standhielt und eine Berichtigung erforderlich ist."
)


@pytest.fixture(scope="module")
def wohngeld() -> ApplicationType:
    return shipped_types()["wohngeld-erstantrag"]


@pytest.fixture(scope="module")
def defects(wohngeld: ApplicationType) -> CheckResult:
    """A typical defect set: a field missing, an IBAN typo, not signed, a payslip and the bank statement missing,
    and one value the case worker has to look at first (unsure)."""
    packet = wohngeld_packet(geburtsdatum=None, iban="DE89 3704 0044 0532 0130 01", unterschrift="false")
    packet.documents = [d for d in packet.documents if d.file != "lohn-3.jpg" and d.kind != "bank_statement"]
    packet.form["wohnflaeche"] = val("5B", confidence=0.3, file="antrag-scan.jpg", page=1)
    return engine.check(packet, wohngeld)


def test_the_letter_asks_for_exactly_what_is_missing_or_wrong(defects: CheckResult, wohngeld: ApplicationType) -> None:
    letter = applicant_letter(defects, wohngeld, name="Erika Müller")
    assert letter.startswith("Guten Tag Erika Müller,\n")
    asks = [line for line in letter.splitlines() if line.startswith("- ")]
    assert len(asks) == 5, letter
    assert any(line.startswith("- Kontoauszug mit den Mietzahlungen.") for line in asks)
    assert any(line.startswith("- Geburtsdatum.") and "14.03.1985" in line for line in asks)
    assert any("Es fehlt noch 1 von 3." in line for line in asks)
    assert any(line.startswith("- Die IBAN ist nicht richtig.") for line in asks)
    assert any(line.startswith("- Bitte unterschreiben Sie den Antrag") for line in asks)
    assert "Wohnfläche" not in letter  # unsure: the case worker looks first, the applicant is not asked
    assert "Bitte schicken Sie uns:" in letter and "Bitte ergänzen Sie im Antrag:" in letter
    assert letter.rstrip().endswith("Sozialreferat")


def test_the_salutation_is_gender_fair(defects: CheckResult, wohngeld: ApplicationType) -> None:
    for letter in (applicant_letter(defects, wohngeld, name="Erika Müller"), applicant_letter(defects, wohngeld)):
        assert "Sehr geehrte" not in letter and "Herr" not in letter and "Frau" not in letter
    assert applicant_letter(defects, wohngeld).startswith("Guten Tag,\n")


def test_the_letter_does_not_decide(defects: CheckResult, wohngeld: ApplicationType) -> None:
    letter = applicant_letter(defects, wohngeld).casefold()
    for word in ("abgelehnt", "bewilligt", "genehmigt", "anspruch", "entschieden"):
        assert word not in letter


def test_one_request_per_problem(wohngeld: ApplicationType) -> None:
    # an IBAN of the wrong shape makes the field invalid and the checksum rule fail: the letter asks once
    result = engine.check(wohngeld_packet(iban="12345"), wohngeld)
    letter = applicant_letter(result, wohngeld)
    asks = [line for line in letter.splitlines() if line.startswith("- ")]
    assert len(asks) == 1 and "IBAN" in asks[0], letter


def test_nothing_to_ask(wohngeld: ApplicationType) -> None:
    letter = applicant_letter(engine.check(wohngeld_packet(), wohngeld), wohngeld)
    assert "keine Fragen" in letter and "- " not in letter


def test_plain_german_reaches_b1(defects: CheckResult, wohngeld: ApplicationType) -> None:
    """Threshold: the platform's own B1 target (rathaus.assistants.readability.TARGETS: Wiener Sachtextformel
    ≤ 7, ≤ 12 words per sentence, ≤ 20 % words of three or more syllables) – "Einfache Sprache" for citizens, where
    administrative letters usually score 12–16. The letter repeats the type's help texts, so this also holds the
    YAML's wording to plain language. The conventional letter asking for the same things fails the same test."""
    measured = rd.measure(applicant_letter(defects, wohngeld, name="Erika Müller"))
    assert rd.meets(measured, "B1"), measured
    official = rd.measure(OFFICIAL_STYLE)
    assert not rd.meets(official, "B1") and official.wstf > measured.wstf + 5, (official, measured)


def _typical_parking_defects() -> tuple[CheckResult, ApplicationType]:
    """Moved without updating the registration certificate, plate typed wrongly, form not signed."""
    app_type = shipped_types()["bewohnerparkausweis"]
    form = {"vorname": "Erika", "nachname": "Müller", "geburtsdatum": "1985-03-14", "strasse_hausnummer":
            "Lindwurmstraße 12", "plz": "80337", "ort": "München", "wohnsitzart": "hauptwohnsitz",
            "kennzeichen": "M-EM 1958", "fahrzeug_halter": "antragsteller", "kein_stellplatz": "ja",
            "antragsdatum": "2025-06-14", "unterschrift": "nein"}
    registration = doc("vehicle_registration", "zb1.jpg", license_plate="M EM 1985",
                       address="Dachauer Str. 90, 80335 München", **NAME)
    packet = Packet(SUBMITTED, {key: val(value) for key, value in form.items()}, [registration])
    return engine.check(packet, app_type), app_type


def _typical_residence_defects() -> tuple[CheckResult, ApplicationType]:
    """Passport expired, employer's declaration missing, surname spelled differently, form not signed."""
    app_type = shipped_types()["aufenthaltserlaubnis-beschaeftigung"]
    packet = residence_packet(nachname="Miller", unterschrift="nein")
    packet.documents = [d for d in packet.documents if d.kind != "employer_declaration"]
    passport = next(d for d in packet.documents if d.kind == "passport")
    passport.fields["expiry_date"] = val("2025-05-31", 0.95, passport.file, 1)
    return engine.check(packet, app_type), app_type


@pytest.mark.parametrize("defects_of", [_typical_parking_defects, _typical_residence_defects])
def test_plain_german_for_the_other_shipped_types(defects_of: Callable[[], tuple[CheckResult, ApplicationType]],
                                                  ) -> None:
    result, app_type = defects_of()
    letter = applicant_letter(result, app_type)
    asks = [line for line in letter.splitlines() if line.startswith("- ")]
    assert len(asks) >= 3, letter
    measured = rd.measure(letter)
    assert rd.meets(measured, "B1"), (measured, letter)


def test_english_letter_uses_the_types_english_texts(defects: CheckResult, wohngeld: ApplicationType) -> None:
    letter = applicant_letter(defects, wohngeld, "en", name="Erika Müller")
    assert letter.startswith("Hello Erika Müller,\n")
    assert "Housing benefit – first application for a rent subsidy" in letter
    assert "- Bank statement showing the rent payments." in letter
    assert "- Date of birth. Day, month and year" in letter
    assert "The IBAN is not correct." in letter
    assert "Bitte" not in letter and "Kontoauszug" not in letter


def test_other_languages_are_refused_with_a_clear_message(defects: CheckResult, wohngeld: ApplicationType) -> None:
    with pytest.raises(ValueError, match=r"translated from the German letter.*'tr'"):
        applicant_letter(defects, wohngeld, "tr")
