"""rathaus.checks.validators: MRZ check digits (property tests and the ICAO specimens), the MRZ finder on real
specimen images with the real Tesseract, IBANs, German dates and amounts, and name/address matching."""

from __future__ import annotations

import json
import os
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rathaus.checks.validators import (
    check_digit,
    find_mrz,
    match_address,
    match_birth_date,
    match_name,
    match_person_name,
    mrz_from_text,
    parse_amount,
    parse_date,
    parse_mrz,
    validate_iban,
)
from rathaus.checks.validators.dates import birth_date_problem, date_problem, expiry_problem
from rathaus.checks.validators.matching import NAME_DIFFERENT, NAME_SAME
from rathaus.checks.validators.mrz import (
    _VALUES,
    GERMAN_ID_ALPHABET,
    clean_filler_noise,
    clean_line,
    could_fit,
    line_readings,
    mrz_from_line_readings,
)
from rathaus.checks.validators.mrz_image import line_slots

TODAY = date(2026, 1, 15)
SPECIMENS = Path(os.environ.get("RATHAUS_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")) \
    / "mrz-specimens"
needs_specimens = pytest.mark.skipif(not SPECIMENS.exists(), reason=f"MRZ specimens not on this machine ({SPECIMENS}); "
                                     "they are test data outside the repository (shared/data/mrz-specimens)")

# ---------------------------------------------------------------------------------------------------- MRZ, generated

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALNUM = LETTERS + "0123456789"


def _cd(text: str) -> str:
    return str(check_digit(text))


def _yymmdd(d: date) -> str:
    return d.strftime("%y%m%d")


def make_mrz(fmt: str, number: str, birth: date, expiry: date, sex: str, nat: str, surname: str, given: str,
             optional: str) -> list[str]:
    """A valid MRZ of the format, check digits computed here (independently of parse_mrz's layout table)."""
    b, e = _yymmdd(birth), _yymmdd(expiry)
    if fmt == "TD3":
        names = f"{surname}<<{given}".ljust(39, "<")[:39]
        personal = optional[:14].ljust(14, "<")
        personal_cd = _cd(personal)
        head = number + _cd(number) + nat + b + _cd(b) + sex + e + _cd(e) + personal + personal_cd
        composite = _cd(head[0:10] + head[13:20] + head[21:43])
        return ["P<" + nat + names, head + composite]
    if fmt == "TD2":
        names = f"{surname}<<{given}".ljust(31, "<")[:31]
        opt = optional[:7].ljust(7, "<")
        head = number + _cd(number) + nat + b + _cd(b) + sex + e + _cd(e) + opt
        return ["I<" + nat + names, head + _cd(head[0:10] + head[13:20] + head[21:35])]
    line1 = ("ID" + nat + number + _cd(number) + optional[:15]).ljust(30, "<")
    middle = b + _cd(b) + sex + e + _cd(e) + nat + "<" * 11
    line2 = middle + _cd(line1[5:30] + middle[0:7] + middle[8:15] + middle[18:29])
    return [line1, line2, f"{surname}<<{given}".ljust(30, "<")[:30]]


mrz_args = st.fixed_dictionaries({
    "fmt": st.sampled_from(["TD1", "TD2", "TD3"]),
    "number": st.text(ALNUM, min_size=9, max_size=9),
    "birth": st.dates(date(1930, 1, 1), date(2025, 12, 31)),
    "expiry": st.dates(date(2000, 1, 1), date(2044, 12, 31)),
    "sex": st.sampled_from("MFX<"),
    "nat": st.sampled_from(["DEU", "UTO", "AUT", "FRA", "POL", "D<<"]),
    # names of 2+ letters, not only K's: OCR reads the filler '<' as K so often that a lone "K" between fillers is
    # taken as filler (clean_line) – a known limit for names that are a single K
    "surname": st.text(LETTERS, min_size=2, max_size=12).filter(lambda s: set(s) != {"K"}),
    "given": st.text(LETTERS, min_size=2, max_size=10).filter(lambda s: set(s) != {"K"}),
    # no "KK": several K next to fillers are taken as misread fillers (clean_line), a known limit
    "optional": st.text(ALNUM + "<", max_size=15).filter(lambda s: "KK" not in s),
})


