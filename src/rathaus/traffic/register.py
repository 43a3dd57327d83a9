"""Traffic counts' part of the AI system register – see rathaus.core.system_facts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from rathaus.core.system_facts import SystemFacts


def system_facts(runtime: Any, session: Session) -> list[SystemFacts]:
    return [SystemFacts(
        id="traffic", kind="traffic", capability="traffic",
        title_de="Verkehrszählungen: Plausibilitätsprüfung und Lückenschätzung",
        title_en="Traffic counts: plausibility checks and gap estimates",
        description="Counts of bicycle and vehicle detectors are checked for implausible values; gaps are "
                    "estimated statistically and marked as estimates.",
        data_classes=("oeffentlich",), safeguards=("estimates are marked", "original values are kept"),
        evaluations=("bench:traffic_checks", "bench:traffic_gaps"),
    )]
