"""EU AI Act Annex VIII registration data for the high-risk systems (Art. 49).

Section A (provider, Art. 49(1)): the city builds and runs its rathaus systems itself, so it is the provider.
Section C (deployer that is a public authority, Art. 49(3)): the same city as deployer. Section B (Art. 6(3)
derogation) is not produced: rathaus does not claim the derogation for a system it screened as high risk.
A high-risk system with missing fields is listed as incomplete, not exported.
"""

from __future__ import annotations

from typing import Any

from rathaus.governance.register.cards import Card

STATUS_EN = {"in-development": "not yet placed on the market or put into service", "in-use": "in service",
             "retired": "no longer in service"}


def section_a(card: Card, organisation: str, address: str) -> dict[str, Any]:
    e = card.entry
    assert e is not None, "only complete cards are exported"
    models = "; ".join(f"{m.name} {m.version or ''}".strip() for m in card.facts.models)
    return {
        "1_provider_name_address_contact": {"name": organisation, "address": address, "contact": e.contact},
        "2_submitted_on_behalf_by": None,
        "3_authorised_representative": None,
        "4_trade_name_and_reference": {"name": card.facts.title_en, "reference": card.id, "models": models},
        "5_intended_purpose": e.purpose.en or e.purpose.de,
        "6_information_used_and_operating_logic": {
            "data_classes": list(card.facts.data_classes), "description": card.facts.description,
            "human_oversight": e.human_oversight.en or e.human_oversight.de},
        "7_status": STATUS_EN[e.status],
        "8_notified_body_certificate": None,  # Annex III systems of public authorities: internal control (Annex VI)
        "9_certificate_copy": None,
        "10_member_states": ["DE"],
        "11_eu_declaration_of_conformity": None,
        "12_instructions_for_use_url": e.instructions_url,
        "13_more_information_url": e.contact if e.contact.startswith("https://") else None,
    }


def section_c(card: Card, organisation: str, address: str) -> dict[str, Any]:
    e = card.entry
    assert e is not None, "only complete cards are exported"
    return {
        "1_deployer_name_address_contact": {"name": organisation, "address": address, "contact": e.contact},
        "2_submitted_on_behalf_by": None,
        "3_provider_eu_database_url": e.eu_database_url or None,
        "4_fundamental_rights_impact_assessment_summary": e.fria_summary,
        "5_data_protection_impact_assessment_summary": e.dpia_summary or None,
    }


def export(cards: list[Card], organisation: str, address: str) -> dict[str, Any]:
    """Annex VIII data of every high-risk card (public or not: registration is not a publication choice)."""
    entries, incomplete = [], []
    for card in cards:
        if not card.facts.high_risk:
            continue
        if not card.complete:
            incomplete.append({"id": card.id, "missing": card.missing})
            continue
        entries.append({"id": card.id, "annex_iii_area": card.facts.annex_iii,
                        "annex_iii_confirmed_by": card.facts.confirmed_by,
                        "section_a": section_a(card, organisation, address),
                        "section_c": section_c(card, organisation, address)})
    return {"regulation": "Regulation (EU) 2024/1689, Annex VIII", "entries": entries, "incomplete": incomplete}