def _covered_positions(fmt: str) -> list[tuple[int, int]]:
    """(line, position) covered by at least one check digit, including the check digits themselves."""
    if fmt == "TD1":
        return [(0, p) for p in range(5, 30)] + [(1, p) for p in (*range(0, 7), *range(8, 15), *range(18, 30))]
    last = 44 if fmt == "TD3" else 36
    return [(1, p) for p in (*range(0, 10), *range(13, 20), *range(21, last))]


@settings(max_examples=200, deadline=None)
@given(mrz_args)
def test_generated_mrz_is_valid_and_its_fields_come_back(args: dict) -> None:
    lines = make_mrz(**args)
    result = parse_mrz(lines, today=TODAY)
    assert result.format == args["fmt"]
    assert result.valid, result.messages
    assert result.document_number == args["number"].strip("<")
    assert result.birth_date == args["birth"].isoformat()
    assert result.expiry_date == args["expiry"].isoformat()
    assert result.surname == args["surname"] and result.given_names == args["given"]
    assert set(result.checks) >= {"document_number", "birth_date", "expiry_date", "composite"}
    assert result.corrections == []


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(mrz_args, st.data())
def test_one_corrupted_character_is_detected_without_correction(args: dict, data: st.DataObject) -> None:
    lines = make_mrz(**args)
    line, pos = data.draw(st.sampled_from(_covered_positions(args["fmt"])))
    old = lines[line][pos]
    new = data.draw(st.sampled_from(ALNUM + "<"))
    # ICAO 7-3-1 weights cannot see a change of the value by a multiple of 10 (0↔A↔K↔U, '<'↔0): excluded here
    assume((_VALUES[new] - _VALUES[old]) % 10 != 0)
    corrupted = list(lines)
    corrupted[line] = lines[line][:pos] + new + lines[line][pos + 1:]
    assert not parse_mrz(corrupted, today=TODAY, correct=False).valid


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(mrz_args, st.data())
def test_wrong_digit_in_dates_or_check_digits_stays_detected_with_correction(args: dict, data: st.DataObject) -> None:
    """Correction never "repairs" a wrong date or check digit away (it changes only ambiguous letters/digits in
    the document number and personal number, confirmed by their check digit *and* the composite)."""
    fmt = args["fmt"]
    digit_positions = ([(1, p) for p in (*range(0, 7), *range(8, 15), 29)] if fmt == "TD1"
                       else [(1, p) for p in (9, *range(13, 20), *range(21, 28), 43 if fmt == "TD3" else 35)])
    line, pos = data.draw(st.sampled_from(digit_positions))
    old = lines_old = make_mrz(**args)
    new = data.draw(st.sampled_from("0123456789"))
    shift = (int(new) - int(lines_old[line][pos])) % 10
    assume(shift != 0)
    # known limit: a document-number check digit off by exactly 5 can be matched by one O/0-like change
    assume(not (shift == 5 and (line, pos) in {(1, 9), (0, 14)}))
    corrupted = list(old)
    corrupted[line] = old[line][:pos] + new + old[line][pos + 1:]
    assert not parse_mrz(corrupted, today=TODAY).valid


CONFUSIONS = {"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B"}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(mrz_args, st.data())
def test_ocr_confusions_in_digit_fields_are_normalised(args: dict, data: st.DataObject) -> None:
    lines = make_mrz(**args)
    # a genuine lone K between fillers in the optional data (e.g. line 1 "…0<K<<<…" of a TD1 card) is read as a
    # misread filler by clean_line: K (20) and '<' (0) weigh the same in every check digit, so no check can tell
    # it from OCR noise – the documented limit, excluded here as in the filler-repair test (found by a CI run)
    assume(all(clean_line(line) == line for line in lines))
    fmt = args["fmt"]
    positions = ([(1, p) for p in (*range(0, 7), *range(8, 15))] if fmt == "TD1"
                 else [(1, p) for p in (*range(13, 20), *range(21, 28))])
    line, pos = data.draw(st.sampled_from(positions))
    assume(lines[line][pos] in CONFUSIONS)
    ocr = list(lines)
    ocr[line] = lines[line][:pos] + CONFUSIONS[lines[line][pos]] + lines[line][pos + 1:]
    result = parse_mrz(ocr, today=TODAY)
    assert result.valid and list(result.lines) == lines
    assert len(result.corrections) == 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(mrz_args, st.data())
