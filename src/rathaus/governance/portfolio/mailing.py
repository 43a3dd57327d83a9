"""The written assessment as text (for the submitter's list and the e-mail), and sending it through the
platform's outgoing mail (rathaus.inbox's public API) – only when an assessor asks for it."""

from __future__ import annotations

from typing import Any

from rathaus.core.errors import Conflict
from rathaus.governance.portfolio.vocabulary import CRITERIA, LABELS_DE

EN = {"benefit": "benefit", "feasibility": "feasibility", "risk": "risk (risk class)", "climate": "climate impact",
      "data_availability": "data availability"}


def assessment_text(idea: dict[str, Any]) -> str:
    """The assessment of ``idea`` (a detail dict of service.get_idea) as plain text, German then English."""
    a = idea.get("assessment")
    if not a:
        raise Conflict(f"idea {idea['id']} has no assessment yet")
    lines = [f"Bewertung Ihres KI-Anwendungsfalls / assessment of your AI use case #{idea['id']}: {idea['title']}",
             "", a["summary"], ""]
    for c in CRITERIA:
        crit = a["criteria"][c]
        shown = f"{LABELS_DE[crit['risk_class']]} / {crit['risk_class']}" if c == "risk" else f"{crit['points']}/5"
        lines.append(f"- {LABELS_DE[c]} / {EN[c]}: {shown} – {crit['justification']}")
    lines.append("")
    if idea["score"] is None:
        lines.append("Punktzahl / score: keine – verbotene Praxis nach EU-KI-Verordnung, wird nicht priorisiert / "
                     "none – prohibited practice under the EU AI Act, never prioritised")
    else:
        weights = ", ".join(f"{c} {idea['weights'][c]:g}" for c in CRITERIA)
        lines.append(f"Punktzahl / score: {idea['score']:.1f} von/of 100 (Gewichte / weights: {weights}; "
                     "Formel / formula: 100 × Σ w·(Punkte−1)/4 / Σ w)")
    lines += ["", f"Bewertet von / assessed by: {a['assessed_by']}, {a['assessed_at'][:10]}",
              f"Status: {LABELS_DE[idea['status']]} / {idea['status']}"]
    return "\n".join(lines)


def subject_line(idea: dict[str, Any]) -> str:
    return f"Bewertung KI-Anwendungsfall / AI use-case assessment #{idea['id']}: {idea['title']}"[:200]
