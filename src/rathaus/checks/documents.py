"""Which document is each page, and which pages make one document.

Each page gets a score per kind from weighted evidence – title words ("Verdienstabrechnung", "Mietvertrag",
"Meldebestätigung", …), typical labels, and the document code of a machine-readable zone (P: passport, I: ID
card, AR/IR/R: residence permit) – and the best kind wins; its confidence grows with the score and shrinks with a
close second and a poorly read page. Kinds not in ``model.DOCUMENT_KINDS`` are never returned.

Consecutive pages form one document when they are of the same kind (or a page with no evidence of its own that
continues a "Seite n von m" count); a page "Seite 1 von m", a different payslip month, or a full count starts a
new one. The two sides of a card uploaded as two files are joined. Then the fields are read per kind
(:mod:`rathaus.checks.document_fields`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from rathaus.checks.document_fields import ID_KINDS, extract, validator
from rathaus.checks.layout import ReadPage
from rathaus.checks.model import DOCUMENT_KINDS, Document

_W = list[tuple[str, float]]
#: evidence per kind: (regular expression on the page text, weight); titles weigh most
EVIDENCE: dict[str, _W] = {
    "id_card": [(r"personalausweis", 5), (r"identity card", 3), (r"carte d.identit", 2),
                (r"beh[öo]rde\s*/\s*authority", 2)],
    "passport": [(r"reisepass", 5), (r"\bpassport\b", 3), (r"passeport", 2), (r"typ\s*/\s*type", 1)],
    "residence_permit": [(r"aufenthaltstitel", 5), (r"residence permit", 3), (r"titre de s[ée]jour", 2),
                         (r"niederlassungserlaubnis", 3), (r"art des titels", 2)],
    "payslip": [(r"verdienstabrechnung|entgeltabrechnung|gehaltsabrechnung|lohnabrechnung|bez[üu]gemitteilung|"
                 r"abrechnung der brutto", 6), (r"gesamtbrutto", 2), (r"auszahlungsbetrag", 2), (r"lohnsteuer", 1),
                (r"steuerklasse", 1), (r"personalnummer", 1), (r"summe abz[üu]ge|gesetzliche abz[üu]ge", 1)],
    "rental_contract": [(r"mietvertrag", 6), (r"\bvermieter", 1.5), (r"\bmieter\b", 1.5), (r"mietsache", 1.5),
                        (r"kaution", 1), (r"grundmiete|nettokaltmiete", 1), (r"wohnfl[äa]che", 0.5),
                        (r"sch[öo]nheitsreparaturen|hausordnung", 1)],
    "bank_statement": [(r"kontoauszug", 6), (r"(?:alter|neuer) kontostand", 2), (r"buchungstext|buchungstag|"
                       r"wertstellung", 1.5), (r"kontoinhaber", 1)],
    "registration_certificate": [(r"meldebest[äa]tigung|meldebescheinigung|melderegisterauskunft", 6),
                                 (r"bundesmeldegesetz|meldebeh[öo]rde", 2), (r"einzugsdatum|wohnungsstatus", 1.5)],
    "pension_notice": [(r"rentenbescheid|rentenanpassung|renteninformation|h[öo]he ihrer rente", 6),
                       (r"rentenversicherung", 1.5), (r"altersrente|zahlbetrag", 1.5),
                       (r"versicherungsnummer", 1)],
    "employer_declaration": [(r"erkl[äa]rung zum besch[äa]ftigungsverh[äa]ltnis", 7),
                             (r"arbeitgeberbescheinigung|arbeitgebererkl[äa]rung|bescheinigung des arbeitgebers", 6),
                             (r"angaben zum arbeitgeber", 2), (r"betriebsnummer", 1),
                             (r"erkl[äa]rung des arbeitgebers", 2)],
    "vehicle_registration": [(r"zulassungsbescheinigung", 6), (r"fahrzeugschein", 5),
                             (r"amtliches kennzeichen", 2), (r"fahrzeug-?identifizierungsnummer|erstzulassung", 2)],
    "employment_contract": [(r"arbeitsvertrag", 6), (r"\barbeitnehmer", 1), (r"probezeit", 1.5),
                            (r"k[üu]ndigungsfrist", 1), (r"verg[üu]tung", 1)],
    "qualification_certificate": [(r"zeugnisbewertung", 6), (r"berufsaus[üu]bungserlaubnis|approbation", 6),
                                  (r"abschlusszeugnis|diplom|hochschulabschluss|anerkennungsbescheid", 3),
                                  (r"anabin|zentralstelle f[üu]r ausl[äa]ndisches bildungswesen", 2)],
    "health_insurance_certificate": [(r"mitgliedsbescheinigung|versicherungsbescheinigung|versicherungsnachweis", 6),
                                     (r"krankenkasse|krankenversicherung", 1), (r"versichertennummer", 1.5),
                                     (r"mitglied seit", 1.5)],
    "form": [(r"\bantrag auf\b|\berstantrag\b|\bantragsteller", 3), (r"\bformular\b", 1)],
}
#: evidence shared by identity documents (the visual zone of ID card, passport and residence permit)
_ID_SHARED: _W = [(r"name\s*/\s*surname", 1.5), (r"given names", 1.5), (r"date of birth", 1),
                  (r"date of expiry|valid until", 1)]
_COMPILED = {kind: [(re.compile(p, re.IGNORECASE), w) for p, w in items] for kind, items in EVIDENCE.items()}
_ID_COMPILED = [(re.compile(p, re.IGNORECASE), w) for p, w in _ID_SHARED]
MRZ_WEIGHT = 8.0
MIN_SCORE = 2.0  # below: "unknown"
CARD_KINDS = ("id_card", "residence_permit")  # two sides, often two files
_PAGE_OF = re.compile(r"(?:Seite|Page|S\.)\s*(\d{1,3})\s*(?:von|of|/)\s*(\d{1,3})", re.IGNORECASE)


@dataclass
class PageKind:
    kind: str
    confidence: float
    scores: dict[str, float] = field(default_factory=dict)
    mrz: Any = None
    page_of: tuple[int, int] | None = None


def recognise(pages: list[ReadPage]) -> list[Document]:
    """The documents of a packet's pages (in upload order), each with its kind, confidence and fields."""
    kinds = [classify(page) for page in pages]
    documents: list[Document] = []
    members: list[list[int]] = []
    for index in range(len(pages)):
        if members and _continues(pages, kinds, members[-1], index):
            members[-1].append(index)
            continue
        members.append([index])
    for group in members:
        group_kinds = [kinds[i] for i in group]
        known = [k for k in group_kinds if k.kind != "unknown"]
        kind = known[0].kind if known else "unknown"
        confidence = max((k.confidence for k in known), default=group_kinds[0].confidence)
        group_pages = [pages[i] for i in group]
        mrz = next((k.mrz for k in group_kinds if k.mrz is not None), None)
        fields = extract(kind, group_pages, mrz) if kind not in ("unknown", "photo", "form") else {}
        documents.append(Document(file=group_pages[0].text.file, kind=kind, confidence=round(confidence, 3),
                                  pages=[p.text for p in group_pages], fields=fields))
    return documents


