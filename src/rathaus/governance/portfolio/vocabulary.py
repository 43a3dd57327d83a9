"""The portfolio's fixed vocabulary: criteria, EU AI Act risk classes, urgencies, statuses and the allowed status
transitions."""

from __future__ import annotations

from typing import Literal

#: the criteria assessed 1–5 (5 = best for prioritising: most benefit, most feasible, least risk, best for the
#: climate, data most available); "risk" is derived from the risk class, the others are judged by the assessor
CRITERIA: tuple[str, ...] = ("benefit", "feasibility", "risk", "climate", "data_availability")
JUDGED_CRITERIA: tuple[str, ...] = ("benefit", "feasibility", "climate", "data_availability")

RiskClass = Literal["minimal", "limited", "high", "prohibited"]
#: points of the criterion "risk" per risk class; prohibited practices (Art. 5) are never prioritised (no score)
RISK_POINTS: dict[str, int | None] = {"minimal": 5, "limited": 4, "high": 2, "prohibited": None}

Urgency = Literal["low", "medium", "high"]
Status = Literal["idea", "assessed", "pilot", "production", "retired"]
STATUSES: tuple[str, ...] = ("idea", "assessed", "pilot", "production", "retired")

#: allowed status changes; idea → assessed happens with the first assessment
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "idea": ("assessed", "retired"),
    "assessed": ("pilot", "retired"),
    "pilot": ("production", "retired"),
    "production": ("retired",),
    "retired": (),
}

LABELS_DE: dict[str, str] = {
    "benefit": "Nutzen", "feasibility": "Machbarkeit", "risk": "Risiko (Risikoklasse)", "climate": "Klimawirkung",
    "data_availability": "Datenverfügbarkeit",
    "minimal": "minimal", "limited": "begrenzt", "high": "hoch", "prohibited": "verboten",
    "low": "niedrig", "medium": "mittel",
    "idea": "Idee", "assessed": "bewertet", "pilot": "Pilot", "production": "Produktiv", "retired": "eingestellt",
}
