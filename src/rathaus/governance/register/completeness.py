"""Which fields a system card still needs before it may be exported: a card with gaps is listed as incomplete,
never exported with empty fields."""

from __future__ import annotations

from rathaus.core.system_facts import SystemFacts
from rathaus.governance.register.entry import RegisterEntry

#: every card: what the Dutch register requires plus what the staff council and the city ask for
REQUIRED = ("purpose.de", "owner_department", "responsible_role", "affected_people.de", "human_oversight.de",
            "known_limits.de", "legal_basis", "contact")
#: a system in use needs the staff council's approval (DigitalCharta)
REQUIRED_IN_USE = ("staff_council_approval",)
#: EU AI Act Annex VIII (sections A and C) for high-risk systems
REQUIRED_HIGH_RISK = ("fria_summary", "instructions_url", "organisation_address")


def _value(entry: RegisterEntry, path: str) -> object:
    value: object = entry
    for part in path.split("."):
        value = getattr(value, part, None)
    return value


def missing_fields(facts: SystemFacts, entry: RegisterEntry | None, organisation_address: str = "") -> list[str]:
    """The names of the mandatory fields that are empty (all of them when nobody entered anything)."""
    needed = list(REQUIRED)
    if entry is None or entry.status == "in-use":
        needed += REQUIRED_IN_USE
    if facts.high_risk:
        needed += REQUIRED_HIGH_RISK
    if entry is None:
        missing = [n for n in needed if n != "organisation_address"]
    else:
        missing = [n for n in needed if n != "organisation_address" and _value(entry, n) in (None, "", [])]
    if facts.high_risk and not organisation_address:
        missing.append("organisation_address (RATHAUS_GOVERNANCE_ORGANISATION_ADDRESS)")
    if facts.high_risk and not facts.annex_iii_confirmed:
        missing.append("annex_iii confirmation")
    return missing