def classify(page: ReadPage) -> PageKind:
    """The kind of one page with its confidence (0..1) and the scores behind it."""
    text = page.text.text
    scores = {kind: sum(w for regex, w in items if regex.search(text)) for kind, items in _COMPILED.items()}
    shared = sum(w for regex, w in _ID_COMPILED if regex.search(text))
    mrz = find_mrz(page) if _may_have_mrz(page) else None
    if shared:
        for kind in ID_KINDS:
            scores[kind] += shared
    if mrz is not None:
        code_kind = _kind_of_mrz(mrz)
        if code_kind:
            scores[code_kind] += MRZ_WEIGHT if getattr(mrz, "valid", False) else MRZ_WEIGHT / 2
    if "photo" in DOCUMENT_KINDS and looks_like_photo(page):
        scores["photo"] = 4.0
    scores = {kind: score for kind, score in scores.items() if kind in DOCUMENT_KINDS and score > 0}
    page_of = _page_of(text)
    if not scores:
        return PageKind("unknown", 0.9 if text.strip() else 0.5, {}, mrz, page_of)
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    best_kind, best = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if best < MIN_SCORE:
        return PageKind("unknown", round(0.5 + 0.4 * math.exp(-best), 3), scores, mrz, page_of)
    confidence = (1 - math.exp(-best / 2.5)) * best / (best + second)
    if page.text.source == "ocr" and best_kind != "photo":
        confidence *= min(1.0, 0.4 + page.text.confidence)
    return PageKind(best_kind, round(confidence, 3), scores, mrz, page_of)


