"""Citizen assistants defined in YAML files (one per assistant): persona, collections, languages,
greeting, disclaimer, contacts and safeguard settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rathaus.core.classification import DataClass
from rathaus.core.errors import ConfigError, NotFound
from rathaus.safety.policy import SafetyPolicy

ASSISTANTS_DIR = Path(__file__).resolve().parent.parent / "config" / "assistants"
Texts = dict[str, str]


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Texts
    phone: str | None = None
    office: Texts | None = None
    url: str | None = None

    def render(self, lang: str) -> str:
        parts = [_pick(self.label, lang)]
        if self.phone:
            parts.append(f"☎ {self.phone}")
        if self.office:
            parts.append(_pick(self.office, lang))
        if self.url:
            parts.append(self.url)
        return " – ".join(parts)


class Assistant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    title: Texts
    persona: str = Field(min_length=10)
    collections: list[str] = Field(min_length=1)
    department: str = Field(min_length=1, description="Owner; its budget pays and its reports show the usage.")
    languages: list[str] = Field(default_factory=lambda: ["de", "en"])
    greeting: Texts = Field(default_factory=dict)
    disclaimer: Texts = Field(default_factory=dict)
    contacts: list[Contact] = Field(default_factory=list)
    abstain_text: Texts | None = Field(default=None, description="Replaces the standard 'no reliable information'")
    annex_iii: str | None = Field(default=None, description="EU AI Act Annex III area, if high risk")
    answer_style: Literal["short", "steps"] = "short"
    public: bool = True
    applications: list[str] = Field(
        default_factory=list,
        description="Application types (rathaus.checks, config/checks/*.yaml) the widget offers as a guided "
                    "application: a link to /antrag/<type> when RATHAUS_CHECKS_PUBLIC_DIALOGUE is on")
    model: str = "auto"
    data_class: DataClass = DataClass.PERSONENBEZOGEN
    max_sources: int = Field(default=3, ge=1, le=8)
    max_answer_tokens: int = Field(default=120, ge=16, le=1024)
    rephrase: bool = Field(default=False, description="Let the model answer in its own words (strong models only)")
    min_similarity: float | None = Field(
        default=None, ge=-1, le=1,
        description="Abstain when the best of the top 3 passages is less similar to the question (cosine); "
                    "default: the platform's (rathaus.assistants.answer.MIN_PASSAGE_SIMILARITY). "
                    "`rathaus eval thresholds` picks it from labelled questions.")
    min_evidence_similarity: float | None = Field(
        default=None, ge=-1, le=1,
        description="Abstain when the best sentence is less similar to the question (cosine); default: the "
                    "platform's (MIN_EVIDENCE_SIMILARITY). `rathaus eval thresholds` picks it from labelled questions.")
    rescore: bool = Field(
        default=True,
        description="Rank passages by exact cosine and BM25 of their text (best on long passages); false: by "
                    "the hybrid search's fused ranks, which also match document titles (best on FAQ entries "
                    "whose title is the question, bench/answers_faq.py)")
    safeguards: SafetyPolicy = Field(default_factory=SafetyPolicy)
    rate_limit_per_minute: int | None = Field(
        default=None, ge=1, le=10_000,
        description="Public questions per client and minute (default: RATHAUS_WIDGET_CLIENT_LIMIT_PER_MINUTE)")
    total_rate_limit_per_minute: int | None = Field(
        default=None, ge=1, le=100_000,
        description="Public questions per minute from all clients (default: RATHAUS_WIDGET_ASSISTANT_LIMIT_PER_MINUTE)")

    @model_validator(mode="after")
    def _german_first(self) -> Assistant:
        if "de" not in self.title:
            raise ValueError("title needs a German text ('de')")
        if "de" not in self.languages:
            raise ValueError("languages must include 'de'")
        return self

    def text(self, field: Texts, lang: str) -> str:
        return _pick(field, lang)

    @property
    def high_risk(self) -> bool:
        return self.annex_iii is not None


def _pick(texts: Texts, lang: str) -> str:
    return texts.get(lang) or texts.get("en") or texts.get("de") or next(iter(texts.values()), "")


def load_assistants(directory: Path = ASSISTANTS_DIR) -> dict[str, Assistant]:
    """All assistants of a folder; ConfigError names each broken file and field in one line."""
    found: dict[str, Assistant] = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            assistant = Assistant.model_validate(raw)
        except yaml.YAMLError as exc:
            problems.append(f"{path.name}: not valid YAML: {getattr(exc, 'problem', exc)}")
            continue
        except ValidationError as exc:
            problems.extend(f"{path.name}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            continue
        if not assistant.contacts:
            problems.append(f"{path.name}: contacts: a citizen assistant needs at least one contact")
            continue
        if assistant.name in found:
            problems.append(f"{path.name}: assistant name {assistant.name!r} is used twice")
            continue
        found[assistant.name] = assistant
    if problems:
        raise ConfigError("\n".join(problems), extra={"problems": problems})
    return found


def get_assistant(assistants: dict[str, Assistant], name: str) -> Assistant:
    try:
        return assistants[name]
    except KeyError:
        raise NotFound(f"no assistant named {name!r}; available: {', '.join(sorted(assistants))}") from None
