"""The vehicle registration certificate (Zulassungsbescheinigung Teil I): its entries read from OCR-like rows
(garbled field codes, a letter of a label misread, the address over two rows, rows of a tilted photo out of
order), and the whole way with the real Tesseract on generated parking-permit packets."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rathaus.checks.definitions import shipped_types
from rathaus.checks.document_fields import extract
from rathaus.checks.engine import check
from rathaus.checks.layout import PageView, ReadPage
from rathaus.checks.model import PageText

WORD_HEIGHT = 20
CHAR_WIDTH = 11


def ocr_page(rows: list[list[str]], confidence: float = 0.9) -> ReadPage:
    """A page as OCR gives it: each row a list of cells (code, label, value) at fixed columns, each word with its
    box, so that the rows are rebuilt from the boxes as on a scan."""
    words: list[tuple[str, tuple[int, int, int, int], float]] = []
    for number, cells in enumerate(rows):
        y = 40 + number * 36
        for column, cell in enumerate(cells):
            x = 30 + column * 260 if len(cells) > 1 else 550
            for word in cell.split():
                width = CHAR_WIDTH * len(word)
                words.append((word, (x, y, x + width, y + WORD_HEIGHT), confidence))
                x += width + CHAR_WIDTH
    text = "\n".join("  ".join(cells) for cells in rows)
    return ReadPage(PageText("fahrzeugschein.jpg", 1, text, confidence, "ocr", words=words))


def values(page: ReadPage) -> dict[str, str]:
    return {key: value.value for key, value in extract("vehicle_registration", [page]).items()}


HEAD = [["Zulassungsbescheinigung Teil I"], ["Europäische Gemeinschaft - Bundesrepublik Deutschland"]]


def test_garbled_field_codes_and_a_two_row_address() -> None:
    page = ocr_page([*HEAD,
                     ["A", "Amtliches Kennzeichen", "OG-GV-764"],
                     ["B", "Datum der Erstzulassung", "15.03.2020"],
                     ["(Cob adl", "Name oder Firmenname", "MÜHLE"],
                     ["#172", "Vorname(n)", "FRANCO"],
                     ["Genk)", "Anschrift", "MEYERALLEE 59"],
                     ["56262 EGGENFELDEN"],
                     ["D.al", "Marke", "BMW"],
                     ["|", "Datum dieser Zulassung", "01.09.2022"],
                     ["Nächste HU", "03/2027"]])
    assert values(page) == {"license_plate": "OG-GV-764", "first_registration_date": "2020-03-15",
                            "surname": "Mühle", "given_names": "Franco",
                            "address": "Meyerallee 59, 56262 Eggenfelden", "issue_date": "2022-09-01",
                            "inspection_due": "2027-03"}
    fields = extract("vehicle_registration", [page])
    assert fields["address"].confidence >= 0.6 and fields["address"].evidence.bbox is not None
    assert "MEYERALLEE" in fields["address"].evidence.snippet


def test_misread_labels_and_an_address_on_one_row() -> None:
    page = ocr_page([*HEAD,
                     ["Amtliches Kennzeichen", "M-EM 1985"],
                     ["Gil", "Narne oder Firmenname", "Müller"],
                     ["E12", "Vornameln)", "Erika Maria"],
                     ["C.2.3", "Anschritt", "Lindwurmstraße 12, 80337 München"]])
    assert values(page) == {"license_plate": "M-EM 1985", "surname": "Müller", "given_names": "Erika Maria",
                            "address": "Lindwurmstraße 12, 80337 München"}


def test_the_two_dates_go_to_their_own_labels() -> None:
    view = PageView(ocr_page([["I", "Datum dieser Zulassung", "01.09.2022"],
                              ["B", "Datum der Erstzulassung", "15.03.2020"]]))
    rows = view.label_rows({"first": "Datum der Erstzulassung", "this": "Datum dieser Zulassung"})
    assert rows["first"][0] == 1 and rows["this"][0] == 0


def test_rows_of_a_tilted_photo_values_beside_their_labels() -> None:
    """A tilted photo may put a value on the row above its label and the address label between street and town."""
    page = ocr_page([*HEAD,
                     ["KG-UE-299"],
                     ["Amtliches Kennzeichen"],
                     ["Name oder Firmenname", "HARLOFF"],
                     ["HESSSTR. 37"],
                     ["Anschrift"],
                     ["23842 OCHSENFURT"],
                     ["30.10.2023"],
                     ["Datum dieser Zulassung"]])
    read = extract("vehicle_registration", [page])
    assert {key: value.value for key, value in read.items()} == {
        "license_plate": "KG-UE-299", "surname": "Harloff", "address": "Hessstr. 37, 23842 Ochsenfurt",
        "issue_date": "2023-10-30"}
    assert read["address"].confidence < read["surname"].confidence  # found without its label: less sure


def test_a_company_has_no_given_names_and_a_garbled_neighbour_is_no_name() -> None:
    company = ocr_page([["C.1.1", "Name oder Firmenname", "LINDAU HERRMANN GMBH"], ["C.1.2", "Vorname(n)", "–"]])
    assert values(company) == {"surname": "Lindau Herrmann Gmbh"}
    # the holder's name not read: the next row (another label, misread beyond recognition) is not taken for it
    lost = ocr_page([["Name oder Firmenname"], ["\\omameln)", "FIEBIG"], ["Anschrift", "HAUPTSTR. 5"],
                     ["80331 MÜNCHEN"]])
    assert values(lost) == {"address": "Hauptstr. 5, 80331 München"}


# --- the whole way: generated parking-permit packets, real Tesseract ------------------------------------------

def _checked(tmp_path: Path, defect: str | None) -> dict[str, str]:
    from rathaus.checks import ocr
    from rathaus.checks.intake import read_packet
    from rathaus.checks.synthetic import make_packet

    try:
        ocr.tessdata_path()
    except ocr.OcrUnavailable as exc:
        pytest.skip(str(exc))
    parking = shipped_types()["bewohnerparkausweis"]
    folder = tmp_path / (defect or "ok")
    entry = make_packet(folder, folder.name, parking, seed=2, level="moderate", defect=defect)
    assert entry["form"]["fahrzeug_halter"] == "antragsteller"  # the holder rules apply
    files = [(name, (folder / name).read_bytes()) for name in entry["files"]]
    packet = read_packet(files, date.fromisoformat(entry["submitted_on"]))
    registration = next(doc for doc in packet.documents if doc.kind == "vehicle_registration")
    truth = next(doc["fields"] for doc in entry["documents"] if doc["kind"] == "vehicle_registration")
    assert registration.fields["surname"].value.casefold() == truth["surname"].casefold()
    return {item.requirement: item.status for item in check(packet, parking).items}


def test_generated_parking_packet_with_an_address_mismatch_is_invalid(tmp_path: Path) -> None:
    statuses = _checked(tmp_path, "address_mismatch")
    assert statuses["rule:anschrift_wie_zulassung"] == "invalid"
    assert statuses["rule:halter_ist_antragsteller"] == "satisfied"


def test_generated_clean_parking_packet_is_satisfied(tmp_path: Path) -> None:
    statuses = _checked(tmp_path, None)
    assert statuses["rule:anschrift_wie_zulassung"] == "satisfied"
    assert statuses["rule:halter_ist_antragsteller"] == "satisfied"
    assert statuses["rule:kennzeichen_wie_zulassung"] == "satisfied"