def test_confusion_in_document_number_is_corrected_only_to_the_truth(args: dict, data: st.DataObject) -> None:
    """A digit of the document number read as its look-alike letter: the reading is restored when a check digit
    confirms one reading; when several readings fit, nothing is changed and the MRZ stays invalid – never valid with
    a wrong number."""
    assume(not set(args["number"]) & set("OQD"))
    if args["fmt"] == "TD1" and args["nat"] == "D<<":  # a German ID card: its numbers use GERMAN_ID_ALPHABET only
        assume(set(args["number"]) <= GERMAN_ID_ALPHABET)
    lines = make_mrz(**args)
    line, start = (0, 5) if args["fmt"] == "TD1" else (1, 0)
    pos = data.draw(st.sampled_from(range(start, start + 9)))
    assume(lines[line][pos] in CONFUSIONS)
    ocr = list(lines)
    ocr[line] = lines[line][:pos] + CONFUSIONS[lines[line][pos]] + lines[line][pos + 1:]
    result = parse_mrz(ocr, today=TODAY)
    if result.valid:
        assert result.document_number == args["number"].strip("<")
    else:
        assert "Prüfziffer Dokumentennummer stimmt nicht" in result.messages


# ---------------------------------------------------------------------------------------------------- MRZ, fixed


@needs_specimens
def test_icao_specimen_strings() -> None:
    entries = json.loads((SPECIMENS / "mrz_strings_checked.json").read_text())
    assert len(entries) >= 5
    for entry in entries:
        result = parse_mrz(entry["lines"], today=TODAY)
        assert result.valid is entry["all_valid"], entry["name"]
        for name, (read, computed) in entry.get("checks", {}).items():
            key = {"number": "document_number", "dob": "birth_date", "expiry": "expiry_date",
                   "personal": "personal_number", "composite": "composite"}[name]
            assert result.checks[key] is (read == computed or (key == "personal_number" and read == "<"))
    td3 = parse_mrz(entries[0]["lines"], today=TODAY)
    assert (td3.format, td3.surname, td3.given_names, td3.document_number) == ("TD3", "ERIKSSON", "ANNA MARIA",
                                                                                "L898902C3")
    assert (td3.birth_date, td3.expiry_date, td3.sex, td3.nationality) == ("1974-08-12", "2012-04-15", "F", "UTO")
    negative = parse_mrz(entries[-1]["lines"], today=TODAY)
    assert negative.checks == {"document_number": True, "birth_date": True, "expiry_date": True, "composite": False}
    assert negative.messages == ["Prüfziffer Gesamtprüfziffer stimmt nicht"]


GERMAN_ID = ["IDD<<T220001293<<<<<<<<<<<<<<<", "6408125<2010315D<<<<<<<<<<<<<4", "MUSTERMANN<<ERIKA<<<<<<<<<<<<<"]


def test_german_id_card() -> None:
    result = parse_mrz(GERMAN_ID, today=TODAY)
    assert result.valid and result.german_id_card
    assert (result.issuing_state, result.nationality, result.document_number) == ("D", "D", "T22000129")
    assert (result.surname, result.given_names, result.birth_date, result.expiry_date) == (
        "MUSTERMANN", "ERIKA", "1964-08-12", "2020-10-31")
    assert result.document_fields()["mrz_valid"] == "true"
    # O for 0 in the number: the card's alphabet has no O, so it is a 0 without asking the check digit
    ocr = ["IDD<<T22OOO1293<<<<<<<<<<<<<<<", GERMAN_ID[1], GERMAN_ID[2]]
    fixed = parse_mrz(ocr, today=TODAY)
    assert fixed.valid and fixed.document_number == "T22000129" and len(fixed.corrections) == 3
    assert not parse_mrz(ocr, today=TODAY, correct=False).valid


