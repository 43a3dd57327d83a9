"""What people enter about an AI system (YAML file or web form): purpose, owner, oversight, limits, contact.

Every field may be left out while an entry is being written; :mod:`rathaus.governance.register.completeness`
says which fields a published card still needs. Malformed input fails with one readable line per problem.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rathaus.core.errors import BadRequest, RathausError
from rathaus.core.yaml_text import load_yaml


class InvalidEntry(RathausError):
    """Fields of an entry that do not fit (HTTP 422)."""

    status, code, title = 422, "invalid-register-entry", "Invalid register entry"


Status = Literal["in-development", "in-use", "retired"]
#: the themes of the Dutch algorithm register (field ``category``), its permitted values
Category = Literal["Organisatie en bedrijfsvoering", "Cultuur en recreatie", "Economie", "Overheidsfinanciën", "Wonen",
                   "Internationaal", "Migratie en integratie", "Natuur en milieu", "Onderwijs en wetenschap",
                   "Openbare orde en veiligheid", "Recht", "Ruimte en infrastructuur", "Sociale zekerheid", "Verkeer",
                   "Werk", "Zorg en gezondheid"]
TEXT = 2500  # the Dutch register's limit of a text field


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class Texts(BaseModel):
    """A text in German (first) and English."""

    model_config = ConfigDict(extra="forbid")
    de: str = Field(default="", max_length=TEXT)
    en: str = Field(default="", max_length=TEXT)


class RegisterEntry(BaseModel):
    """The people's part of a system card; ``id`` names a system the platform knows (``rathaus register list``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9:._-]*$")
    public: bool = False
    status: Status = "in-use"
    purpose: Texts = Field(default_factory=Texts, description="Zweck / purpose, in plain language")
    owner_department: str = Field(default="", max_length=200)
    responsible_role: str = Field(default="", max_length=200, description="e.g. 'Leitung Bürgerbüro'")
    affected_people: Texts = Field(default_factory=Texts)
    human_oversight: Texts = Field(default_factory=Texts)
    known_limits: Texts = Field(default_factory=Texts)
    legal_basis: str = Field(default="", max_length=TEXT)
    contact: str = Field(default="", max_length=500, description="e-mail address or https URL")
    staff_council_approval: dt.date | None = Field(default=None, description="Zustimmung Personalrat / GPR")
    begin_date: str | None = Field(default=None, pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    impactful: bool = Field(default=False, description="affects citizens' rights or decisions about them")
    categories: list[Category] = Field(default_factory=list, max_length=3, description="Dutch register themes")
    provider: str = Field(default="", max_length=200, description="external supplier; empty: built in-house")
    proportionality: str = Field(default="", max_length=TEXT)
    fria_summary: str = Field(default="", max_length=TEXT, description="fundamental-rights impact assessment")
    dpia_summary: str = Field(default="", max_length=TEXT, description="data-protection impact assessment")
    instructions_url: str = Field(default="", max_length=500)
    eu_database_url: str = Field(default="", max_length=500)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text must not contain NUL characters")
        return data

    @field_validator("contact")
    @classmethod
    def _contact(cls, value: str) -> str:
        if value and "@" not in value and not value.startswith("https://"):
            raise ValueError("an e-mail address or an https:// URL")
        return value

    def fields(self) -> dict[str, Any]:
        """The entered values as JSON (dates as ISO strings), without the id."""
        return self.model_dump(mode="json", exclude={"id"})


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors())


def parse_entry(data: Any, source: str = "entry") -> RegisterEntry:
    """A validated entry; InvalidEntry (422) naming every bad field in one line."""
    if not isinstance(data, dict):
        raise BadRequest(f"{source}: expected a mapping of fields, got {type(data).__name__}")
    try:
        return RegisterEntry.model_validate(data)
    except ValidationError as exc:
        raise InvalidEntry(f"{source}: {_problems(exc)}") from None


def parse_yaml(text: str, source: str = "entry") -> list[RegisterEntry]:
    """One entry, a list of entries, or ``{entries: [...]}``; BadRequest for YAML that does not parse."""
    data = load_yaml(text, source)
    if isinstance(data, dict) and "entries" in data and set(data) == {"entries"}:
        data = data["entries"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise BadRequest(f"{source}: no entries")
    return [parse_entry(item, f"{source}[{n}]" if len(items) > 1 else source) for n, item in enumerate(items)]
