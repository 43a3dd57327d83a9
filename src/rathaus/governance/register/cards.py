"""System cards: the platform's facts, what people entered and governance's figures in one record per system."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from rathaus.core.capability import system_facts as collect
from rathaus.core.errors import NotFound
from rathaus.core.system_facts import SystemFacts
from rathaus.governance.register import figures, store
from rathaus.governance.register.completeness import missing_fields
from rathaus.governance.register.entry import RegisterEntry
from rathaus.governance.settings import GovernanceSettings


@dataclass
class Card:
    facts: SystemFacts
    entry: RegisterEntry | None
    missing: list[str]
    meta: dict[str, Any] | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    bias: dict[str, Any] | None = None
    bench: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.facts.id

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def public(self) -> bool:
        return self.entry is not None and self.entry.public and self.facts.public

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "complete": self.complete, "missing": self.missing, "public": self.public,
                "facts": self.facts.as_dict(), "entry": self.entry.fields() if self.entry else None,
                "entry_version": self.meta, "usage": self.usage, "bias": self.bias, "benchmarks": self.bench}


def known_ids(runtime: Any, session: Session) -> list[str]:
    return [f.id for f in collect(runtime, session)]


def build_cards(runtime: Any, session: Session, *, figures_too: bool = True, only_public: bool = False,
                ids: set[str] | None = None) -> list[Card]:
    """Every system's card (``only_public``: those whose entry says public and whose kind may be public)."""
    settings = runtime.settings.section(GovernanceSettings)
    entered = store.entries(session)
    cards = []
    for facts in collect(runtime, session):
        if ids is not None and facts.id not in ids:
            continue
        entry = entered.get(facts.id)
        card = Card(facts=facts, entry=entry,
                    missing=missing_fields(facts, entry, settings.governance_organisation_address))
        if only_public and not card.public:
            continue
        card.meta = store.entry_meta(session, facts.id) if entry else None
        if figures_too:
            card.usage = figures.usage_periods(session, facts)
            card.bias = figures.bias_runs(session, facts)
            card.bench = figures.bench_figures(settings.bench_results_dir(), facts)
        cards.append(card)
    return cards


def get_card(runtime: Any, session: Session, system_id: str) -> Card:
    for card in build_cards(runtime, session, ids={system_id}):
        return card
    raise NotFound(f"no AI system {system_id!r}; 'rathaus register list' shows the known ids")