def test_centuries_of_two_digit_years() -> None:
    result = parse_mrz(GERMAN_ID, today=TODAY)
    assert result.birth_date == "1964-08-12"  # 2064 would be in the future
    lines = make_mrz("TD1", "T22000129", date(2010, 3, 1), date(2045, 6, 30), "F", "D<<", "A", "B", "")
    late = parse_mrz(lines, today=TODAY)
    assert late.birth_date == "2010-03-01" and late.expiry_date == "2045-06-30"  # expiry up to 20 years ahead
    lines = make_mrz("TD1", "T22000129", date(1950, 3, 1), date(1999, 6, 30), "F", "D<<", "A", "B", "")
    assert parse_mrz(lines, today=TODAY).expiry_date == "1999-06-30"  # 2099 is more than 20 years ahead


def test_not_an_mrz_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"erwartet 3×30.*gelesen 12 \+ 7"):
        parse_mrz(["P<UTOERIKSSO", "L898902"])
    with pytest.raises(ValueError, match="keine Zeilen"):
        parse_mrz("")


def test_mrz_from_ocr_text_repairs_lengths_and_fillers() -> None:
    text = ("REISEPASS PASSPORT\nP<UTOERIKSSON<<ANNA<MARIA<<<KKK<<<<<<<<<<<<<<\n"
            "L898902C36UTO7408122F1204159ZE184226B<<<<1O\n")  # line 2 lost a '<', 0 read as O
    result = mrz_from_text(text, today=TODAY)
    assert result is not None and result.valid
    assert result.lines[1] == "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
    assert (result.surname, result.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert mrz_from_text("Sehr geehrte Damen und Herren,\nbitte senden Sie mir\n", today=TODAY) is None


# The Macau ID card specimen (PassportEye's 100_id-mac.jpg) as Tesseract read it in two passes: the first pass
# misreads the optional data (9212300), the second the run of fillers in line 2 ('SSSSK' for '<<<<<').
MAC_TRUTH = ["I<MAC12281507<0<<<<<<<<0212300", "6106225M1212307<<<<<<<<<<<<<<6", "CHONG<<KA<KEONG<<<<<<<<<<<<<<<"]
MAC_PASS_1 = "1<MAC12281507<0<<<<<<<<9212300\n6106225M1212307<<<<<<SSSSK<G\nCHONG<<KA<KEONG<<<<<<6SSKEKEKK\n"
MAC_PASS_2 = "1<MAC12281507<0<<<<<<<<0212300\n6106225M1212307<<<<<<KK\nCHONG<<KA<KEONG<<<<<<\n"


def test_look_alike_letters_in_a_run_of_fillers() -> None:
    assert clean_filler_noise("6106225M1212307<<<<<<SSSSE<6") == "6106225M1212307" + "<" * 12 + "6"
    assert clean_filler_noise("IDD<<K000000000<<<<<<<") == "IDD<<K000000000<<<<<<<"  # K before a digit stays
    assert clean_filler_noise("ABC<<SSSSSE<1") == "ABC<<SSSSSE<1"  # less than half of the run is '<'
    assert clean_filler_noise("<<<<<<5<<<<<4") == "<<<<<<5<<<<<4"  # digits are kept: they may be check digits
    assert clean_filler_noise("ERIKSSON<<ANNA<<<") == "ERIKSSON<<ANNA<<<"


def test_line_readings_repair_long_misread_runs_and_a_spurious_first_character() -> None:
    truth = "8102287F1301014CHE<<<<<<<<<<<4"
    assert truth in line_readings("8102287F1301014CHE<<<<<<4", 30, names_line=False)  # 5 fillers lost
    assert truth in line_readings("B8102287F1301014CHE<<<<<<<<<<<<<4", 30, names_line=False)  # edge + 2 extra
    assert truth in line_readings("8102287F1301014CHE<<<<SSEK<<<4", 30, names_line=False)
    assert line_readings("VADIS<<QUO<<<", 30, names_line=True) == ["VADIS<<QUO" + "<" * 20]
    assert could_fit("IDCHESOOD2068<8<<<<<<<<<", 30)  # 25 characters, a run of fillers to grow
    assert not could_fit("6106225M1212307<<<<<<<<<<<<<<6", 36)  # 30 is a TD1 line, not a TD2 line read short


def test_one_pass_with_noise_is_not_valid_but_two_passes_combined_are() -> None:
    for text in (MAC_PASS_1, MAC_PASS_2):
        result = mrz_from_text(text, today=TODAY)
        assert result is None or not result.valid
    slots = line_slots([MAC_PASS_1, MAC_PASS_2])
    assert [slot[0][:5] for slot in slots] == ["1<MAC", "61062", "CHONG"]
    result = mrz_from_line_readings(slots, today=TODAY)
    assert result is not None and result.valid
    assert list(result.lines[:2]) == MAC_TRUTH[:2]  # the names line keeps its noise (no check digit covers it)
    assert (result.document_number, result.birth_date, result.expiry_date) == ("12281507", "1961-06-22", "2012-12-30")
    assert (result.surname, result.given_names) == ("CHONG", "KA KEONG")


# derandomized: the same 300 examples in every run (a random run found the two limits handled above); before
# changing the repair, explore without derandomize and with many more examples
@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.filter_too_much])
@given(mrz_args, st.data())
def test_noisy_fillers_are_read_back_and_a_wrong_digit_stays_wrong(args: dict, data: st.DataObject) -> None:
    """The tail of fillers in line 2 of a TD1 card read with look-alike letters and miscounted: the true MRZ comes
    back; the same with one wrong date or check digit is never valid."""
    assume(args["fmt"] == "TD1")
    # known limit: optional data of look-alike letters between fillers ("<<CC<<") may be read as fillers when the
    # composite cannot tell them apart (C = 12 at weights 7 and 3: 120 ≡ 0)
    assume(not re.search(r"<<[KSECXLG]", "<<" + args["optional"]))
    lines = make_mrz(**args)
    # the same limit in line 1's optional data (positions 16-30): a K (value 20) read as '<' (0) changes no check
    # digit at any weight, so a genuine K after fillers cannot be told from noise (found by this test in CI)
    assume(not re.search(r"<[KSECXLG]", lines[0][15:]))
    assume("<" in lines[0] or sum(c.isdigit() for c in lines[0]) > 8)  # else line 1 does not look like an MRZ line
    noise = data.draw(st.text("<<<<SEK", min_size=2, max_size=7).filter(lambda t: 2 * t.count("<") >= len(t)))
    # 11 fillers read as 5–13 characters (a line of 32 or more would be nearer the 36 of TD2: a known limit)
    tail = "<<" + noise + "<" * data.draw(st.integers(1, 4))
    ocr = [lines[0], lines[1][:18] + tail + lines[1][29], lines[2]]
    result = mrz_from_text("\n".join(ocr), today=TODAY)
    assert result is not None and result.valid and list(result.lines[:2]) == lines[:2], ocr
    pos = data.draw(st.sampled_from([*range(0, 7), *range(8, 15)]))
    wrong = str((int(ocr[1][pos]) + data.draw(st.integers(1, 9))) % 10)
    ocr[1] = ocr[1][:pos] + wrong + ocr[1][pos + 1:]
    result = mrz_from_text("\n".join(ocr), today=TODAY)
    assert result is None or not result.valid


