"""Export in the Dutch algorithm register's publication standard 1.0.0 (Algoritmeregister, Ministerie BZK).

The field mapping is documented in docs/governance-register.md; the vendored JSON Schema
(algoritmeregister-1.0.0.schema.json, written from MinBZK/Algoritmeregister's field configuration) validates
each record. Only complete public cards are exported; the others are listed with their missing fields.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]

from rathaus.governance.register.cards import Card

SCHEMA_PATH = Path(__file__).with_name("algoritmeregister-1.0.0.schema.json")
STANDARD_VERSION = "1.0.0"
STATUS = {"in-development": "In ontwikkeling", "in-use": "In gebruik", "retired": "Buiten gebruik"}
DATA_CLASS_DE = {"oeffentlich": "öffentlich", "intern": "intern", "vertraulich": "vertraulich",
                 "personenbezogen": "personenbezogene Daten"}


@cache
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _join(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


def publication_category(card: Card) -> str:
    if card.facts.high_risk:
        return "Hoog-risico AI-systeem"
    return "Impactvolle algoritmes" if card.entry and card.entry.impactful else "Overige algoritmes"


def methods_and_models(card: Card) -> str:
    lines = [f"{m.name} ({m.kind}; Version {m.version or '–'}; SHA-256 {m.sha256 or '–'}; "
             f"{m.hosting or '–'}, {m.location or '–'})" for m in card.facts.models]
    return _join(card.facts.description, "Modelle / models: " + "; ".join(lines) if lines else "")


def record(card: Card, organisation: str) -> dict[str, Any]:
    """One algorithm in the standard's fields (call only for a complete card)."""
    e = card.entry
    assert e is not None, "only complete cards are exported"
    rec: dict[str, Any] = {
        "name": _cut(card.facts.title_de, 100),
        "description_short": _cut(e.purpose.de, 350),
        "organization": _cut(organisation, 100),
        "status": STATUS[e.status],
        "contact_email": e.contact,
        "publication_category": publication_category(card),
        "goal": _cut(_join(e.purpose.de, "Betroffene: " + e.affected_people.de), 2500),
        "human_intervention": _cut(e.human_oversight.de, 2500),
        "risks": _cut(_join(e.known_limits.de, "Schutzmaßnahmen: " + "; ".join(card.facts.safeguards)
                            if card.facts.safeguards else ""), 2500),
        "lawful_basis": _cut(e.legal_basis, 2500),
        "source_data": _cut("Datenklassen: " + ", ".join(DATA_CLASS_DE.get(d, d) for d in card.facts.data_classes),
                            2500),
        "methods_and_models": _cut(methods_and_models(card), 5000),
        "provider": _cut(e.provider or "Intern entwickelt (rathaus, quelloffen)", 200),
        "lang": "deu",
        "standard_version": STANDARD_VERSION,
        "source_id": card.id,
        "tags": ", ".join([card.facts.kind, card.facts.capability, *(m.name for m in card.facts.models)]),
    }
    optional = {"begin_date": e.begin_date, "category": e.categories or None,
                "proportionality": _cut(e.proportionality, 2500) if e.proportionality else None,
                "impacttoetsen": _cut(_join(e.fria_summary, e.dpia_summary), 2500) or None}
    rec.update({k: v for k, v in optional.items() if v})
    return rec


def validate(rec: dict[str, Any]) -> list[str]:
    """The schema's complaints about one record (empty: valid)."""
    validator = jsonschema.Draft202012Validator(schema())
    return [f"{'.'.join(str(p) for p in err.absolute_path) or 'record'}: {err.message}"
            for err in sorted(validator.iter_errors(rec), key=lambda x: list(x.absolute_path))]


def export(cards: list[Card], organisation: str) -> dict[str, Any]:
    """``algorithms``: records of complete public cards, each valid; ``incomplete``: the others with the fields
    they lack (also a card whose record the schema refuses, with the schema's reasons)."""
    algorithms, incomplete = [], []
    for card in cards:
        if not card.public:
            continue
        if not card.complete:
            incomplete.append({"id": card.id, "missing": card.missing})
            continue
        rec = record(card, organisation)
        problems = validate(rec)
        if problems:
            incomplete.append({"id": card.id, "missing": problems})
        else:
            algorithms.append(rec)
    return {"standard": "Algoritmeregister publicatiestandaard", "standard_version": STANDARD_VERSION,
            "organization": organisation, "algorithms": algorithms, "incomplete": incomplete}
