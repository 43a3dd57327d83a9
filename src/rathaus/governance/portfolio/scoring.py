"""The documented score formula (docs/governance-portfolio.md):

    score = 100 × Σ_c w_c × (p_c − 1) / 4  /  Σ_c w_c

over the criteria c with points p_c ∈ 1…5 and weights w_c ≥ 0 (Σ w_c > 0), rounded to one decimal: 0 when every
criterion has 1 point, 100 when every criterion has 5. The criterion "risk" takes its points from the EU AI Act
risk class (minimal 5, limited 4, high 2); an idea of a prohibited class gets no score and is never prioritised.
"""

from __future__ import annotations

from collections.abc import Mapping

from rathaus.governance.portfolio.vocabulary import CRITERIA, RISK_POINTS


def points_of(judged: Mapping[str, int], risk_class: str) -> dict[str, int] | None:
    """All criteria's points (the judged ones plus risk from the class); None for a prohibited class."""
    risk = RISK_POINTS[risk_class]
    if risk is None:
        return None
    return {**{c: int(judged[c]) for c in CRITERIA if c != "risk"}, "risk": risk}


def score(points: Mapping[str, int], weights: Mapping[str, float]) -> float:
    """The weighted score 0–100 of ``points`` (every criterion 1–5) under ``weights``."""
    total = sum(float(weights[c]) for c in CRITERIA)
    if total <= 0:
        raise ValueError("the weights must not all be zero")
    for c in CRITERIA:
        if not 1 <= points[c] <= 5:
            raise ValueError(f"{c}: points must be 1–5, not {points[c]}")
    value = sum(float(weights[c]) * (points[c] - 1) / 4 for c in CRITERIA) / total * 100
    return round(value, 1)