# ---------------------------------------------------------------------------------------------------- MRZ, images


@needs_specimens
@pytest.mark.parametrize("name,number", [("passport-td3.png", "L898902C3"), ("passport-td2.jpg", "D23145890")])
def test_find_mrz_on_specimen_image(name: str, number: str) -> None:
    from PIL import Image

    result = find_mrz(Image.open(SPECIMENS / "images" / name), today=TODAY)
    assert result is not None and result.valid
    assert result.document_number == number and result.birth_date == "1974-08-12"


@needs_specimens
@pytest.mark.parametrize("name,number,birth", [("100_id-che.jpg", "S0002068", "1981-02-28"),
                                               ("100_id-mac.jpg", "12281507", "1961-06-22")])
def test_find_mrz_on_small_id_cards(name: str, number: str, birth: str) -> None:
    """282 pixels wide, characters 8 pixels high: no single OCR pass reads the MRZ, the passes combined do."""
    from PIL import Image

    result = find_mrz(Image.open(SPECIMENS / "testdata" / name), today=TODAY)
    assert result is not None and result.valid
    assert (result.format, result.document_number, result.birth_date) == ("TD1", number, birth)


@needs_specimens
def test_find_mrz_on_a_page_turned_upside_down_and_sideways() -> None:
    from PIL import Image

    image = Image.open(SPECIMENS / "images" / "passport-td3.png")
    for angle in (180, 90):
        result = find_mrz(image.rotate(angle, expand=True), today=TODAY)
        assert result is not None and result.valid and result.document_number == "L898902C3", angle


