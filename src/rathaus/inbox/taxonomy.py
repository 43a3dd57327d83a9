"""A city's routing taxonomy, kept in YAML: departments, the categories each one handles, urgency levels and the
languages answered.

The taxonomy is configuration, not a model: routing learns from past requests *which* category a message
belongs to; the taxonomy says which department handles that category, how sure the model must be before a
message is routed without a human (``confidence_threshold``), which categories may ever be answered
automatically (``auto_answer``) and which departments decide in an EU AI Act Annex III area (``annex_iii``:
never answered automatically, whatever the category says – the file is refused if it tries).

``load_taxonomy(None)`` reads the shipped, deliberately generic example ``rathaus/config/inbox/taxonomy.yaml``;
a broken file is one ``ConfigError`` that names the file, the line (YAML syntax) or the entry and field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rathaus.core.errors import ConfigError
from rathaus.core.yaml_text import load_yaml

DEFAULT_TAXONOMY = Path(__file__).resolve().parent.parent / "config" / "inbox" / "taxonomy.yaml"

KEY_PATTERN = r"^[\w][\w.-]*$"  # letters (any script), digits, "_", ".", "-"; no spaces


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Department(_Strict):
    """A unit that receives routed messages."""

    key: str = Field(pattern=KEY_PATTERN, max_length=64)
    name_de: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    mailbox: str | None = None  # the department's own address (IMAP intake, reply sender), optional
    knowledge_collections: list[str] = Field(default_factory=list)  # grounding of reply drafts
    # Route without a human from this confidence on; None: the threshold the model calibrated for 95 % precision.
    confidence_threshold: float | None = Field(default=None, gt=0.0, le=1.0)
    annex_iii: bool = False  # decides on access to public benefits etc. (EU AI Act Annex III): never auto-answered
    zammad_group: str | None = None  # the Zammad group of this department (write-back); None: its German name

    @field_validator("mailbox")
    @classmethod
    def _mailbox(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError(f"not an e-mail address: {value!r}")
        return value


class Category(_Strict):
    """What a message is about; exactly one department handles it."""

    key: str = Field(pattern=KEY_PATTERN, max_length=120)
    label_de: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    department: str
    auto_answer: bool = False  # the department allows confident messages of this category to be answered alone


class UrgencyLevel(_Strict):
    """An urgency level; the first one listed is the default. ``keywords`` (lower case substrings) raise a
    message to this level whatever the model says, e.g. "frist" or "räumung"."""

    key: str = Field(pattern=KEY_PATTERN, max_length=32)
    label_de: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    keywords: list[str] = Field(default_factory=list)
    zammad_priority: str | None = None  # the Zammad priority name written back, e.g. "3 high"; None: unchanged

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        cleaned = [k.strip().casefold() for k in value]
        if any(not k for k in cleaned):
            raise ValueError("empty keyword")
        return cleaned


class Taxonomy(_Strict):
    """Departments, categories, urgency levels (lowest first) and the languages the city answers in."""

    departments: list[Department] = Field(min_length=1)
    categories: list[Category] = Field(min_length=1)
    urgency: list[UrgencyLevel] = Field(min_length=1)
    languages: list[str] = Field(default_factory=lambda: ["de"], min_length=1)

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.fullmatch(r"[a-z]{2}", v)]
        if bad:
            raise ValueError(f"not ISO 639-1 codes (two lower-case letters): {', '.join(map(repr, bad))}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Taxonomy:
        for what, keys in (("department", [d.key for d in self.departments]),
                           ("category", [c.key for c in self.categories]),
                           ("urgency level", [u.key for u in self.urgency])):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            if dupes:
                raise ValueError(f"{what} keys must be unique; repeated: {', '.join(dupes)}")
        departments = {d.key: d for d in self.departments}
        for c in self.categories:
            if c.department not in departments:
                raise ValueError(f"category {c.key!r}: unknown department {c.department!r} "
                                 f"(known: {', '.join(departments)})")
            if c.auto_answer and departments[c.department].annex_iii:
                raise ValueError(f"category {c.key!r}: auto_answer is not allowed in department {c.department!r}, "
                                 "which is marked annex_iii (EU AI Act high-risk area)")
        return self

    # --- look-ups --------------------------------------------------------------------------------------------
    def department(self, key: str) -> Department:
        for d in self.departments:
            if d.key == key:
                return d
        raise KeyError(key)

    def category(self, key: str) -> Category:
        for c in self.categories:
            if c.key == key:
                return c
        raise KeyError(key)

    def department_of(self, category: str) -> str:
        """The key of the department that handles ``category``."""
        return self.category(category).department

    @property
    def category_keys(self) -> list[str]:
        return [c.key for c in self.categories]

    @property
    def default_urgency(self) -> str:
        return self.urgency[0].key

    def urgency_rank(self, key: str) -> int:
        return [u.key for u in self.urgency].index(key)

    def urgency_from_keywords(self, text: str) -> str | None:
        """The highest urgency level whose keyword occurs in ``text`` (case-insensitive), or None."""
        folded = text.casefold()
        for level in reversed(self.urgency):
            if any(k in folded for k in level.keywords):
                return level.key
        return None

    def may_auto_answer(self, category: str) -> bool:
        """True only for a category marked ``auto_answer`` in a department outside Annex III."""
        c = self.category(category)
        return c.auto_answer and not self.department(c.department).annex_iii

    @classmethod
    def from_labels(cls, categories: Iterable[str], department_of: dict[str, str] | None = None,
                    urgency: Iterable[str] = ("normal",)) -> Taxonomy:
        """A taxonomy for labelled data without a YAML file (benchmarks, ``inbox eval``): every category its own
        department unless ``department_of`` maps it."""
        cats = sorted(set(categories))
        mapping = department_of or {c: c for c in cats}
        deps = sorted({mapping[c] for c in cats})
        return cls(departments=[Department(key=d, name_de=d, name_en=d) for d in deps],
                   categories=[Category(key=c, label_de=c, label_en=c, department=mapping[c]) for c in cats],
                   urgency=[UrgencyLevel(key=u, label_de=u, label_en=u) for u in urgency])


def _where(loc: tuple[Any, ...], raw: Any) -> str:
    """``categories[3] ('wohngeld').department`` for a pydantic error location."""
    parts: list[str] = []
    node = raw
    for p in loc:
        if isinstance(p, int):
            key = node[p].get("key") if isinstance(node, list) and p < len(node) and isinstance(node[p], dict) \
                else None
            parts[-1] = f"{parts[-1]}[{p}]" + (f" ({key!r})" if key else "") if parts else f"[{p}]"
            node = node[p] if isinstance(node, list) and p < len(node) else None
        else:
            parts.append(str(p))
            node = node.get(p) if isinstance(node, dict) else None
    return ".".join(parts)


def parse_taxonomy(text: str, source: str = "taxonomy.yaml") -> Taxonomy:
    """Validate YAML text; a ``ConfigError`` lists every problem as ``source: where: what`` (one per line)."""
    raw = load_yaml(text, source, ConfigError)
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with departments, categories, urgency, languages")
    try:
        return Taxonomy.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = _where(tuple(err["loc"]), raw)
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: {where}: {msg}" if where else f"{source}: {msg}")
        raise ConfigError("\n".join(lines), extra={"problems": lines}) from None


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """The taxonomy in ``path`` (None: the shipped example); ConfigError when missing, unreadable or invalid."""
    path = path or DEFAULT_TAXONOMY
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"taxonomy file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"taxonomy file unreadable: {path}: {exc}") from None
    return parse_taxonomy(text, path.name)
