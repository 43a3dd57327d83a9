"""Application types declared in YAML (config/checks/*.yaml): form fields with formats, required documents with
alternatives, validity and cross-document rules, help texts and the sources they follow.

A city adds or edits a type by editing a YAML file (RATHAUS_CHECKS_TYPES_DIR adds a directory of its own);
:func:`load_types` validates every file and names the file and field when one is wrong.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rathaus.checks.model import DOCUMENT_KINDS

FieldType = Literal["text", "name", "date", "iban", "integer", "amount", "choice", "bool", "postcode", "email",
                    "phone", "address", "document_number"]


class Text(BaseModel):
    """A text in German (first) and English; other languages are phrased by the model from the German."""

    model_config = ConfigDict(extra="forbid")
    de: str
    en: str = ""

    def get(self, lang: str) -> str:
        return self.en if lang == "en" and self.en else self.de


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    url: str
    note: str = ""


class FormField(BaseModel):
    """A field of the form. ``when`` makes it conditional: "<field> == <value>" or "<field> != <value>" or
    "<field>" (truthy)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: Text
    type: FieldType = "text"
    required: bool = True
    section: str = ""
    help: Text | None = None
    pattern: str | None = None  # an extra regular expression the value must match
    choices: list[str] = []
    min: float | None = None  # for integer/amount; for date: years before submission (e.g. age) are rules
    max: float | None = None
    when: str | None = None
    pdf_field: str | None = None  # the AcroForm field name in the form PDF (defaults to id)
    personal: bool = True  # personal data (data class personenbezogen)


class DocumentOption(BaseModel):
    """One way to meet a document requirement: ``count`` documents of ``kind``, none older than ``max_age_days``
    (by its issue date or period) at submission, and not expired if it expires."""

    model_config = ConfigDict(extra="forbid")
    kind: str
    count: int = 1
    max_age_days: int | None = None
    must_be_valid: bool = False  # has an expiry date that must lie after the submission date
    label: Text | None = None

    @model_validator(mode="after")
    def _known_kind(self) -> DocumentOption:
        if self.kind not in DOCUMENT_KINDS:
            raise ValueError(f"unknown document kind {self.kind!r} (known: {', '.join(DOCUMENT_KINDS)})")
        return self


class DocumentRequirement(BaseModel):
    """A required document with alternatives ("payslips of the last three months or a pension notice")."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: Text
    help: Text | None = None
    any_of: list[DocumentOption] = Field(min_length=1)
    required: bool = True
    when: str | None = None


RuleKind = Literal[
    "same_person",  # name and birth date on form and documents agree (tolerant of umlauts and OCR noise)
    "same_address",  # address on form and documents agree
    "mrz_valid",  # every ID document with an MRZ has all check digits right
    "iban_valid",  # the form's IBAN (field) has a valid checksum and a known bank
    "signature_present",  # the form (or the document) is signed
    "pages_complete",  # documents that say "page n of m" have all m pages
    "amount_range",  # a field's or document field's amount lies in [min, max]
    "date_plausible",  # dates not in the future, birth dates give an age in [min, max] years
    "field_equals_document",  # a form field equals a document field (e.g. rent on form = rent in contract)
]


class Rule(BaseModel):
    """A validity, cross-field or cross-document rule. ``fields``/``documents`` name what it applies to; ``min`` and
    ``max`` parametrise ranges; ``message`` is the German text for the case worker; ``hint`` for the applicant."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: RuleKind
    label: Text
    fields: list[str] = []
    documents: list[str] = []  # document requirement ids or kinds
    document_field: str | None = None
    min: float | None = None
    max: float | None = None
    hint: Text | None = None
    when: str | None = None


class ApplicationType(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: Text
    description: Text
    department: str  # the department that processes it (access to its packets)
    annex_iii: bool = False  # EU AI Act Annex III area: the system points out, never decides
    sources: list[Source] = Field(min_length=1)
    fields: list[FormField]
    documents: list[DocumentRequirement] = []
    rules: list[Rule] = []
    form_pdf: str | None = None  # file name of the fillable form PDF next to the YAML

    @model_validator(mode="after")
    def _references(self) -> ApplicationType:
        field_ids = [f.id for f in self.fields]
        if len(set(field_ids)) != len(field_ids):
            raise ValueError("field ids must be unique")
        known_documents = {d.id for d in self.documents} | set(DOCUMENT_KINDS)
        for rule in self.rules:
            for name in rule.fields:
                if name not in field_ids:
                    raise ValueError(f"rule {rule.id}: unknown field {name!r}")
            for name in rule.documents:
                if name not in known_documents:
                    raise ValueError(f"rule {rule.id}: unknown document {name!r}")
        return self

    def field(self, field_id: str) -> FormField:
        for item in self.fields:
            if item.id == field_id:
                return item
        raise KeyError(field_id)


class TypeDefinitionError(ValueError):
    """A type file that cannot be used; the message names the file and what is wrong."""


def _parse(path_name: str, text: str) -> ApplicationType:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TypeDefinitionError(f"{path_name}: not valid YAML ({exc})") from exc
    try:
        return ApplicationType.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise TypeDefinitionError(f"{path_name}: {where}: {first['msg']}") from exc


def parse_type(path: Path) -> ApplicationType:
    return _parse(str(path), path.read_text(encoding="utf-8"))


@cache
def shipped_types() -> dict[str, ApplicationType]:
    """The application types shipped in rathaus/config/checks."""
    folder = resources.files("rathaus") / "config" / "checks"
    types: dict[str, ApplicationType] = {}
    if not folder.is_dir():
        return types
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".yaml"):
            parsed = _parse(f"config/checks/{entry.name}", entry.read_text(encoding="utf-8"))
            types[parsed.id] = parsed
    return types


def load_types(extra_dir: Path | None = None) -> dict[str, ApplicationType]:
    """Shipped types plus (overriding by id) those in ``extra_dir``."""
    types = dict(shipped_types())
    if extra_dir is not None:
        for path in sorted(extra_dir.glob("*.yaml")):
            parsed = parse_type(path)
            types[parsed.id] = parsed
    return types