def test_find_mrz_on_a_page_without_mrz_returns_none() -> None:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (800, 500), "white")
    ImageDraw.Draw(image).text((40, 40), "Mietvertrag zwischen Herrn Meier und Frau Schulze", fill="black")
    assert find_mrz(image, today=TODAY) is None


# ---------------------------------------------------------------------------------------------------- IBAN


def test_iban_valid_with_bank_tolerates_spaces_and_lower_case() -> None:
    result = validate_iban(" de89 3704 0044 0532 0130 00 ")
    assert result.valid and result.normalised == "DE89370400440532013000"
    assert result.formatted == "DE89 3704 0044 0532 0130 00"
    assert result.bank_name == "Commerzbank" and result.bic == "COBADEFFXXX"


@pytest.mark.parametrize("text,error,message", [
    ("DE89370400440532013001", "checksum", "Prüfziffer der IBAN stimmt nicht"),  # last digit typed wrong
    ("DE89370400440523013000", "checksum", "Prüfziffer"),  # two digits swapped
    ("DE8937040044053201300", "length", "21 Zeichen (eine IBAN aus DE hat 22 Zeichen)"),
    ("XX89370400440532013000", "country", "Unbekanntes Länderkürzel 'XX'"),
    ("", "empty", "Keine IBAN angegeben"),
    ("Kontonummer 1234", "structure", "Keine IBAN"),
])
def test_iban_errors_are_told_apart(text: str, error: str, message: str) -> None:
    result = validate_iban(text)
    assert not result.valid and result.error == error and message in result.message


# ---------------------------------------------------------------------------------------------------- dates, amounts


@pytest.mark.parametrize("text,expected", [
    ("01.02.2026", date(2026, 2, 1)), ("1.2.2026", date(2026, 2, 1)), ("1. Februar 2026", date(2026, 2, 1)),
    ("1. Feb. 2026", date(2026, 2, 1)), ("2026-02-01", date(2026, 2, 1)), ("geb. am 3. März 1980", date(1980, 3, 3)),
    ("12.08.74", date(1974, 8, 12)), ("31.02.2026", None), ("kein Datum", None),
])
def test_german_dates(text: str, expected: date | None) -> None:
    assert parse_date(text, today=TODAY, past=True) == expected


def test_date_plausibility() -> None:
    assert birth_date_problem(date(2030, 1, 1), today=TODAY) == "Geburtsdatum 01.01.2030 liegt in der Zukunft"
    assert "nicht plausibel" in (birth_date_problem(date(1880, 1, 1), today=TODAY) or "")
    assert "Mindestalter von 18" in (birth_date_problem(date(2010, 1, 1), today=TODAY, min_age=18) or "")
    assert birth_date_problem(date(1980, 1, 1), today=TODAY, min_age=18) is None
    assert date_problem(date(2025, 9, 1), today=TODAY, max_age_days=90, what="Lohnabrechnung") == (
        "Lohnabrechnung 01.09.2025 ist älter als 90 Tage")
    assert date_problem(date(2025, 12, 1), today=TODAY, max_age_days=90) is None
    assert expiry_problem(date(2026, 1, 14), on=TODAY) == "Dokument abgelaufen am 14.01.2026"
    assert expiry_problem(TODAY, on=TODAY) is None