def find_mrz(page: ReadPage) -> Any:
    """The MRZ of a page (rathaus.checks.validators): from the OCR text first (cheap), and when that gives no
    valid one, by the validators' own MRZ finder on the page image."""
    result = None
    from_text = validator("mrz", "mrz_from_text")
    if from_text is not None:
        try:
            result = from_text(page.text.text)
        except ValueError:
            result = None
    if (result is None or not getattr(result, "valid", False)) and page.image is not None:
        from_image = validator("mrz_image", "find_mrz") or validator("mrz", "find_mrz")
        if from_image is not None:
            try:
                found = from_image(page.image)
            except (ValueError, RuntimeError):
                found = None
            if found is not None and (result is None or getattr(found, "valid", False)):
                result = found
    return result


def _may_have_mrz(page: ReadPage) -> bool:
    text = page.text.text
    if "<<" in text or re.search(r"[A-Z0-9<]{25,}", text):
        return True
    return bool(re.search(r"personalausweis|reisepass|passport|aufenthaltstitel|residence permit|identity card",
                          text, re.IGNORECASE))


def _kind_of_mrz(mrz: Any) -> str | None:
    code = str(getattr(mrz, "document_code", "") or "").upper()
    if code.startswith("P"):
        return "passport"
    if code.startswith(("AR", "IR", "RP", "R", "A")) or code in ("IT",):
        return "residence_permit"
    if code.startswith(("I", "C")):
        return "id_card"
    return None


def looks_like_photo(page: ReadPage) -> bool:
    """A passport photo: almost no text, portrait format about 35 × 45 mm."""
    if page.image is None or len(page.text.words) > 4:
        return False
    width, height = page.image.size
    return 0.74 <= width / height <= 0.82  # 35 × 45 mm is 0.78; an A4 scan (0.71) is no photo


def _page_of(text: str) -> tuple[int, int] | None:
    match = _PAGE_OF.search(text)
    if not match:
        return None
    number, total = int(match.group(1)), int(match.group(2))
    return (number, total) if 1 <= number <= total <= 500 else None


def _continues(pages: list[ReadPage], kinds: list[PageKind], group: list[int], index: int) -> bool:
    """Does page ``index`` continue the document made of ``group``?"""
    last = group[-1]
    kind, previous = kinds[index], kinds[last]
    group_kind = next((kinds[i].kind for i in group if kinds[i].kind != "unknown"), "unknown")
    same_file = pages[index].text.file == pages[last].text.file
    if kind.page_of and previous.page_of:
        number, total = kind.page_of
        before, before_total = previous.page_of
        if total == before_total and number == before + 1 and kind.kind in (group_kind, "unknown"):
            return True  # "Seite 2 von 3" after "Seite 1 von 3", even from the next file
        if number == 1 or total != before_total:
            return False
    if kind.page_of and kind.page_of[0] == 1:
        return False
    if kind.kind == "unknown" or kind.kind != group_kind or group_kind == "unknown":
        return False
    if group_kind in CARD_KINDS:
        has_mrz = [kinds[i].mrz is not None for i in group] + [kind.mrz is not None]
        return len(group) == 1 and not all(has_mrz)  # front and back, once
    if not same_file or group_kind in ("passport", "photo", "form"):
        return False
    if group_kind in ("payslip", "pension_notice", "bank_statement"):
        return _period_text(pages[index]) in (None, _period_text(pages[last]))
    return True


def _period_text(page: ReadPage) -> str | None:
    match = re.search(r"(?:abrechnung|kontoauszug)\w*\s+(?:f[üu]r\s+)?(\w+\.?\s+\d{4}|\d{1,2}\s?/\s?\d{4})",
                      page.text.text, re.IGNORECASE)
    return match.group(1).lower() if match else None
