"""The data that flows through a check: what was read from a packet, and the checklist that comes out.

Reading (rathaus.checks.intake, .ocr, .documents) produces a :class:`Packet`; the rules
(rathaus.checks.engine) turn a packet and an application type (rathaus.checks.definitions) into a
:class:`CheckResult`. Everything here is plain data (JSON-serialisable with :func:`dataclasses.asdict`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Status = Literal["satisfied", "missing", "invalid", "unsure"]
STATUSES: tuple[Status, ...] = ("satisfied", "missing", "invalid", "unsure")

# Document kinds that recognition knows (issue 16, point 3); "form" is the application form itself.
DOCUMENT_KINDS = (
    "id_card", "passport", "residence_permit", "payslip", "rental_contract", "bank_statement",
    "registration_certificate", "pension_notice", "employer_declaration", "form", "unknown",
    # added for the shipped types (issue 16): resident parking permit and residence permit for employment
    "vehicle_registration", "photo", "employment_contract", "qualification_certificate",
    "health_insurance_certificate",
)


@dataclass(frozen=True)
class Evidence:
    """Where a value or a finding comes from: file name, 1-based page, the text snippet, and the box on the page
    image in pixels (x0, y0, x1, y1) where known – for the case worker's image crop."""

    file: str
    page: int | None = None
    snippet: str = ""
    bbox: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class Value:
    """One extracted value (a form field or a field read from a document) with its confidence (0..1)."""

    value: str
    confidence: float
    evidence: Evidence


@dataclass
class PageText:
    """The text of one page: read directly from a born-digital PDF (source "text", confidence 1.0) or by OCR
    (source "ocr", mean word confidence 0..1), after turning it upright (rotation in degrees) and deskewing."""

    file: str
    number: int
    text: str
    confidence: float
    source: Literal["text", "ocr", "form"] = "text"
    rotation: int = 0
    skew: float = 0.0
    words: list[tuple[str, tuple[int, int, int, int], float]] = field(default_factory=list)  # word, box, conf


@dataclass
class Document:
    """One recognised document of a packet: which kind it is (DOCUMENT_KINDS) with confidence, its pages and the
    fields read from it (keys per kind, e.g. surname, given_names, birth_date, address, document_number,
    expiry_date, issue_date, mrz, mrz_valid, iban, net_income, period, employer, rent, signature)."""

    file: str
    kind: str
    confidence: float
    pages: list[PageText]
    fields: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class FileProblem:
    """A file (or one page of it) that could not be read; the rest of the packet is still checked."""

    file: str
    message: str
    page: int | None = None


@dataclass
class Packet:
    """An application packet as read: the form's fields, the documents, and what could not be read."""

    submitted_on: date
    form: dict[str, Value] = field(default_factory=dict)
    documents: list[Document] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    type_id: str | None = None  # as declared by the form, if it says
    language: str = "de"


@dataclass
class ChecklistItem:
    """One requirement of the type (a field, a document, a rule) and how the packet meets it."""

    requirement: str  # id from the type definition, e.g. "field:iban", "document:einkommen", "rule:name_matches"
    label: str
    status: Status
    message: str  # for the case worker, German
    evidence: list[Evidence] = field(default_factory=list)
    hint: str = ""  # what the applicant should do (German), used in the letter


@dataclass
class CheckResult:
    """The checklist for one packet. ``complete`` is a suggestion for the case worker, never a decision."""

    type_id: str
    annex_iii: bool
    items: list[ChecklistItem]
    problems: list[FileProblem] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(item.status == "satisfied" for item in self.items) and not self.problems

    def counts(self) -> dict[str, int]:
        return {status: sum(1 for item in self.items if item.status == status) for status in STATUSES}