@pytest.mark.parametrize("text,expected", [
    ("1.234,56 €", "1234.56"), ("EUR 1234,56", "1234.56"), ("1 234,56", "1234.56"), ("-12,50", "-12.50"),
    ("1234.56", "1234.56"), ("1.234", "1234"), ("Nettobezug: 2.345,67 EUR", "2345.67"), ("abc", None),
    ("1.23.4,5", None),
])
def test_german_amounts(text: str, expected: str | None) -> None:
    value = parse_amount(text)
    assert (str(value) if value is not None else None) == expected
    if value is not None:
        assert value == Decimal(expected or "0")


# ---------------------------------------------------------------------------------------------------- matching


@pytest.mark.parametrize("a,b", [
    ("Müller", "MUELLER"), ("Müller", "MULLER"), ("Strauß", "STRAUSS"), ("José", "JOSE"),
    ("Jean-Luc", "JEAN<LUC"), ("Anna Maria", "MARIA ANNA"), ("Müller", "Mülller"),  # order; one OCR insertion
])
def test_names_that_are_the_same(a: str, b: str) -> None:
    match = match_name(a, b)
    assert match.verdict == "same" and match.similarity >= NAME_SAME


@pytest.mark.parametrize("a,b", [("Müller", "Miller"), ("Meier", "Meyer"), ("Erika", "Erlka"),
                                 ("Schmidt", "Schmitt"), ("Anna Maria", "Anna")])
def test_names_that_a_person_should_look_at(a: str, b: str) -> None:
    assert match_name(a, b).verdict == "unsure"


@pytest.mark.parametrize("a,b", [("Schmidt", "Schneider"), ("Hans", "Jens"), ("Müller", "Wagner")])
def test_names_that_differ(a: str, b: str) -> None:
    match = match_name(a, b)
    assert match.verdict == "different" and match.similarity < NAME_DIFFERENT


def test_person_name_form_against_mrz() -> None:
    assert match_person_name("Jörg-Peter", "Weiß", "JOERG PETER", "WEISS").verdict == "same"
    assert match_person_name("Erika", "Mustermann", "ERIKA", "MUSTERFRAU").verdict in ("different", "unsure")
    assert match_person_name("Erika", "Mustermann", "HANS", "MUSTERMANN").verdict == "different"


def test_birth_dates() -> None:
    assert match_birth_date("1974-08-12", "12.08.1974").verdict == "same"
    assert match_birth_date("1974-08-12", "1974-08-13").verdict == "unsure"  # one digit: OCR?
    assert match_birth_date("1974-08-12", "08.12.1974").reason.startswith("Tag und Monat")
    assert match_birth_date("1974-08-12", "1980-01-01").verdict == "different"


@pytest.mark.parametrize("a,b,verdict", [
    ("Hauptstraße 5, 80331 München", "Hauptstr. 5, 80331 München", "same"),
    ("Müllerstr. 12a, 80469 München", "Muellerstrasse 12 a, 80469 Muenchen", "same"),
    ("Hauptstraße 5, 80331 München", "Hauptstraße 7, 80331 München", "different"),
    ("Hauptstraße 5, 80331 München", "Bahnhofstraße 5, 80331 München", "different"),
    ("Hauptstraße 5, 80331 München", "Hauptstraße 5, 80333 München", "unsure"),  # one digit: OCR?
    ("Hauptstraße 5, 80331 München", "Hauptstraße 5, 10115 Berlin", "different"),
])
def test_addresses(a: str, b: str, verdict: str) -> None:
    assert match_address(a, b).verdict == verdict
